"""Parallel trials: throughput of worker processes and Dask, and TPE's quality
when trials run two at a time.

1. Throughput (trials per minute) of an objective burning ~0.5 s of CPU:
   serial, ``n_jobs=2``, and a Dask ``LocalCluster`` of 2 single-thread
   worker processes (started before the clock; parzen's own workers are
   started inside ``optimize`` and counted).
2. Search quality of TPE with 2 trials in flight (the constant liar at work)
   vs serial, at the same number of trials, on two problems of the shared
   harness: median simple regret after 100 trials over 10 seeds. Trials in
   flight are simulated with ask/tell (each ask sees the other running
   trial), which is exactly what the sampler sees from workers.

::

    python benchmarks/bench_parallel.py --out benchmarks/parallel.md
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(os.environ.get("PARZEN_BENCH_HARNESS", ROOT.parent / "shared" / "bench"))))

from tpe_core import DaskExecutor, Float, RandomSampler, Study, TPESampler  # noqa: E402

SPACE = {"x": Float(-1.0, 1.0), "y": Float(-1.0, 1.0)}
CPU_SECONDS = 0.5


def burn(config: dict[str, float]) -> float:
    """~0.5 s of CPU time, then a quadratic."""
    end = time.process_time() + CPU_SECONDS
    while time.process_time() < end:
        sum(i * i for i in range(1000))
    return config["x"] ** 2 + config["y"] ** 2


def throughput(n_trials: int) -> dict[str, float]:
    from distributed import Client, LocalCluster

    rates = {}
    for label, kwargs in (("serial", {}), ("n_jobs=2", {"n_jobs": 2})):
        study = Study(SPACE, sampler=RandomSampler(seed=0))
        start = time.perf_counter()
        study.optimize(burn, n_trials=n_trials, **kwargs)
        rates[label] = n_trials / (time.perf_counter() - start) * 60
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with Client(cluster) as client:
            study = Study(SPACE, sampler=RandomSampler(seed=0))
            start = time.perf_counter()
            study.optimize(burn, n_trials=n_trials, executor=DaskExecutor(client))
            rates["Dask LocalCluster (2 workers)"] = n_trials / (time.perf_counter() - start) * 60
    return rates


def regret(problem: Any, seed: int, in_flight: int, n_trials: int) -> float:
    from bench_tpe import ParzenAdapter

    adapter = ParzenAdapter(problem.space, TPESampler(seed=seed))
    running: list[dict[str, Any]] = []
    best = float("inf")
    for _ in range(n_trials):
        running.append(adapter.ask())
        if len(running) == in_flight:
            params = running.pop(0)
            value = problem.fn(params)
            adapter.tell(params, value)
            best = min(best, value)
    for params in running:
        value = problem.fn(params)
        adapter.tell(params, value)
        best = min(best, value)
    return best - problem.optimum


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=40, help="trials of the throughput runs (also run with 80)")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    import harness

    rates = throughput(args.trials)
    lines = [
        "# Parallel trials",
        "",
        f"Measured {time.strftime('%Y-%m-%d')} on {os.cpu_count()} cores, one run. "
        "Reproduce: `python benchmarks/bench_parallel.py --out benchmarks/parallel.md` (needs distributed).",
        "",
        f"## Throughput: {args.trials} trials of an objective burning {CPU_SECONDS} s of CPU",
        "",
        "| how | trials / minute | vs serial |",
        "|---|---|---|",
    ]
    lines += [f"| {k} | {v:.0f} | **{v / rates['serial']:.2f}x** |" for k, v in rates.items()]
    lines += [
        "",
        f"## TPE quality with trials in flight: median regret after 100 trials, {args.seeds} seeds",
        "",
        "| problem | serial | 2 in flight | 4 in flight |",
        "|---|---|---|---|",
    ]
    for name in ("branin", "hartmann6"):
        problem = harness.PROBLEMS[name]
        cells = [
            statistics.median(regret(problem, seed, k, 100) for seed in range(args.seeds)) for k in (1, 2, 4)
        ]
        lines.append(f"| {name} | " + " | ".join(f"{c:.3g}" for c in cells) + " |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out is not None:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
