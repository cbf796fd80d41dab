"""Run one of the harness's optimizers on its overhead problem for a given
number of trials, for ``perf stat`` to count what an ask+tell costs.

Two runs that differ by 200 trials, one BLAS thread for every library::

    export OPENBLAS_NUM_THREADS=1
    perf stat -e instructions:u python benchmarks/ask_cost.py optuna-tpe 900
    perf stat -e instructions:u python benchmarks/ask_cost.py optuna-tpe 1100

The difference of the two counts over 200 is the number of instructions
of one ask+tell between trials 900 and 1100, whatever else loads the
machine (not its time: how long an instruction takes differs from one
library's code to another's). Needs the bench environment for the anchors.
"""

from __future__ import annotations

import argparse

import bench_tpe  # noqa: F401  (registers parzen's adapters with the harness)
import harness


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("optimizer", help="a harness optimizer name, e.g. parzen-tpe or optuna-tpe")
    parser.add_argument("trials", type=int)
    parser.add_argument("--problem", default="overhead10")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    problem = harness.PROBLEMS[args.problem]
    optimizer = harness.make_optimizer(args.optimizer, problem.space, args.seed)
    for _ in range(args.trials):
        params = optimizer.ask()
        optimizer.tell(params, problem.fn(params))


if __name__ == "__main__":
    main()
