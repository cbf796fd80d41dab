"""Pruning end to end: TPE tuning an MLP on digits, without and with pruners,
for parzen and Optuna side by side in one run.

Eight hyperparameters (lr on a log scale, batch size, hidden units, layers,
activation, dropout, weight decay, optimizer), 27 epochs per full training
(rungs with reduction factor 3 at epochs 1, 3, 9), 40 trials per study, 10
seeds. Both libraries train the same model with the same code
(``models.make_objective``: the same 25 % stratified validation split,
epochs reported 1-based, a trial scored by its best validation epoch) and
the same budget; only the sampler and the pruner differ. Reported: epochs
trained, wall time, and the best validation accuracy among COMPLETE trials
(what ``study.best_value`` gives), per configuration; each raw result also
records that trial's configuration and best epoch (``best_params``,
``best_epoch``), which ``retrain_chosen.py`` cross-validates::

    python benchmarks/bench_pruning.py --seeds 10 --jobs 2

A configuration is ``library/pruner``: library ``parzen`` (the default
``TPESampler``: COMPLETE trials ranked first always), ``parzen-step``
(``TPESampler(min_trials_at_step=10)``: BOHB's ranking at a step while
fewer than 10 trials are COMPLETE) or ``optuna``.

Needs optuna beside torch and skorch: the bench environment of
``RESULTS.md`` (Reproduce) plus ``pip install torch skorch click`` (only
parzen's rows run in ``.venv`` too). Raw results go to
``benchmarks/results/pruning.json``; a rerun skips the runs it already has.
The validation curves of the unpruned studies go to
``benchmarks/results/pruning_curves.json`` (their configurations to
``pruning_params.json``), where ``replay_pruning.py`` replays pruners on
them and ``screening_bound.py`` fits learning-curve models. More seeds of
curves alone, leaving the results file as it is::

    python benchmarks/bench_pruning.py --seeds 40 --configs parzen/none --curves-only
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

N_TRIALS = 40
MAX_EPOCHS = 27
RESULTS = Path(__file__).with_name("results") / "pruning.json"
CURVES = Path(__file__).with_name("results") / "pruning_curves.json"
PARAMS = Path(__file__).with_name("results") / "pruning_params.json"

CONFIGS = [
    "parzen/none",
    "parzen/median",
    "parzen/asha",
    "parzen/hyperband",
    "parzen/asha-bootstrap",
    "optuna/none",
    "optuna/median",
    "optuna/asha",
    "optuna/hyperband",
]

_OPTIMIZERS = ["sgd", "adam", "rmsprop", "adamw"]
_ACTIVATIONS = ["relu", "tanh", "elu", "gelu"]
_BATCH_SIZES = [32, 64, 128]


def digits() -> tuple[Any, Any]:
    """The data of every study: digits' 8x8 images scaled to [0, 1], as float32."""
    import numpy as np
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return (X / 16.0).astype(np.float32), y


def _objective() -> Any:
    from models import MLPClassifier, make_objective

    X, y = digits()
    estimator = MLPClassifier(max_epochs=MAX_EPOCHS, random_state=0)
    return make_objective(estimator, X, y, validation_fraction=0.25)


def _parzen_pruner(name: str) -> Any:
    """A pruner by name; ``"asha:min_resource=2,reduction_factor=4"`` sets ASHA's options
    (``max_resource`` included: rungs stop below it, 27 by default)."""
    import tpe_core

    if name.startswith("asha:"):
        options = {k: int(v) for k, v in (item.split("=") for item in name[5:].split(","))}
        return tpe_core.SuccessiveHalvingPruner(**{"max_resource": MAX_EPOCHS, **options})
    return {
        "none": None,
        "median": tpe_core.MedianPruner(n_startup_trials=5),
        "asha": tpe_core.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3, max_resource=MAX_EPOCHS),
        "asha-bootstrap": tpe_core.SuccessiveHalvingPruner(
            min_resource=1, reduction_factor=3, max_resource=MAX_EPOCHS, bootstrap_count=3
        ),
        "hyperband": tpe_core.HyperbandPruner(min_resource=1, max_resource=MAX_EPOCHS, reduction_factor=3),
    }[name]


def _optuna_pruner(name: str) -> Any:
    import optuna

    return {
        "none": optuna.pruners.NopPruner(),
        "median": optuna.pruners.MedianPruner(n_startup_trials=5),
        "asha": optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3),
        "hyperband": optuna.pruners.HyperbandPruner(min_resource=1, max_resource=MAX_EPOCHS, reduction_factor=3),
    }[name]


def _run_parzen(pruner: str, seed: int, at_step: bool = False) -> tuple[list[Any], list[Any], dict[str, Any]]:
    """One parzen study; ``at_step`` ranks trials at a step while few are COMPLETE (``min_trials_at_step=10``)."""
    import tpe_core
    from tpe_core import Categorical, Float, Int, Study, TPESampler

    space = {
        "lr": Float(1e-4, 1e-1, log=True),
        "batch_size": Categorical(_BATCH_SIZES),
        "hidden_units": Int(16, 256, log=True),
        "n_layers": Int(1, 3),
        "activation": Categorical(_ACTIVATIONS),
        "dropout": Float(0.0, 0.5),
        "weight_decay": Float(1e-6, 1e-2, log=True),
        "optimizer": Categorical(_OPTIMIZERS),
    }
    sampler = TPESampler(seed=seed, min_trials_at_step=10) if at_step else TPESampler(seed=seed)
    study = Study(space, sampler=sampler, direction="maximize", pruner=_parzen_pruner(pruner))
    study.optimize(_objective(), n_trials=N_TRIALS)
    complete = study.get_trials([tpe_core.TrialState.COMPLETE])
    chosen = _chosen(study.best_trial if complete else None)
    return [_curve(t.intermediate_values) for t in study.trials], [t.params for t in study.trials], chosen


def _run_optuna(pruner: str, seed: int) -> tuple[list[Any], list[Any], dict[str, Any]]:
    import optuna

    import tpe_core

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    objective = _objective()

    def optuna_objective(trial: optuna.Trial) -> float:
        config = {
            "lr": trial.suggest_float("lr", 1e-4, 1e-1, log=True),
            "batch_size": trial.suggest_categorical("batch_size", _BATCH_SIZES),
            "hidden_units": trial.suggest_int("hidden_units", 16, 256, log=True),
            "n_layers": trial.suggest_int("n_layers", 1, 3),
            "activation": trial.suggest_categorical("activation", _ACTIVATIONS),
            "dropout": trial.suggest_float("dropout", 0.0, 0.5),
            "weight_decay": trial.suggest_float("weight_decay", 1e-6, 1e-2, log=True),
            "optimizer": trial.suggest_categorical("optimizer", _OPTIMIZERS),
        }
        try:
            return objective(config, trial)  # the same training code: reports, should_prune, best epoch
        except tpe_core.TrialPruned as e:
            raise optuna.TrialPruned(str(e)) from e

    study = optuna.create_study(
        direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed), pruner=_optuna_pruner(pruner)
    )
    study.optimize(optuna_objective, n_trials=N_TRIALS)
    complete = study.get_trials(states=[optuna.trial.TrialState.COMPLETE])
    chosen = _chosen(study.best_trial if complete else None)
    return [_curve(t.intermediate_values) for t in study.trials], [t.params for t in study.trials], chosen


def _chosen(best_trial: Any) -> dict[str, Any]:
    """The best COMPLETE trial's value, configuration and best epoch (NaN and None without one)."""
    if best_trial is None:
        return {"best": float("nan"), "best_params": None, "best_epoch": None}
    return {
        "best": best_trial.value,
        "best_params": best_trial.params,
        "best_epoch": best_trial.user_attrs["best_epoch"],
    }


def _curve(intermediate_values: dict[int, float]) -> list[float]:
    """A trial's reported values in step order (epochs 1, 2, ...)."""
    return [intermediate_values[step] for step in sorted(intermediate_values)]


def run_one(job: tuple[str, int]) -> dict[str, Any]:
    import torch

    torch.set_num_threads(1)
    config, seed = job
    library, pruner = config.split("/")
    start = time.perf_counter()
    if library == "optuna":
        curves, params, chosen = _run_optuna(pruner, seed)
    else:  # "parzen", or "parzen-step": with the ranking at a step
        curves, params, chosen = _run_parzen(pruner, seed, at_step=library == "parzen-step")
    return {
        "config": config,
        "seed": seed,
        "epochs": sum(len(c) for c in curves),
        "n_complete": sum(len(c) == MAX_EPOCHS for c in curves),
        **chosen,
        "wall_s": time.perf_counter() - start,
        "curves": curves,
        "params": params,
    }


def _load(path: Path) -> list[dict[str, Any]]:
    return json.loads(path.read_text()) if path.exists() else []


def _unpruned_from_curves(library: str) -> dict[int, dict[str, Any]]:
    """Per seed, the unpruned study's result as ``run_one`` gives it (epochs, best value, the best
    trial's configuration and best epoch), read from its recorded curves and configurations.

    The best trial and its best epoch are picked as ``Study.best_trial`` and
    ``make_objective`` pick them: the first trial with the highest best
    epoch, and that trial's first highest epoch.
    """
    curves = json.loads(CURVES.read_text()) if CURVES.exists() else {}
    params = json.loads(PARAMS.read_text()) if PARAMS.exists() else {}
    prefix = f"{library}/none/"
    unpruned = {}
    for key, study in curves.items():
        if not key.startswith(prefix):
            continue
        number = max(range(len(study)), key=lambda i: max(study[i]))
        best_curve = study[number]
        unpruned[int(key[len(prefix) :])] = {
            "epochs": sum(map(len, study)),
            "best": max(best_curve),
            "best_params": params[key][number],
            "best_epoch": best_curve.index(max(best_curve)) + 1,
        }
    return unpruned


def report(results: list[dict[str, Any]]) -> str:
    by_config: dict[str, list[dict[str, Any]]] = {}
    for r in results:
        by_config.setdefault(r["config"], []).append(r)
    lines = [
        "| configuration | seeds | epochs (mean) | epochs / same library unpruned | wall s (mean) | "
        "mean best valid accuracy | vs same library unpruned (pp) |",
        "|---|---|---|---|---|---|---|",
    ]
    for config in [c for c in CONFIGS if c in by_config] + sorted(set(by_config) - set(CONFIGS)):
        runs = sorted(by_config[config], key=lambda r: r["seed"])
        library = config.split("/")[0].split("-")[0]  # parzen-step is parzen when nothing is pruned
        base = _unpruned_from_curves(library) | {r["seed"]: r for r in by_config.get(f"{library}/none", [])}
        paired = [r for r in runs if r["seed"] in base]
        epochs = statistics.mean(r["epochs"] for r in runs)
        ratio = statistics.mean(r["epochs"] / base[r["seed"]]["epochs"] for r in paired) if paired else float("nan")
        best = statistics.mean(r["best"] for r in runs)
        delta = (
            100 * statistics.mean(r["best"] - base[r["seed"]]["best"] for r in paired) if paired else float("nan")
        )
        lines.append(
            f"| {config} | {len(runs)} | {epochs:.0f} | {ratio:.2f} | "
            f"{statistics.mean(r['wall_s'] for r in runs):.0f} | {best:.4f} | {delta:+.2f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--configs", nargs="*", default=CONFIGS)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--results", type=Path, default=RESULTS, help="raw results file (default: %(default)s)")
    parser.add_argument(
        "--curves-only", action="store_true", help="record the unpruned studies' curves, not their results"
    )
    args = parser.parse_args()

    results = _load(args.results)
    curves = json.loads(CURVES.read_text()) if CURVES.exists() else {}
    params = json.loads(PARAMS.read_text()) if PARAMS.exists() else {}
    if args.curves_only:
        args.configs = [c for c in args.configs if c.endswith("/none")]
        done = {(config, int(seed)) for config, seed in (key.rsplit("/", 1) for key in curves)}
    else:
        done = {(r["config"], r["seed"]) for r in results}
    todo = [(c, s) for s in range(args.seeds) for c in args.configs if (c, s) not in done]
    with multiprocessing.get_context("spawn").Pool(args.jobs) as pool:
        for result in pool.imap_unordered(run_one, todo):
            trial_curves, trial_params = result.pop("curves"), result.pop("params")
            if result["config"].endswith("/none"):
                key = f"{result['config']}/{result['seed']}"
                curves[key], params[key] = trial_curves, trial_params
                CURVES.write_text(json.dumps(curves, separators=(",", ":")))
                PARAMS.write_text(json.dumps(params, separators=(",", ":")))
            print(json.dumps(result), flush=True)
            if not args.curves_only:
                results.append(result)
                args.results.write_text(json.dumps(results, indent=1))
    if args.curves_only:
        return
    table = report(results)
    print(table)
    if args.out is not None:
        args.out.write_text(table + "\n")


if __name__ == "__main__":
    main()
