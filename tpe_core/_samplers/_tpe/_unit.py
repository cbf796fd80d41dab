"""The history as TPE reads it: on the unit scale, each numeric column kept sorted.

Both are grown in place as trials are added, so an ask never re-encodes or
re-sorts the history: it appends the new rows and inserts each into every
column's sorted order (several new rows at once: a stable sort of an
almost sorted array).

:class:`KernelMemo` keeps each trial's kernel terms from one ask to the
next: most kernels keep their bandwidths, so only the few that changed are
computed again (their CDF evaluations are the costly part of a fit).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tpe_core._history import History, grown
from tpe_core._samplers._tpe._columns import CategoricalColumn, NumericColumn
from tpe_core._samplers._tpe._parzen import PRIOR_SIGMA, KernelSpec

__all__ = ["KernelMemo", "UnitHistory"]


class UnitHistory:
    """The rows of a :class:`History` on the unit scale, with sorted columns.

    Parameters
    ----------
    history : History
        The encoded history it follows; only rows appended to it later are
        read again.
    columns : list of NumericColumn or CategoricalColumn
        How each column is seen (see ``columns_of``).

    Attributes
    ----------
    rows : ndarray (n, n_params)
        Numeric columns on the unit scale, categorical ones as option
        indices, NaN where a parameter is inactive.
    order : ndarray of int (n_params, n)
        For each numeric column, the trials sorted by their value there
        (ties by trial number, inactive trials last); unused rows for
        categorical columns.
    """

    def __init__(self, history: History, columns: list[NumericColumn | CategoricalColumn]) -> None:
        self.history = history
        self.columns = columns
        self._numeric = np.array([j for j, c in enumerate(columns) if isinstance(c, NumericColumn)], dtype=np.intp)
        self._rows = np.empty((8, len(columns)))
        self._order = np.empty((len(columns), 0), dtype=np.intp)
        self._sorted = np.empty((len(columns), 0))  # the values in that order
        self._n = 0

    @property
    def rows(self) -> np.ndarray:
        return self._rows[: self._n]

    @property
    def order(self) -> np.ndarray:
        return self._order[:, : self._n]

    def update(self) -> None:
        """Take in the rows added to the history since the last update."""
        done, n = self._n, len(self.history)
        if n == done:
            return
        if n > len(self._rows):
            self._rows = grown(self._rows, max(2 * len(self._rows), n))
        new = self.history.rows[done:n]
        for j, col in enumerate(self.columns):
            self._rows[done:n, j] = col.to_unit(new[:, j]) if isinstance(col, NumericColumn) else new[:, j]
        self._n = n
        self._merge(done, n)

    def _merge(self, done: int, n: int) -> None:
        """Extend every numeric column's sorted order (and sorted values) by
        trials ``done .. n-1``."""
        if n > self._order.shape[1]:
            length = max(2 * self._order.shape[1], n, 8)
            self._order, self._sorted = grown(self._order, length, axis=1), grown(self._sorted, length, axis=1)
        order, values = self._order, self._sorted
        if n - done == 1:
            # One new trial (the usual case): it goes after every value not
            # above its own (NaN, inactive, sorts last), ties by trial number.
            for j in self._numeric:
                value = self._rows[done, j]
                at = np.searchsorted(values[j, :done], value, side="right")
                order[j, at + 1 : n], values[j, at + 1 : n] = order[j, at:done], values[j, at:done]
                order[j, at], values[j, at] = done, value
            return
        # The old trials are sorted and the new ones come last with the
        # largest numbers: a stable sort keeps ties in trial order.
        num = self._numeric
        order[num, done:n] = np.arange(done, n)
        values[num, done:n] = self._rows[done:n, num].T
        perm = np.argsort(values[num, :n], axis=1, kind="stable")
        order[num, :n] = np.take_along_axis(order[num, :n], perm, axis=1)
        values[num, :n] = np.take_along_axis(values[num, :n], perm, axis=1)

    def neighbour_gaps(self, trials: np.ndarray, cols: np.ndarray, *, consider_endpoints: bool) -> np.ndarray:
        """Per kernel and column, the larger gap to its neighbours among ``trials``
        (hyperopt's bandwidth rule).

        The ends of ``[0, 1]`` count as the neighbours of the smallest and the
        largest value when ``consider_endpoints`` is true, or when there is a
        single trial; otherwise those two take their one inner gap.

        Parameters
        ----------
        trials : ndarray of int (m,)
            Distinct trial numbers, all active in ``cols``.
        cols : ndarray of int (d,)
            Numeric columns.

        Returns
        -------
        ndarray (m, d)
            Row ``i`` belongs to ``trials[i]``.
        """
        m, d = len(trials), len(cols)
        member = np.zeros(self._n, dtype=bool)
        member[trials] = True
        order = self._order[cols, : self._n]
        kept = member[order]
        ranked = order[kept].reshape(d, m)  # each column's members, sorted
        padded = np.empty((d, m + 2))
        padded[:, 0], padded[:, -1] = 0.0, 1.0
        padded[:, 1:-1] = self._sorted[cols, : self._n][kept].reshape(d, m)
        left, right = padded[:, 1:-1] - padded[:, :-2], padded[:, 2:] - padded[:, 1:-1]
        if not consider_endpoints and m >= 2:
            left[:, 0], right[:, -1] = 0.0, 0.0
        position = np.empty(self._n, dtype=np.intp)
        position[trials] = np.arange(m)
        gaps = np.empty((d, m))  # a flat put: faster than two-dimensional fancy indexing
        gaps.put(position[ranked] + m * np.arange(d)[:, None], np.maximum(left, right))
        return gaps.T


class KernelMemo:
    """The kernel terms of each trial in one group, kept from one fit to the next.

    A kernel's terms (see ``kernel_terms``) depend on its trial's row and
    its bandwidths only; they are computed again only for the trials whose
    bandwidths changed since. Slot 0 holds the prior kernel; trial ``t`` is
    slot ``t + 1``.

    Parameters
    ----------
    spec : KernelSpec
        The group's kernels.
    """

    def __init__(self, spec: KernelSpec) -> None:
        coef, const = spec.prior_terms
        d = spec.n_quadratic + len(spec.grid_edges)
        self._known = np.ones(1, dtype=bool)
        self._sigma = np.full((1, d), PRIOR_SIGMA)
        self._coef = coef.copy()
        self._const = const.copy()

    def terms(
        self,
        slots: np.ndarray,
        sigma: np.ndarray,
        compute: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
    ) -> tuple[np.ndarray, np.ndarray]:
        """The terms ``(coef, const)`` of the kernels in ``slots`` with bandwidths ``sigma``.

        Parameters
        ----------
        slots : ndarray of int (m,)
            Kernels: 0 for the prior, ``t + 1`` for trial ``t``; a trial at
            most once.
        sigma : ndarray (m, n_numeric)
            Their bandwidths now.
        compute : callable
            Maps a boolean mask over ``slots`` (never selecting the prior) to
            the terms of those kernels.
        """
        if slots.max() >= len(self._known):
            length = 2 * int(slots.max()) + 2
            for name in ("_known", "_sigma", "_coef", "_const"):
                setattr(self, name, grown(getattr(self, name), length))
        changed = ~self._known[slots] | (self._sigma.take(slots, axis=0) != sigma).any(axis=1)
        if changed.any():
            stale = slots[changed]
            self._coef[stale], self._const[stale] = compute(changed)
            self._sigma[stale] = sigma[changed]
            self._known[stale] = True
        return self._coef.take(slots, axis=0), self._const.take(slots)
