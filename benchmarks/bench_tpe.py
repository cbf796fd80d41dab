"""parzen's samplers on the shared anchor harness (quality and overhead).

The harness (``shared/bench/harness.py`` beside the repository, or the
folder in ``PARZEN_BENCH_HARNESS``) runs Optuna, hyperopt and random search;
this script registers parzen adapters and hands over to its command line,
so every table compares parzen with the anchors from the same run::

    python benchmarks/bench_tpe.py quality --trials 100 --seeds 10 --jobs 2 \\
        --optimizers parzen-tpe optuna-tpe hyperopt-tpe optuna-random --out quality.json
    python benchmarks/bench_tpe.py overhead --trials 2000 --min-trials 1000 \\
        --optimizers parzen-tpe optuna-tpe hyperopt-tpe --out overhead.json

Run it with a virtualenv holding the anchors (``requirements-anchors.txt``
of the harness) and parzen (``pip install --no-deps -e .``).
"""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path
from typing import Any

HARNESS_DIR = Path(
    os.environ.get("PARZEN_BENCH_HARNESS", Path(__file__).resolve().parents[2] / "shared" / "bench")
)
sys.path.insert(0, str(HARNESS_DIR))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import harness  # noqa: E402

from tpe_core import Categorical, Float, Int, RandomSampler, Study, TPESampler  # noqa: E402


def parzen_space(space: list[Any]) -> dict[str, Any]:
    """The harness space as a parzen space, each parameter labelled by its name.

    A parameter with conditional children becomes a Categorical of branches,
    one per option, holding the children active under that option.
    """
    children: dict[str, dict[Any, list[Any]]] = {}
    for p in space:
        if p.parent is not None:
            for v in p.parent_values:
                children.setdefault(p.parent, {}).setdefault(v, []).append(p)

    def leaf(p: Any) -> Any:
        if p.kind == "categorical":
            if p.name not in children:
                return Categorical(list(p.choices), label=p.name)
            return Categorical(
                [{"value": c, **{ch.name: leaf(ch) for ch in children[p.name].get(c, [])}}
                 for c in p.choices],
                label=p.name,
            )
        log = p.kind.endswith("-log")
        if p.kind.startswith("int"):
            return Int(int(p.low), int(p.high), log=log, label=p.name)
        return Float(float(p.low), float(p.high), log=log, label=p.name)

    return {p.name: leaf(p) for p in space if p.parent is None}


class ParzenAdapter:
    """Ask/tell adapter of a parzen Study for the harness."""

    def __init__(self, space: list[Any], sampler: Any) -> None:
        self.by_name = {p.name: p for p in space}
        self.study = Study(parzen_space(space), sampler=sampler)
        self.conditional = {p.name for p in self.study.search_space.params if p.conditional}
        self._pending: dict[int, Any] = {}

    def ask(self) -> dict[str, Any]:
        trial = self.study.ask()
        out = {}
        for name, value in trial.params.items():
            p = self.by_name[name]
            out[name] = p.choices[value] if name in self.conditional else value
        self._pending[id(out)] = trial
        return out

    def tell(self, params: dict[str, Any], value: float) -> None:
        self.study.tell(self._pending.pop(id(params)), value if math.isfinite(value) else math.nan)


@harness.register("parzen-tpe", doc="parzen TPESampler() defaults (multivariate)")
def _parzen_tpe(space: list[Any], seed: int) -> ParzenAdapter:
    return ParzenAdapter(space, TPESampler(seed=seed))


@harness.register("parzen-tpe-uniform", doc="parzen TPESampler(good_weights='uniform')")
def _parzen_tpe_uniform(space: list[Any], seed: int) -> ParzenAdapter:
    return ParzenAdapter(space, TPESampler(seed=seed, good_weights="uniform"))


@harness.register("parzen-tpe-uni", doc="parzen TPESampler(multivariate=False)")
def _parzen_tpe_uni(space: list[Any], seed: int) -> ParzenAdapter:
    return ParzenAdapter(space, TPESampler(seed=seed, multivariate=False))


@harness.register("parzen-random", doc="parzen RandomSampler")
def _parzen_random(space: list[Any], seed: int) -> ParzenAdapter:
    return ParzenAdapter(space, RandomSampler(seed=seed))


if __name__ == "__main__":
    harness.main(sys.argv[1:])
