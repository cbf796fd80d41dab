"""Replay pruners on recorded validation curves, training nothing.

``bench_pruning.py`` records every trial's validation curve of its unpruned
studies (``results/pruning_curves.json``: 40 trials, 27 epochs, one study
per seed). Replaying a pruner on a study's curves, trial ``i`` reports
curve ``i`` epoch by epoch and stops where the pruner says; a complete
trial scores its best epoch, as ``models.make_objective`` does. The table
gives the epochs trained and the best complete trial against the unpruned
study's best, per pruner::

    python benchmarks/replay_pruning.py asha median hyperband \\
        "asha:min_resource=1,reduction_factor=3,min_trials_at_rung=4"

What a replay measures is the screening alone: how much a pruner loses by
stopping trials that would have won. It leaves out the sampler's part (in a
real pruned study TPE proposes other trials, having learnt from pruned
ones), so its losses are a lower bound of a real study's, and two pruners
are compared on exactly the same trials.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_pruning import CURVES, _parzen_pruner  # noqa: E402

import tpe_core  # noqa: E402
from tpe_core import Float, RandomSampler, Study, TrialPruned  # noqa: E402


def replay(curves: list[list[float]], pruner: Any, reported: list[list[float]] | None = None) -> tuple[int, int]:
    """Epochs trained, and the number of the best complete trial, of a study that replays ``curves`` under ``pruner``.

    A trial reports ``reported`` (its curve by default) epoch by epoch, so a
    pruner may be shown another score than the accuracy, and returns the
    best epoch of its curve.
    """
    reported = curves if reported is None else reported
    study = Study({"x": Float(0.0, 1.0)}, sampler=RandomSampler(seed=0), direction="maximize", pruner=pruner)

    def objective(config: dict[str, Any], trial: tpe_core.Trial) -> float:
        for epoch, value in enumerate(reported[trial.number], start=1):
            trial.report(value, epoch)
            if trial.should_prune():
                raise TrialPruned(f"pruned at epoch {epoch}")
        return max(curves[trial.number])

    study.optimize(objective, n_trials=len(curves))
    epochs = sum(len(t.intermediate_values) for t in study.trials)
    return epochs, study.best_trial.number


def _plateau(curve: list[float]) -> float:
    """Mean of a curve's last five epochs: its level, with less of the noise its best epoch picks."""
    return statistics.mean(curve[-5:])


def _standard_error(values: list[float]) -> float:
    return statistics.stdev(values) / len(values) ** 0.5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pruners", nargs="+", help="pruner names as in bench_pruning.py (none, median, asha, ...)")
    parser.add_argument("--studies", default="parzen/none", help="whose recorded curves to replay")
    args = parser.parse_args()

    recorded = json.loads(CURVES.read_text())
    studies = {key: curves for key, curves in recorded.items() if key.rsplit("/", 1)[0] == args.studies}
    if not studies:
        raise SystemExit(f"no recorded curves of {args.studies!r} in {CURVES}")
    print(f"{len(studies)} studies of {args.studies}\n")
    print(
        "| pruner | epochs / unpruned | best valid accuracy (mean) | vs unpruned (pp) | standard error (pp) | "
        "seeds where worse | chosen trial's last-5-epoch mean vs unpruned's (pp, ± standard error) |"
    )
    print("|---|---|---|---|---|---|---|")
    for name in args.pruners:
        ratios, bests, deltas, levels = [], [], [], []
        for curves in studies.values():
            epochs, chosen = replay(curves, _parzen_pruner(name))
            unpruned = max(range(len(curves)), key=lambda i: max(curves[i]))
            ratios.append(epochs / sum(len(c) for c in curves))
            bests.append(max(curves[chosen]))
            deltas.append(100 * (max(curves[chosen]) - max(curves[unpruned])))
            levels.append(100 * (_plateau(curves[chosen]) - _plateau(curves[unpruned])))
        worse = sum(d < 0 for d in deltas)
        print(
            f"| {name} | {statistics.mean(ratios):.2f} | {statistics.mean(bests):.4f} | "
            f"{statistics.mean(deltas):+.2f} | {_standard_error(deltas):.2f} | "
            f"{worse} of {len(deltas)} | {statistics.mean(levels):+.2f} ± {_standard_error(levels):.2f} |"
        )


if __name__ == "__main__":
    main()
