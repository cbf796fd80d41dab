"""Grid search over the study's own space."""

from __future__ import annotations

import math

import numpy as np

from tpe_core._history import History, row_keys
from tpe_core._samplers._base import BaseSampler, SamplerExhausted
from tpe_core._space import Param, SearchSpace, SpaceError, format_path
from tpe_core._validation import check_bool, check_int

__all__ = ["GridSampler", "grid_size"]

# A grid larger than this is almost surely a mistake (an unstepped Int over a
# huge range); it would also not fit in memory.
_MAX_GRID_POINTS = 10_000_000


def _product(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Every row of ``left`` combined with every row of ``right``.

    Both are encoded rows of the same width whose set columns are disjoint
    (NaN elsewhere); the result has ``len(left) * len(right)`` rows, ``left``
    varying slowest.
    """
    a = np.repeat(left, len(right), axis=0)
    b = np.tile(right, (len(left), 1))
    return np.where(np.isnan(a), b, a)


def _scopes(space: SearchSpace) -> dict[tuple[int | None, int | None], list[int]]:
    """The columns of each scope: ``(parent, branch)`` to the parameters active under that branch."""
    children: dict[tuple[int | None, int | None], list[int]] = {}
    for j, p in enumerate(space.params):
        children.setdefault((p.parent, p.branch), []).append(j)
    return children


def _column_values(p: Param, n_points: int | None) -> np.ndarray:
    try:
        return p.distribution._grid(n_points)
    except ValueError as e:
        raise SpaceError(f"{format_path(p.path)}: {e}") from e


def _column_size(p: Param, n_points: int | None) -> int:
    try:
        return p.distribution._grid_size(n_points)
    except ValueError as e:
        raise SpaceError(f"{format_path(p.path)}: {e}") from e


def grid_size(space: SearchSpace, n_points: int | None = None) -> int:
    """How many points :func:`enumerate_grid` gives, counted without making them (a grid too large to make
    has a size too)."""
    children = _scopes(space)

    def scope_size(columns: list[int]) -> int:
        return math.prod(column_size(j, space.params[j]) for j in columns)

    def column_size(j: int, p: Param) -> int:
        if not p.conditional:
            return _column_size(p, n_points)
        n_branches = _column_size(p, n_points)
        return sum(scope_size(children.get((j, b), [])) for b in range(n_branches))

    return scope_size(children.get((None, None), []))


def enumerate_grid(space: SearchSpace, n_points: int | None) -> np.ndarray:
    """All grid points of a space, encoded.

    A conditional Categorical contributes, for each option, the grid of that
    branch's own parameters; parameters of other branches stay NaN.

    Returns
    -------
    ndarray of shape (n_points_total, n_params)
    """
    if grid_size(space, n_points) > _MAX_GRID_POINTS:
        raise SpaceError(
            f"the grid has more than {_MAX_GRID_POINTS:,} points; give Floats and Ints "
            "a coarser step, use fewer n_points, or use random or TPE search"
        )
    children = _scopes(space)

    def scope_grid(columns: list[int]) -> np.ndarray:
        grid = np.full((1, len(space)), np.nan)
        for j in columns:
            grid = _product(grid, column_grid(j, space.params[j]))
        return grid

    def column_grid(j: int, p: Param) -> np.ndarray:
        values = _column_values(p, n_points)
        if not p.conditional:
            block = np.full((len(values), len(space)), np.nan)
            block[:, j] = values
            return block
        blocks = []
        for b in range(len(values)):
            block = scope_grid(children.get((j, b), []))
            block[:, j] = b
            blocks.append(block)
        return np.vstack(blocks)

    return scope_grid(children.get((None, None), []))


class _Visits:
    """Grid points and which of them some trial of a history already has (kept up to date as it grows)."""

    def __init__(self, points: np.ndarray) -> None:
        self.points = points
        self.index = {k: i for i, k in enumerate(row_keys(points))}
        self._history: History | None = None
        self._n_seen = 0
        self._visited = np.zeros(len(points), dtype=bool)

    def visited(self, history: History) -> np.ndarray:
        if self._history is not history or self._n_seen > len(history):
            self._history, self._n_seen, self._visited = history, 0, np.zeros(len(self.points), dtype=bool)
        for key in row_keys(history.rows[self._n_seen:]):
            if key in self.index:
                self._visited[self.index[key]] = True
        self._n_seen = len(history)
        return self._visited


class GridSampler(BaseSampler):
    """Visits every point of the study's space exactly once.

    The grid holds every option of a Categorical, every value of an Int on
    its step, every value of a stepped Float, and ``n_points`` values of an
    unstepped Float (log-spaced when ``log=True``). A conditional Categorical
    expands only its chosen branch's parameters. Once every point has been
    asked, :meth:`Study.optimize` stops. With values held
    (``optimize(fixed=...)``, ``ask(fixed=...)``), it visits once each point
    of the grid of the other parameters, and ``optimize`` stops when those
    are done.

    Parameters
    ----------
    n_points : int, optional
        Number of values of each unstepped Float. Without it, a space with
        an unstepped Float is an error.
    shuffle : bool, default=False
        Visit the points in a random order (set by ``seed``) instead of the
        natural one (first parameter varying slowest).
    seed : int, optional
        Seed of the shuffled order.

    Examples
    --------
    >>> from tpe_core import Categorical, Int, Study
    >>> study = Study({"a": Int(1, 3), "b": Categorical(["x", "y"])}, sampler=GridSampler())
    >>> study.optimize(lambda c: c["a"])
    >>> len(study.trials)
    6
    """

    def __init__(
        self, n_points: int | None = None, shuffle: bool = False, seed: int | None = None
    ) -> None:
        super().__init__(seed)
        self.n_points = check_int("n_points", n_points, minimum=1, allow_none=True)
        self.shuffle = check_bool("shuffle", shuffle)
        self._state: tuple[SearchSpace, _Visits] | None = None
        self._held: tuple[bytes, _Visits] | None = None  # the grid with the last given values held

    def grid(self, space: SearchSpace) -> np.ndarray:
        """The grid points of ``space`` in visiting order, encoded.

        Returns
        -------
        ndarray of shape (n_grid_points, n_params)
        """
        return self._visits(space, None).points

    def _visits(self, space: SearchSpace, given: np.ndarray | None) -> _Visits:
        """The grid of ``space``, or with the ``given`` values held: each grid point
        with them put in, once, where they agree with its branches."""
        if self._state is None or self._state[0] is not space:
            points = enumerate_grid(space, self.n_points)
            if self.shuffle:
                points = points[np.random.default_rng(self._entropy).permutation(len(points))]
            self._state, self._held = (space, _Visits(points)), None
        full = self._state[1]
        if given is None or np.isnan(given).all():
            return full
        key = row_keys(given[None])[0]
        if self._held is None or self._held[0] != key:
            held = np.where(np.isnan(given), full.points, given)
            held = held[(np.isnan(held) == ~space.active_mask(held)).all(axis=1)]
            _, first = np.unique(np.where(np.isnan(held), np.inf, held + 0.0), axis=0, return_index=True)
            self._held = (key, _Visits(held[np.sort(first)]))
        return self._held[1]

    def is_exhausted(self, space: SearchSpace, history: History, given: np.ndarray | None = None) -> bool:
        return bool(self._visits(space, given).visited(history).all())

    def n_left(self, space: SearchSpace, history: History) -> int:
        """How many points of the grid no trial has visited yet."""
        return int((~self._visits(space, None).visited(history)).sum())

    def sample(self, space: SearchSpace, history: History, number: int) -> np.ndarray:
        return self._next(self._visits(space, None), history)

    def sample_given(self, space: SearchSpace, history: History, number: int, given: np.ndarray) -> np.ndarray:
        return self._next(self._visits(space, given), history)

    @staticmethod
    def _next(visits: _Visits, history: History) -> np.ndarray:
        free = np.flatnonzero(~visits.visited(history))
        if not free.size:
            raise SamplerExhausted(f"all {len(visits.points)} grid points have been asked; the grid is exhausted")
        return visits.points[free[0]].copy()

    def __repr__(self) -> str:
        return f"GridSampler(n_points={self.n_points!r}, shuffle={self.shuffle!r}, seed={self.seed!r})"
