"""Pruning on executors: how long a study whose trials report and ask
``should_prune`` at every step takes on a thread pool and a process pool.

Each of 8 trials reports 6 steps and asks ``should_prune`` after each (a
``MedianPruner``); the objective does no other work, so the time is what
the asks wait for the driver's answers (the workers' start-up included for
the process pool). A driver that answers at once takes a fraction of a
second; one that looks at its workers' messages once a second takes many.

::

    python benchmarks/bench_prune_asks.py
"""

from __future__ import annotations

import concurrent.futures
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tpe_core import Float, MedianPruner, RandomSampler, Study  # noqa: E402

N_TRIALS = 8
STEPS = 6


def asks_at_every_step(config: dict[str, float], trial: Any) -> float:
    for step in range(1, STEPS + 1):
        trial.report(config["x"], step)
        trial.should_prune()
    return config["x"]


def seconds_on(executor: concurrent.futures.Executor) -> float:
    study = Study({"x": Float(0.0, 1.0)}, sampler=RandomSampler(seed=0), pruner=MedianPruner(n_startup_trials=N_TRIALS))
    start = time.perf_counter()
    with executor:
        study.optimize(asks_at_every_step, n_trials=N_TRIALS, executor=executor)
    return time.perf_counter() - start


def main() -> None:
    print(f"| executor | seconds for {N_TRIALS} trials of {STEPS} asks |")
    print("|---|---|")
    print(f"| ThreadPoolExecutor(2) | {seconds_on(concurrent.futures.ThreadPoolExecutor(2)):.2f} |")
    print(f"| ProcessPoolExecutor(2) | {seconds_on(concurrent.futures.ProcessPoolExecutor(2)):.2f} |")


if __name__ == "__main__":
    main()
