"""How TPE sees each column of the encoded history.

Numeric parameters are modelled on the *unit scale*: the value is mapped by
``log`` (for ``log=True``) and then affinely onto ``[0, 1]``. For a
parameter on a step grid (an Int, a stepped Float) the unit interval spans
the grid's cells, from half a step below ``low`` to half a step above
``high``, and a value stands for its whole cell.

A parameter on a grid of at most ``FEW_CELLS`` cells keeps the unit-scale
edges of all its cells: TPE then evaluates it like a categorical whose
kernel probabilities are the Gaussian kernel's exact masses on the cells.

A :class:`Normal` prior is modelled on ``mu +- 5 sigma`` (of ``log(value)``
for ``log=True``); with a step, on the grid points of that range, like a
stepped Float. The grid of a stepped log-normal may hold 0 (hyperopt's
``qlognormal`` rounds small values to 0): on the log scale 0 stands for
``step / 4``, so that its cell ends at ``step / 2``, where rounding goes
from 0 to ``step``.

Categorical parameters are modelled by their option index.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from tpe_core._distributions import (
    Categorical,
    Distribution,
    Normal,
    _Numeric,
    round_to_step,
)
from tpe_core._space import (
    Param,
    SearchSpace,
    SpaceError,
    _ScipyDistribution,
    format_path,
)

__all__ = ["CategoricalColumn", "NumericColumn", "UnitMap", "columns_of"]

_TINY = np.finfo(float).tiny

# A Normal prior is modelled on mu +- this many sigmas (of log(value) for log=True).
_NORMAL_SPAN = 5.0

# Grids of at most this many cells are modelled by the masses of all their cells.
FEW_CELLS = 64


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
    edges : ndarray or None
        Unit-scale edges of all the grid's cells, from 0 to 1, for a grid of
        at most ``FEW_CELLS`` cells; None otherwise.
    floor : float
        On a log scale, values below it are taken as it (0 of a stepped
        log-normal as ``step / 4``).
    """

    log: bool
    t_low: float
    t_high: float
    low: float
    high: float
    step: float | None
    anchor: float
    integer: bool
    edges: np.ndarray | None = None
    floor: float = _TINY

    def to_unit(self, values: np.ndarray) -> np.ndarray:
        t = np.log(np.maximum(values, self.floor)) if self.log else values
        return (t - self.t_low) / (self.t_high - self.t_low)

    def cells(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Unit-scale bounds of the grid cells of ``values`` (step grids only).

        On a linear scale a cell is ``value +- step / 2``. On a log scale
        its edges are the geometric means with the neighbouring grid values
        (an end cell mirrors its inner half), so that the cells tile the
        unit interval. Values below ``floor`` count as ``floor``.
        """
        assert self.step is not None
        if not self.log:
            half = 0.5 * self.step
            return self.to_unit(values - half), self.to_unit(values + half)
        step, floor = self.step, self.floor
        v = np.maximum(values, floor)
        lower, upper = values - step, values + step
        below = np.where(lower >= self.low, np.maximum(lower, floor), v * v / np.maximum(upper, floor))
        inner = np.where((lower > 0) | (lower >= self.low), np.maximum(lower, floor), v)  # the mirror of an end cell
        above = np.where(upper <= self.high, upper, v * v / inner)
        return self.to_unit(np.sqrt(v * below)), self.to_unit(np.sqrt(v * above))

    def cell_index(self, values: np.ndarray) -> np.ndarray:
        """Index of the cell of each grid value (columns with ``edges`` only)."""
        assert self.edges is not None
        inner = self.edges[1:-1]
        return inner.searchsorted(self.to_unit(values))


@dataclass(frozen=True)
class CategoricalColumn:
    """A categorical parameter: the prior ``weights`` of its options."""

    weights: np.ndarray


@dataclass(frozen=True)
class UnitMap:
    """The unit-scale maps of several numeric columns, applied to all at once.

    Build it with :meth:`of`; arrays are shaped (rows, columns).
    ``stepped`` marks the columns on a step grid; ``anchor`` and ``step``
    are those columns' grids; ``floor`` is each column's ``floor``.
    """

    log: np.ndarray
    floor: np.ndarray
    t_low: np.ndarray
    t_span: np.ndarray
    low: np.ndarray
    high: np.ndarray
    stepped: np.ndarray
    anchor: np.ndarray
    step: np.ndarray

    @classmethod
    def of(cls, columns: list[NumericColumn]) -> UnitMap:
        def field(name: str, among: list[NumericColumn] = columns) -> np.ndarray:
            return np.array([getattr(c, name) for c in among], dtype=float)

        stepped = [c for c in columns if c.step is not None]
        return cls(
            log=np.array([c.log for c in columns], dtype=bool),
            floor=field("floor"),
            t_low=field("t_low"),
            t_span=field("t_high") - field("t_low"),
            low=field("low"),
            high=field("high"),
            stepped=np.array([c.step is not None for c in columns], dtype=bool),
            anchor=field("anchor", stepped),
            step=field("step", stepped),
        )

    def to_unit(self, values: np.ndarray) -> np.ndarray:
        """Unit-scale positions of ``values`` (NaN stays NaN); as
        :meth:`NumericColumn.to_unit` column by column."""
        t = values.copy()
        t[:, self.log] = np.log(np.maximum(values[:, self.log], self.floor[self.log]))
        return (t - self.t_low) / self.t_span

    def values(self, z: np.ndarray) -> np.ndarray:
        """Values of unit-scale points (clipped to ``[0, 1]``), on their grids
        and inside the bounds: the inverse of :meth:`to_unit` on grid values."""
        values = self.t_low + np.minimum(np.maximum(z, 0.0), 1.0) * self.t_span
        values[:, self.log] = np.exp(values[:, self.log])
        if len(self.step):
            values[:, self.stepped] = round_to_step(values[:, self.stepped], self.anchor, self.step)
        return np.minimum(np.maximum(values, self.low), self.high)  # integer columns: integer grids


def _grid_span(
    low: float, high: float, step: float | None, log: bool, floor: float = _TINY
) -> tuple[float, float]:
    """Transformed values of the outer edges of the end cells (see ``cells``)."""
    if step is None:
        return (np.log(low), np.log(high)) if log else (low, high)
    if not log:
        return low - 0.5 * step, high + 0.5 * step
    low, high = max(low, floor), max(high, floor)
    return (
        np.log(low) - 0.5 * np.log(max(low + step, floor) / low),
        np.log(high) + 0.5 * np.log(high / max(high - step, floor)),
    )


def _with_edges(column: NumericColumn) -> NumericColumn:
    """``column`` with the edges of its cells when its grid has few cells."""
    if column.step is None:
        return column
    n_cells = round((column.high - column.anchor) / column.step) + 1
    if n_cells > FEW_CELLS:
        return column
    values = round_to_step(column.anchor + column.step * np.arange(n_cells), column.anchor, column.step)
    low, high = column.cells(values)
    edges = np.append(low, high[-1])
    edges[0], edges[-1] = 0.0, 1.0  # exactly, whatever the rounding
    return replace(column, edges=edges)


def _bounded(dist: _Numeric) -> NumericColumn:
    t_low, t_high = _grid_span(dist.low, dist.high, dist.step, dist.log)
    column = NumericColumn(
        log=dist.log,
        t_low=float(t_low),
        t_high=float(t_high),
        low=dist.low,
        high=dist.high,
        step=dist.step,
        anchor=dist.low,
        integer=isinstance(dist.step, int),
    )
    return _with_edges(column)


def _normal(dist: Normal) -> NumericColumn:
    t_low, t_high = dist.mu - _NORMAL_SPAN * dist.sigma, dist.mu + _NORMAL_SPAN * dist.sigma
    low, high = (np.exp(t_low), np.exp(t_high)) if dist.log else (t_low, t_high)
    if dist.step is None:
        return NumericColumn(dist.log, t_low, t_high, float(low), float(high), None, 0.0, False)
    return _stepped_normal(dist, low, high, dist.step)


def _stepped_normal(dist: Normal, low: float, high: float, step: float) -> NumericColumn:
    """A stepped Normal as a stepped Float on the grid points (multiples of
    ``step``, 0 included) nearest to ``[low, high]``."""
    low, high = (float(v) for v in round_to_step(np.array([low, high]), 0.0, step) + 0.0)
    floor = 0.25 * step if dist.log else _TINY
    t_low, t_high = _grid_span(low, high, step, dist.log, floor)
    column = NumericColumn(dist.log, float(t_low), float(t_high), low, high, step, low, False, floor=floor)
    return _with_edges(column)


def _scipy(dist: _ScipyDistribution, path: tuple) -> NumericColumn:
    low, high = (float(b) for b in dist.dist.support())
    if not (np.isfinite(low) and np.isfinite(high)):
        raise SpaceError(
            f"{format_path(path)}: TPESampler needs bounded parameters, and {dist._describe()} "
            f"has support [{low}, {high}]; use Float(low, high) / Int(low, high), or RandomSampler "
            "(TPESearchCV: sampler='random')"
        )
    name = getattr(getattr(dist.dist, "dist", None), "name", "")
    log = name in ("loguniform", "reciprocal")
    step = 1.0 if dist.discrete else None
    t_low, t_high = _grid_span(low, high, step, log)
    return _with_edges(NumericColumn(log, float(t_low), float(t_high), low, high, step, low, dist.discrete))


def _column(param: Param) -> NumericColumn | CategoricalColumn:
    dist: Distribution = param.distribution
    if isinstance(dist, Categorical):
        n = len(dist.choices)
        weights = np.full(n, 1.0 / n) if dist.weights is None else np.asarray(dist.weights)
        return CategoricalColumn(weights)
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
