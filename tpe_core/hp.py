"""hyperopt's ``hp`` constructors, on top of parzen's distributions.

Port hyperopt code by changing the import: ``from tpe_core import hp``.
Each function returns a parzen distribution whose ``label`` is the given
label, so parameters are named by their labels (labels must be unique in a
space). The bounds keep hyperopt's meaning: ``loguniform`` and
``qloguniform`` take the bounds of ``log(value)``.

Differences from hyperopt: quantised distributions draw the values of their
step grid with equal probability, and ``qloguniform`` never gives 0 (its
smallest value is ``q``). ``qnormal`` and ``qlognormal`` give multiples of
``q`` as in hyperopt (``qlognormal`` 0 too).

Examples
--------
>>> from tpe_core import hp
>>> space = hp.choice("model", [
...     {"type": "svm", "C": hp.loguniform("C", -3, 3)},
...     {"type": "tree", "depth": hp.uniformint("depth", 1, 8)},
... ])
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tpe_core._distributions import Categorical, Distribution, Float, Int, Normal

__all__ = [
    "choice",
    "lognormal",
    "loguniform",
    "normal",
    "pchoice",
    "qlognormal",
    "qloguniform",
    "qnormal",
    "quniform",
    "randint",
    "uniform",
    "uniformint",
]


def _build(function: str, label: str, args: dict[str, Any], make: Callable[[], Distribution]) -> Any:
    """Build a distribution, naming the hp call and its label in any error."""
    if not isinstance(label, str) or not label:
        raise ValueError(f"hp.{function}: label must be a non-empty string, got {label!r}")
    try:
        return make()
    except (ValueError, OverflowError) as e:
        shown = ", ".join(f"{k}={v!r}" for k, v in args.items())
        raise ValueError(f"hp.{function}({label!r}, {shown}): {e}") from e


def _q_bounds(low: float, high: float, q: float) -> tuple[float, float]:
    """The smallest and largest multiples of ``q`` that ``round(uniform(low, high) / q) * q`` gives
    with a probability above zero: ``low / q`` rounded half up, ``high / q`` rounded half down
    (``quniform(5, 100, 10)`` gives 10 to 100; 0 only at exactly 5). The ratios are first rounded
    to 9 decimals so that float error (``0.15 / 0.1`` is 1.4999999999999998) does not move a bound."""
    if not q > 0:
        raise ValueError(f"q must be > 0, got q={q!r}")
    if not low < high:
        raise ValueError(f"needs low < high, got low={low!r}, high={high!r}")
    lo, hi = math.floor(round(low / q, 9) + 0.5), math.ceil(round(high / q, 9) - 0.5)
    if lo == hi:
        raise ValueError(f"every value rounds to {lo * q!r}; use a constant for a fixed value")
    return lo * q, hi * q


def uniform(label: str, low: float, high: float) -> Float:
    """A float uniform in ``[low, high]``."""
    return _build("uniform", label, {"low": low, "high": high}, lambda: Float(low, high, label=label))


def _exp_bounds(low: float, high: float) -> tuple[float, float]:
    """``exp(low), exp(high)``, each widened to its value at 15 significant digits when that lies outside:
    the bounds a user meant are inside (``exp(log(0.001))`` is 0.0010000000000000002, which would refuse
    0.001 itself), and so is ``exp(low)`` itself."""
    rounded = [float(f"{math.exp(x):.15g}") for x in (low, high)]
    return min(rounded[0], math.exp(low)), max(rounded[1], math.exp(high))


def loguniform(label: str, low: float, high: float) -> Float:
    """``exp(uniform(low, high))``: log-uniform in ``[exp(low), exp(high)]``."""
    return _build(
        "loguniform",
        label,
        {"low": low, "high": high},
        lambda: Float(*_exp_bounds(low, high), log=True, label=label),
    )


def quniform(label: str, low: float, high: float, q: float) -> Float:
    """``round(uniform(low, high) / q) * q``."""

    def make() -> Float:
        lo, hi = _q_bounds(low, high, q)
        return Float(lo, hi, step=q, label=label)

    return _build("quniform", label, {"low": low, "high": high, "q": q}, make)


def qloguniform(label: str, low: float, high: float, q: float) -> Float:
    """``round(exp(uniform(low, high)) / q) * q``, at least ``q``."""

    def make() -> Float:
        lo, hi = _q_bounds(*_exp_bounds(low, high), q)
        return Float(max(lo, q), hi, log=True, step=q, label=label)

    return _build("qloguniform", label, {"low": low, "high": high, "q": q}, make)


def _whole(**bounds: Any) -> list[Any]:
    """The bounds, a whole float (``10.0``) as its int, as hyperopt takes them."""
    out = []
    for name, value in bounds.items():
        if isinstance(value, (float, np.floating)) and float(value).is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise ValueError(f"{name} must be an integer, got {name}={value!r}")
        out.append(value)
    return out


def uniformint(label: str, low: int, high: int) -> Int:
    """An integer uniform in ``[low, high]``, both included."""

    def make() -> Int:
        lo, hi = _whole(low=low, high=high)
        return Int(lo, hi, label=label)

    return _build("uniformint", label, {"low": low, "high": high}, make)


def randint(label: str, low: int | None = None, high: int | None = None) -> Int:
    """``randint(label, upper)``: an integer in ``[0, upper)``;
    ``randint(label, low, high)`` (or ``low=``, ``high=``): an integer in ``[low, high)``."""
    if low is None:
        raise TypeError(f"hp.randint({label!r}, ...) takes upper, or low and high; got low=None, high={high!r}")
    low, high = (0, low) if high is None else (low, high)

    def make() -> Int:
        lo, hi = _whole(low=low, high=high)
        return Int(lo, hi - 1, label=label)

    return _build("randint", label, {"low": low, "high": high}, make)


def choice(label: str, options: Sequence[Any]) -> Categorical:
    """One of ``options``; options may be sub-spaces (a conditional space)."""
    return _build("choice", label, {"options": options}, lambda: Categorical(options, label=label))


def pchoice(label: str, p_options: Sequence[tuple[float, Any]]) -> Categorical:
    """One of the options of ``[(probability, option), ...]``."""

    def make() -> Categorical:
        pairs = list(p_options)
        if any(not isinstance(pair, (tuple, list)) or len(pair) != 2 for pair in pairs):
            raise ValueError("p_options must be a list of (probability, option) pairs")
        return Categorical([o for _, o in pairs], weights=[p for p, _ in pairs], label=label)

    return _build("pchoice", label, {"p_options": p_options}, make)


def normal(label: str, mu: float, sigma: float) -> Normal:
    """A float with a Gaussian prior ``N(mu, sigma)`` (unbounded)."""
    return _build("normal", label, {"mu": mu, "sigma": sigma}, lambda: Normal(mu, sigma, label=label))


def qnormal(label: str, mu: float, sigma: float, q: float) -> Normal:
    """``round(normal(mu, sigma) / q) * q``."""
    return _build(
        "qnormal", label, {"mu": mu, "sigma": sigma, "q": q}, lambda: Normal(mu, sigma, step=q, label=label)
    )


def lognormal(label: str, mu: float, sigma: float) -> Normal:
    """``exp(normal(mu, sigma))``."""
    return _build(
        "lognormal", label, {"mu": mu, "sigma": sigma}, lambda: Normal(mu, sigma, log=True, label=label)
    )


def qlognormal(label: str, mu: float, sigma: float, q: float) -> Normal:
    """``round(exp(normal(mu, sigma)) / q) * q``, 0 included."""
    return _build(
        "qlognormal",
        label,
        {"mu": mu, "sigma": sigma, "q": q},
        lambda: Normal(mu, sigma, log=True, step=q, label=label),
    )
