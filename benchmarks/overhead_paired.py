"""Sampler overhead measured in pairs: the optimizers' asks interleaved,
so that each ratio compares times taken under the same load.

The harness's overhead run (``bench_tpe.py overhead``) times each optimizer
in a run of its own; on a shared machine whose speed drifts, a fast
optimizer's 50-trial window (a tenth of a second) falls within one fast or
slow spell while a slow one's (seconds) averages over several. Here every
optimizer is first brought to ``n - window / 2`` completed trials on the
harness's overhead problem, then the next ``window`` ask+tell pairs of all
of them are timed in turns (the order rotating every round), and the
ratios of their medians are reported::

    python benchmarks/overhead_paired.py --optimizers parzen-tpe optuna-tpe hyperopt-tpe \\
        --at 1000 --repeats 3

Needs the bench environment for the anchors.
"""

from __future__ import annotations

import argparse
import statistics
import time

import bench_tpe  # noqa: F401  (registers parzen's adapters with the harness)
import harness


def paired_window(names: list[str], at: int, window: int, seed: int, problem: str) -> dict[str, float]:
    """Median ask+tell seconds of each optimizer over trials ``at - window/2 + 1 .. at + window/2``."""
    spec = harness.PROBLEMS[problem]
    optimizers = {name: harness.make_optimizer(name, spec.space, seed) for name in names}
    for optimizer in optimizers.values():  # the history, untimed
        for _ in range(at - window // 2):
            params = optimizer.ask()
            optimizer.tell(params, spec.fn(params))
    times: dict[str, list[float]] = {name: [] for name in names}
    for round_ in range(window):
        for name in names[round_ % len(names) :] + names[: round_ % len(names)]:
            optimizer = optimizers[name]
            t0 = time.perf_counter()
            params = optimizer.ask()
            t1 = time.perf_counter()
            value = spec.fn(params)  # the objective is not timed, as in the harness
            t2 = time.perf_counter()
            optimizer.tell(params, value)
            times[name].append((t1 - t0) + (time.perf_counter() - t2))
    return {name: statistics.median(t) for name, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--optimizers", nargs="+", default=["parzen-tpe", "optuna-tpe", "hyperopt-tpe"])
    parser.add_argument("--at", type=int, default=1000, help="completed trials at the window's centre")
    parser.add_argument("--window", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--problem", default="overhead10")
    args = parser.parse_args()

    first = args.optimizers[0]
    print(f"ask+tell at {args.at} trials, medians over {args.window} interleaved rounds, in ms\n")
    print("| repeat (seed) | " + " | ".join(args.optimizers) + " | "
          + " | ".join(f"{o} / {first}" for o in args.optimizers[1:]) + " |")
    print("|---" * (2 * len(args.optimizers)) + "|")
    medians = []
    for seed in range(args.repeats):
        m = paired_window(args.optimizers, args.at, args.window, seed, args.problem)
        medians.append(m)
        print(f"| {seed} | " + " | ".join(f"{1e3 * m[o]:.3g}" for o in args.optimizers) + " | "
              + " | ".join(f"{m[o] / m[first]:.1f}x" for o in args.optimizers[1:]) + " |", flush=True)
    overall = {o: statistics.median(m[o] for m in medians) for o in args.optimizers}
    print("| median | " + " | ".join(f"{1e3 * overall[o]:.3g}" for o in args.optimizers) + " | "
          + " | ".join(f"{statistics.median(m[o] / m[first] for m in medians):.1f}x" for o in args.optimizers[1:])
          + " |")


if __name__ == "__main__":
    main()
