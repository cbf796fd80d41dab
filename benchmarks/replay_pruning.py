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


def replay(curves: list[list[float]], pruner: Any) -> tuple[int, float]:
    """Epochs trained and best complete value of a study that replays ``curves`` under ``pruner``."""
    study = Study({"x": Float(0.0, 1.0)}, sampler=RandomSampler(seed=0), direction="maximize", pruner=pruner)

    def objective(config: dict[str, Any], trial: tpe_core.Trial) -> float:
        curve = curves[trial.number]
        for epoch, value in enumerate(curve, start=1):
            trial.report(value, epoch)
            if trial.should_prune():
                raise TrialPruned(f"pruned at epoch {epoch}")
        return max(curve)

    study.optimize(objective, n_trials=len(curves))
    epochs = sum(len(t.intermediate_values) for t in study.trials)
    complete = study.get_trials([tpe_core.TrialState.COMPLETE])
    return epochs, max((t.value for t in complete), default=float("nan"))


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
    print("| pruner | epochs / unpruned | best valid accuracy (mean) | vs unpruned (pp) | seeds where worse |")
    print("|---|---|---|---|---|")
    for name in args.pruners:
        ratios, bests, deltas = [], [], []
        for curves in studies.values():
            epochs, best = replay(curves, _parzen_pruner(name))
            unpruned = max(max(c) for c in curves)
            ratios.append(epochs / sum(len(c) for c in curves))
            bests.append(best)
            deltas.append(100 * (best - unpruned))
        worse = sum(d < 0 for d in deltas)
        print(
            f"| {name} | {statistics.mean(ratios):.2f} | {statistics.mean(bests):.4f} | "
            f"{statistics.mean(deltas):+.2f} | {worse} of {len(deltas)} |"
        )


if __name__ == "__main__":
    main()
