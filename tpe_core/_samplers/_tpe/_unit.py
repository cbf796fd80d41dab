"""The history as TPE reads it: on the unit scale, each numeric column kept
sorted, and the complete trials kept in loss order.

All are grown in place as trials are added, so an ask never re-encodes or
re-sorts the history: it appends the new rows and inserts each into every
column's sorted order (several new rows at once: a stable sort of an
almost sorted array), and inserts each newly complete trial by its loss.

:class:`BandwidthMemo` keeps a group's members sorted in each column and
their bandwidths from one ask to the next: a trial or two join or leave
the bad group between asks, and only the bandwidths of their neighbours
change. :class:`KernelMemo` keeps each trial's kernel terms, so only the
kernels whose bandwidths changed are computed again (their CDF evaluations
are the costly part of a fit).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tpe_core._history import STATE_CODES, History, grown
from tpe_core._samplers._tpe._columns import CategoricalColumn, NumericColumn, UnitMap
from tpe_core._samplers._tpe._parzen import PRIOR_MU, PRIOR_SIGMA, KernelSpec, ParzenMixtures, kernel_terms

__all__ = ["BandwidthMemo", "KernelMemo", "LossOrder", "UnitHistory"]

# More trials than this completed since the last look are sorted together
# rather than inserted one by one.
_INSERT_AT_MOST = 8

# Members that changed by more trials than this since the last update are
# sorted again rather than inserted and deleted in place.
_UPDATE_AT_MOST = 4

# Fewer members than this share of the history are sorted by their values,
# more are picked out of the whole history's sorted order.
_SORT_MEMBERS_BELOW = 0.125


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
        self._numeric = np.array([j for j, c in enumerate(columns) if isinstance(c, NumericColumn)], dtype=np.intp)
        self._unit_map = UnitMap.of([columns[j] for j in self._numeric])  # type: ignore[misc]
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
        self._rows[done:n] = self.history.rows[done:n]  # categorical columns stay option indices
        self._rows[done:n, self._numeric] = self._unit_map.to_unit(self._rows[done:n, self._numeric])
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
                at = values[j, :done].searchsorted(value, side="right")
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

    def sorted_members(self, trials: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The values of ``trials`` in each of ``cols``, sorted (ties by trial number).

        Parameters
        ----------
        trials : ndarray of int (m,)
            Distinct trial numbers, all active in ``cols``.
        cols : ndarray of int (d,)
            Numeric columns.

        Returns
        -------
        values : ndarray (d, m)
            Each column's values in ascending order.
        ids : ndarray of int (d, m)
            The trial of each of them.
        """
        m, d = len(trials), len(cols)
        if m < _SORT_MEMBERS_BELOW * self._n:
            # Few members: sorting them is cheaper than a pass over the
            # whole history's order.
            ids = np.sort(trials)
            values = self._rows[ids][:, cols].T
            by_value = values.argsort(axis=1, kind="stable")  # ties by trial number
            return np.take_along_axis(values, by_value, axis=1), ids[by_value]
        member = np.zeros(self._n, dtype=bool)
        member[trials] = True
        kept = member[self._order[cols, : self._n]]
        return self._sorted[cols, : self._n][kept].reshape(d, m), self._order[cols, : self._n][kept].reshape(d, m)


def _gaps_at(padded: np.ndarray, at: np.ndarray, m: int, consider_endpoints: bool) -> np.ndarray:
    """The larger gap to its neighbours of the value at sorted position ``at``
    (d, k) of each row of ``padded`` (each row's ``m`` sorted values between
    a 0 and a 1): shape (d, k).

    The ends of ``[0, 1]`` count as the neighbours of the smallest and the
    largest value when ``consider_endpoints`` is true, or when there is a
    single value; otherwise those two take their one inner gap.
    """
    col = np.arange(len(padded))[:, None]
    value = padded[col, at + 1]
    left, right = value - padded[col, at], padded[col, at + 2] - value
    if not consider_endpoints and m >= 2:
        left[at == 0], right[at == m - 1] = 0.0, 0.0
    return np.maximum(left, right)


def _position(values: np.ndarray, ids: np.ndarray, value: float, trial: int) -> int:
    """Where ``value`` of ``trial`` goes in ``values``, sorted with ties by
    trial number (``ids``): after the smaller values and after the equal
    ones of smaller trials."""
    low = int(values.searchsorted(value))
    if low == len(values) or values[low] != value:
        return low
    return low + int(ids[low : int(values.searchsorted(value, side="right"))].searchsorted(trial))


class BandwidthMemo:
    """Kernel bandwidths of a set of trials that changes little from one ask
    to the next (a group of TPE's split), by the neighbour-gap rule.

    A kernel's bandwidth is the larger gap to its neighbours among the
    members (hyperopt's rule, see :func:`_gaps_at`), clipped to
    ``[floor, 1]`` with ``floor = max(min_bandwidth, 1 / min(100, m + 2))``
    for ``m`` members (hyperopt's "magic clip"). Each column's members are
    kept sorted: a trial that joins or leaves is inserted or deleted in
    place, and only the gaps beside it are computed again.

    Parameters
    ----------
    unit : UnitHistory
    cols : ndarray of int (d,)
        Numeric columns.
    min_bandwidth : float
    consider_endpoints : bool
    """

    def __init__(self, unit: UnitHistory, cols: np.ndarray, min_bandwidth: float, consider_endpoints: bool) -> None:
        self.unit = unit
        self.cols = cols
        self.min_bandwidth = min_bandwidth
        self.consider_endpoints = consider_endpoints
        d = len(cols)
        self._floor = np.nan
        self._member = np.zeros(0, dtype=bool)  # by trial number
        self._m = 0
        # Each column's members' values sorted, between a 0 and a 1 (room
        # for more after them), and the trial of each.
        self._padded = np.zeros((d, 2))
        self._ids = np.empty((d, 0), dtype=np.intp)
        self._gaps = np.empty((0, d))  # by trial number; current in the members' rows

    def update(self, trials: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Make ``trials`` (distinct, active in every column) the members.

        Returns
        -------
        changed : ndarray of int
            The members whose bandwidths may have changed since the last
            update: every new member, and every one if the floor moved.
        sigma : ndarray (len(changed), d)
            Their bandwidths.
        """
        if not len(self.cols):
            return trials, np.empty((len(trials), 0))
        n = len(self.unit.rows)
        if n > len(self._member):
            length = max(2 * len(self._member), n)
            self._member, self._gaps = grown(self._member, length), grown(self._gaps, length)
        member = np.zeros(len(self._member), dtype=bool)
        member[trials] = True
        added = trials[~self._member[trials]]
        removed = np.flatnonzero(self._member & ~member)
        self._member = member
        if len(added) + len(removed) > _UPDATE_AT_MOST or min(self._m - len(removed), len(trials)) < 2:
            self._rebuild(trials)
            changed = trials
        elif len(added) + len(removed):
            touched = [self._delete(t) for t in removed.tolist()] + [self._insert(t) for t in added.tolist()]
            changed = np.unique(np.concatenate(touched))
            changed = changed[member[changed]]  # not deleted after being touched
        else:
            changed = added  # none
        floor = max(self.min_bandwidth, 1.0 / min(100, len(trials) + 2))
        if floor != self._floor:
            self._floor, changed = floor, trials
        return changed, np.minimum(np.maximum(self._gaps[changed], floor), 1.0)

    def _rebuild(self, trials: np.ndarray) -> None:
        values, ids = self.unit.sorted_members(trials, self.cols)
        (d, m), room = values.shape, max(2 * len(trials), 8)
        self._m = m
        self._padded = np.empty((d, room + 2))
        self._padded[:, 0], self._padded[:, 1 : m + 1], self._padded[:, m + 1] = 0.0, values, 1.0
        self._ids = np.empty((d, room), dtype=np.intp)
        self._ids[:, :m] = ids
        # A flat put: faster than two-dimensional fancy indexing.
        gaps = _gaps_at(self._padded, np.broadcast_to(np.arange(m), (d, m)), m, self.consider_endpoints)
        self._gaps.put(ids * d + np.arange(d)[:, None], gaps)

    def _insert(self, trial: int) -> np.ndarray:
        """Insert ``trial`` in every column's order; the trials whose gaps changed."""
        m, d = self._m, len(self.cols)
        if m + 1 > self._ids.shape[1]:
            self._ids, self._padded = grown(self._ids, 2 * m, axis=1), grown(self._padded, 2 * m + 2, axis=1)
        at = np.empty(d, dtype=np.intp)
        for j, value in enumerate(self.unit.rows[trial, self.cols].tolist()):
            k = _position(self._padded[j, 1 : m + 1], self._ids[j, :m], value, trial)
            self._padded[j, k + 2 : m + 3] = self._padded[j, k + 1 : m + 2]
            self._ids[j, k + 1 : m + 1] = self._ids[j, k:m]
            self._padded[j, k + 1], self._ids[j, k], at[j] = value, trial, k
        self._m = m + 1
        return self._regap(at[:, None] + np.array([-1, 0, 1]))

    def _delete(self, trial: int) -> np.ndarray:
        """Delete ``trial`` from every column's order; the trials whose gaps changed."""
        m = self._m
        at = (self._ids[:, :m] == trial).argmax(axis=1)
        for j, k in enumerate(at.tolist()):
            self._padded[j, k + 1 : m + 1] = self._padded[j, k + 2 : m + 2]
            self._ids[j, k : m - 1] = self._ids[j, k + 1 : m]
        self._m = m - 1
        return self._regap(at[:, None] + np.array([-1, 0]))

    def _regap(self, at: np.ndarray) -> np.ndarray:
        """Compute again the gaps at sorted positions ``at`` (d, k), each
        clipped into ``0 .. m-1``; the trials there."""
        m = self._m
        at = np.minimum(np.maximum(at, 0), m - 1)
        col = np.arange(len(at))[:, None]
        trials = self._ids[col, at]
        self._gaps[trials, col] = _gaps_at(self._padded, at, m, self.consider_endpoints)
        return trials.ravel()


class LossOrder:
    """The COMPLETE trials of a :class:`History` by loss, ties by trial
    number, kept in order as trials finish.

    Each call of :meth:`update` takes in the trials finished since the last
    one (``History.finished``) and inserts the complete ones where they
    belong, so an ask costs no sort of the whole history.

    Parameters
    ----------
    history : History

    Attributes
    ----------
    only_complete : bool
        Whether every finished trial taken in so far is COMPLETE or failed
        by raising (none PRUNED, none diverged).
    """

    def __init__(self, history: History) -> None:
        self.history = history
        self.only_complete = True
        self._taken = 0  # of ``history.finished``
        self._trials = np.empty(0, dtype=np.intp)
        self._losses = np.empty(0)

    def update(self) -> np.ndarray:
        """The complete trials from best to worst (do not modify)."""
        finished = self.history.finished[self._taken :]
        self._taken += len(finished)
        states = self.history.states[finished]
        if self.only_complete:
            other = (states == STATE_CODES["PRUNED"]) | self.history.diverged[finished]
            self.only_complete = not other.any()
        new = finished[states == STATE_CODES["COMPLETE"]]
        losses = self.history.losses[new]
        trials, sorted_losses = self._trials, self._losses
        if len(new) > _INSERT_AT_MOST:
            trials, sorted_losses = np.append(trials, new), np.append(sorted_losses, losses)
            order = np.lexsort((trials, sorted_losses))
            trials, sorted_losses = trials[order], sorted_losses[order]
        else:
            for trial, loss in zip(new.tolist(), losses.tolist()):
                at = _position(sorted_losses, trials, loss, trial)
                trials = np.concatenate((trials[:at], [trial], trials[at:]))
                sorted_losses = np.concatenate((sorted_losses[:at], [loss], sorted_losses[at:]))
        self._trials, self._losses = trials, sorted_losses
        return trials


class KernelMemo:
    """Every kernel of one group, one slot per trial, kept from one fit to the next.

    A kernel's terms (see ``kernel_terms``) depend on its trial's row and
    its bandwidths only; they are computed again only for the trials whose
    bandwidths changed since. Slot 0 holds the prior kernel; trial ``t`` is
    slot ``t + 1``. The estimators of a fit are mixtures over these slots
    (:meth:`mixtures`), so a fit copies no kernel.

    Parameters
    ----------
    spec : KernelSpec
        The group's kernels.
    """

    def __init__(self, spec: KernelSpec) -> None:
        coef, const = spec.prior_terms
        d = spec.n_quadratic + len(spec.grid_edges)
        self.spec = spec
        self._known = np.ones(1, dtype=bool)
        self._mu = np.full((1, d), PRIOR_MU)
        self._sigma = np.full((1, d), PRIOR_SIGMA)
        self._coef = coef.copy()
        self._const = const.copy()

    def _reserve(self, n_slots: int) -> None:
        """Room for ``n_slots`` slots; new ones hold a placeholder kernel
        (finite, never computed, weighed by no mixture)."""
        old = len(self._known)
        if n_slots <= old:
            return
        length = max(2 * old, n_slots)
        for name in ("_known", "_mu", "_sigma", "_coef", "_const"):
            setattr(self, name, grown(getattr(self, name), length))
        self._mu[old:], self._sigma[old:] = PRIOR_MU, PRIOR_SIGMA

    def update(
        self,
        trials: np.ndarray,
        sigma: np.ndarray,
        rows: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
    ) -> None:
        """Give the kernels of ``trials`` the bandwidths ``sigma``.

        Parameters
        ----------
        trials : ndarray of int (m,)
            Distinct trial numbers.
        sigma : ndarray (m, n_numeric)
            Their bandwidths now.
        rows : callable
            Maps trial numbers to their centres ``mu`` (n, n_numeric) and
            option indices ``choices`` (n, n_categorical); called only for
            the kernels whose terms must be computed.
        """
        slots = trials + 1
        self._reserve(int(slots.max()) + 1 if len(slots) else 0)
        changed = ~self._known[slots]
        # Rows with a changed bandwidth, from the few changed entries (a
        # reduction along each short row would cost more).
        changed[np.flatnonzero(self._sigma.take(slots, axis=0) != sigma) // sigma.shape[1]] = True
        if changed.any():
            stale, sigma = slots[changed], sigma[changed]
            mu, choices = rows(trials[changed])
            self._coef[stale], self._const[stale] = kernel_terms(mu, sigma, choices, self.spec)
            self._mu[stale], self._sigma[stale] = mu, sigma
            self._known[stale] = True

    def mixtures(self, weights: np.ndarray) -> ParzenMixtures:
        """Mixtures of the kernels, with ``weights`` of shape (S, slots)
        (column 0 for the prior); a slot weighed in some mixture must have
        been given its bandwidths by :meth:`update`."""
        n = weights.shape[1]
        self._reserve(n)
        return ParzenMixtures.from_kernels(
            self._mu[:n], self._sigma[:n], (self._coef[:n], self._const[:n]), weights, self.spec
        )
