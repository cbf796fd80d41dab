"""Cross-validate the configuration each pruning study chose, refit as documented.

A study's best value (``bench_pruning.py``'s accuracy column) is the best
epoch of its best COMPLETE trial: the maximum of many noisy scores on one
450-image validation split, where one image is 0.22 percentage points. An
unpruned study takes that maximum over 40 x 27 scores, a pruned one over a
few complete trials, so the column also measures how many lottery tickets a
study drew. This script measures the configuration instead: the best trial's
configuration is refit as ``models.make_objective`` documents
(``max_epochs`` = the trial's best epoch, on all the training data at
hand) on the training part of each of five stratified folds of digits, with
other seeds than the studies', and scored on the fold held out; with
``--repeats``, again for other shuffles of the folds and other seeds::

    python benchmarks/retrain_chosen.py --results benchmarks/results/pruning_40.json --repeats 3 \\
        parzen/none parzen/asha parzen/asha-bootstrap parzen/hyperband

The chosen configurations come from the raw results (``best_params``,
``best_epoch``), those of unpruned parzen studies from their recorded curves
and configurations. Scores go to ``results/pruning_retrained.json``; a rerun
skips the refits it already has.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_pruning import RESULTS, _load, _unpruned_from_curves, digits  # noqa: E402
from replay_pruning import _standard_error  # noqa: E402

RETRAINED = Path(__file__).with_name("results") / "pruning_retrained.json"
N_FOLDS = 5
SEED = 1  # repeat r shuffles the folds and seeds its refits with SEED + r; the studies train with seed 0


def cross_validate(job: tuple[str, dict[str, Any], int, int]) -> tuple[str, list[float]]:
    """Accuracy on each held-out fold of a configuration trained ``best_epoch`` epochs, in one repeat."""
    import torch
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    from models import MLPClassifier

    torch.set_num_threads(1)
    key, params, best_epoch, repeat = job
    X, y = digits()
    net = MLPClassifier(max_epochs=best_epoch, random_state=SEED + repeat, train_split=None, **params)
    folds = StratifiedKFold(N_FOLDS, shuffle=True, random_state=SEED + repeat)
    return key, [float(s) for s in cross_val_score(net, X, y, cv=folds)]


def report(configs: list[str], results: list[dict[str, Any]], scores: dict[str, list[float]]) -> str:
    """Per configuration: epochs and study best against unpruned parzen, and the chosen configurations' accuracy."""
    base = _unpruned_from_curves("parzen")
    rows = {(r["config"], r["seed"]): r for r in results} | {("parzen/none", seed): r for seed, r in base.items()}
    lines = [
        "| configuration | seeds | epochs / unpruned | study best vs unpruned (pp) | "
        "chosen configuration's CV accuracy (mean) | vs unpruned's (pp) | standard error (pp) | seeds where worse |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for config in configs:
        seeds = sorted(s for c, s in rows if c == config and f"{c}/{s}" in scores and f"parzen/none/{s}" in scores)
        if not seeds:
            continue
        accuracy = {s: statistics.mean(scores[f"{config}/{s}"]) for s in seeds}
        deltas = [100 * (accuracy[s] - statistics.mean(scores[f"parzen/none/{s}"])) for s in seeds]
        ratio = statistics.mean(rows[config, s]["epochs"] / base[s]["epochs"] for s in seeds)
        study = statistics.mean(100 * (rows[config, s]["best"] - base[s]["best"]) for s in seeds)
        error = _standard_error(deltas) if len(deltas) > 1 else float("nan")
        lines.append(
            f"| {config} | {len(seeds)} | {ratio:.2f} | {study:+.2f} | {statistics.mean(accuracy.values()):.4f} | "
            f"{statistics.mean(deltas):+.2f} | {error:.2f} | {sum(d < 0 for d in deltas)} of {len(deltas)} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("configs", nargs="+", help="configurations as in bench_pruning.py (parzen/none, ...)")
    parser.add_argument("--results", type=Path, default=RESULTS, help="raw results file (default: %(default)s)")
    parser.add_argument("--repeats", type=int, default=1, help="cross-validations per study (default: 1)")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()

    results = _load(args.results)
    studies = [{"config": "parzen/none", "seed": seed, **r} for seed, r in _unpruned_from_curves("parzen").items()]
    chosen = {
        f"{r['config']}/{r['seed']}": r
        for r in studies + results
        if r["config"] in args.configs and r.get("best_params")
    }
    missing = [c for c in args.configs if not any(key.rsplit("/", 1)[0] == c for key in chosen)]
    if missing:
        raise SystemExit(f"no chosen configurations of {missing} in {args.results} (rerun bench_pruning.py)")
    scores = json.loads(RETRAINED.read_text()) if RETRAINED.exists() else {}  # per study, every fold of every repeat
    todo = [
        (key, c["best_params"], c["best_epoch"], repeat)
        for repeat in range(args.repeats)
        for key, c in chosen.items()
        if len(scores.get(key, [])) <= N_FOLDS * repeat
    ]
    with multiprocessing.get_context("spawn").Pool(args.jobs) as pool:
        for key, fold_scores in pool.imap(cross_validate, todo):  # in order: repeats are appended in turn
            scores[key] = scores.get(key, []) + fold_scores
            RETRAINED.write_text(json.dumps(scores, indent=1, sort_keys=True))
            print(key, f"{statistics.mean(fold_scores):.4f}", flush=True)
    print(report(args.configs, results, scores))


if __name__ == "__main__":
    main()
