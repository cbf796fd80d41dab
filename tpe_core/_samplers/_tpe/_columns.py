"""How TPE sees each column of the encoded history.

Numeric parameters are modelled on the *unit scale*: the value is mapped by
``log`` (for ``log=True``) and then affinely onto ``[0, 1]``. For a
parameter on a step grid (an Int, a stepped Float) the unit interval spans
the grid's cells, from half a step below ``low`` to half a step above
``high``, and a value stands for its whole cell.

Categorical parameters are modelled by their option index.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tpe_core._distributions import Categorical, Distribution, Normal, _Numeric, round_to_step
from tpe_core._space import Param, SearchSpace, SpaceError, _ScipyDistribution, format_path

__all__ = ["CategoricalColumn", "NumericColumn", "columns_of"]

# A Normal prior is modelled on mu +- this many sigmas (of log(value) for log=True).
_NORMAL_SPAN = 5.0


@dataclass(frozen=True)
class NumericColumn:
    """A numeric parameter on the unit scale.

    Attributes
    ----------
    log : bool
        Whether the unit scale is affine in ``log(value)``.
    t_low, t_high : float
        The transformed values that map to 0 and 1.
    low, high : float
        Bounds of the value itself.
    step : float or None
        Grid step of the value (None: continuous).
    anchor : float
        A point of the step grid.
    integer : bool
        Whether values are Python ints.
    """

    log: bool
    t_low: float
    t_high: float
    low: float
    high: float
    step: float | None
    anchor: float
    integer: bool

    def to_unit(self, values: np.ndarray) -> np.ndarray:
        t = np.log(values) if self.log else values
        return (t - self.t_low) / (self.t_high - self.t_low)

    def from_unit(self, z: np.ndarray) -> np.ndarray:
        """Values for unit-scale points, on the grid and inside the bounds."""
        t = self.t_low + np.clip(z, 0.0, 1.0) * (self.t_high - self.t_low)
        values = np.exp(t) if self.log else t
        if self.step is not None:
            values = round_to_step(values, self.anchor, self.step)
        values = np.clip(values, self.low, self.high)
        return np.round(values) if self.integer else values

    def cells(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Unit-scale bounds of the grid cells of ``values`` (step grids only)."""
        assert self.step is not None
        half = 0.5 * self.step
        lower = values - half
        if self.log:  # a log-normal cell at 0 starts at the smallest positive float
            lower = np.maximum(lower, np.finfo(float).tiny)
        return self.to_unit(lower), self.to_unit(values + half)


@dataclass(frozen=True)
class CategoricalColumn:
    """A categorical parameter: ``n_choices`` options with prior ``weights``."""

    n_choices: int
    weights: np.ndarray


def _bounded(dist: _Numeric) -> NumericColumn:
    half = 0.5 * dist.step if dist.step is not None else 0.0
    lo, hi = dist.low - half, dist.high + half
    t = np.log if dist.log else float
    return NumericColumn(
        log=dist.log,
        t_low=float(t(lo)),
        t_high=float(t(hi)),
        low=dist.low,
        high=dist.high,
        step=dist.step,
        anchor=dist.low,
        integer=isinstance(dist.step, int),
    )


def _normal(dist: Normal) -> NumericColumn:
    t_low, t_high = dist.mu - _NORMAL_SPAN * dist.sigma, dist.mu + _NORMAL_SPAN * dist.sigma
    low, high = (np.exp(t_low), np.exp(t_high)) if dist.log else (t_low, t_high)
    return NumericColumn(dist.log, t_low, t_high, float(low), float(high), dist.step, 0.0, False)


def _scipy(dist: _ScipyDistribution, path: tuple) -> NumericColumn:
    low, high = (float(b) for b in dist.dist.support())
    if not (np.isfinite(low) and np.isfinite(high)):
        raise SpaceError(
            f"{format_path(path)}: TPESampler needs bounded parameters, and {dist._describe()} "
            f"has support [{low}, {high}]; use Float(low, high) / Int(low, high), or RandomSampler"
        )
    name = getattr(getattr(dist.dist, "dist", None), "name", "")
    log = name in ("loguniform", "reciprocal")
    half = 0.5 if dist.discrete else 0.0
    t = np.log if log else float
    return NumericColumn(
        log, float(t(low - half)), float(t(high + half)), low, high,
        1.0 if dist.discrete else None, low, dist.discrete,
    )


def _column(param: Param) -> NumericColumn | CategoricalColumn:
    dist: Distribution = param.distribution
    if isinstance(dist, Categorical):
        n = len(dist.choices)
        weights = np.full(n, 1.0 / n) if dist.weights is None else np.asarray(dist.weights)
        return CategoricalColumn(n, weights)
    if isinstance(dist, _Numeric):
        return _bounded(dist)
    if isinstance(dist, Normal):
        return _normal(dist)
    if isinstance(dist, _ScipyDistribution):
        return _scipy(dist, param.path)
    raise SpaceError(f"{format_path(param.path)}: TPESampler cannot model {dist!r}")


def columns_of(space: SearchSpace) -> list[NumericColumn | CategoricalColumn]:
    """The TPE view of every column of ``space``, in column order."""
    return [_column(p) for p in space.params]
