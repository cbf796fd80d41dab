"""How much can a pruner keep if it predicts each trial's final accuracy? An optimistic bound.

Successive halving ranks the trials at a rung by their current validation
accuracy. Here it ranks them by a prediction of each trial's best-epoch
accuracy instead, made by a gradient-boosted model from the trial's curve up
to the rung and, with ``--params``, from its configuration too. The model of
a study is trained on the complete curves of the *other* recorded studies of
the same task (studies split into folds), which is far more, and better
matched, data than any pruner has inside one study; what it keeps is an
upper bound for rules that read curves and configurations::

    python benchmarks/screening_bound.py --params

Reads ``results/pruning_curves.json`` and ``results/pruning_params.json``
(written by ``bench_pruning.py``); the table compares each reduction-factor
schedule with plain successive halving on the same curves.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.ensemble import HistGradientBoostingRegressor

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_pruning import _ACTIVATIONS, _OPTIMIZERS, CURVES, MAX_EPOCHS, PARAMS  # noqa: E402
from replay_pruning import replay  # noqa: E402

from tpe_core import SuccessiveHalvingPruner  # noqa: E402

FACTORS = (2, 3, 4)


def _pruner(factor: int) -> SuccessiveHalvingPruner:
    return SuccessiveHalvingPruner(min_resource=1, reduction_factor=factor, max_resource=MAX_EPOCHS)


RUNGS = sorted({rung for factor in FACTORS for rung in _pruner(factor).rungs()})


def _features(curves: np.ndarray, params: list[dict[str, Any]], rung: int, with_params: bool) -> np.ndarray:
    """Rows of one study's trials: the curve up to ``rung``, then the configuration's numbers."""
    if not with_params:
        return curves[:, :rung]
    encoded = [
        [
            math.log10(p["lr"]),
            p["batch_size"],
            math.log2(p["hidden_units"]),
            p["n_layers"],
            p["dropout"],
            math.log10(p["weight_decay"]),
            _OPTIMIZERS.index(p["optimizer"]),
            _ACTIVATIONS.index(p["activation"]),
        ]
        for p in params
    ]
    return np.hstack([curves[:, :rung], np.array(encoded, dtype=float)])


def predicted_curves(
    studies: list[np.ndarray], params: list[list[dict[str, Any]]], with_params: bool, n_folds: int
) -> list[np.ndarray]:
    """Per study, its curves with the value at each rung (of every factor) replaced by the predicted best epoch."""
    shown = [c.copy() for c in studies]
    folds = np.arange(len(studies)) % n_folds
    for fold in range(n_folds):
        train = np.flatnonzero(folds != fold)
        for rung in RUNGS:
            X = np.vstack([_features(studies[i], params[i], rung, with_params) for i in train])
            y = np.concatenate([studies[i].max(axis=1) for i in train])
            model = HistGradientBoostingRegressor(max_iter=200, learning_rate=0.05, random_state=0).fit(X, y)
            for i in np.flatnonzero(folds == fold):
                shown[i][:, rung - 1] = model.predict(_features(studies[i], params[i], rung, with_params))
    return shown


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", action="store_true", help="let the model read the configurations too")
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()

    curves = json.loads(CURVES.read_text())
    params = json.loads(PARAMS.read_text())
    keys = sorted((k for k in curves if k.startswith("parzen/none/")), key=lambda k: int(k.rsplit("/", 1)[1]))
    studies = [np.array(curves[k]) for k in keys]
    shown = predicted_curves(studies, [params[k] for k in keys], args.params, args.folds)
    print(f"{len(studies)} studies, model reads the curve{' and the configuration' if args.params else ''}\n")
    print("| reduction factor | ranked by | epochs / unpruned | vs unpruned (pp) | standard error (pp) |")
    print("|---|---|---|---|---|")
    for factor in FACTORS:
        for name, reported in (("current accuracy", studies), ("predicted best epoch", shown)):
            ratios, deltas = [], []
            for study, scores in zip(studies, reported):
                epochs, chosen = replay(study.tolist(), _pruner(factor), scores.tolist())
                ratios.append(epochs / study.size)
                deltas.append(100 * (study[chosen].max() - study.max()))
            print(
                f"| {factor} | {name} | {statistics.mean(ratios):.2f} | {statistics.mean(deltas):+.2f} | "
                f"{statistics.stdev(deltas) / len(deltas) ** 0.5:.2f} |"
            )


if __name__ == "__main__":
    main()
