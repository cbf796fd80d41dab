"""The Tree-structured Parzen Estimator sampler."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from tpe_core._history import STATE_CODES, History, canonical, row_keys
from tpe_core._samplers._base import BaseSampler
from tpe_core._samplers._grid import enumerate_grid, grid_size
from tpe_core._samplers._random import sample_prior
from tpe_core._samplers._tpe._columns import (
    CategoricalColumn,
    NumericColumn,
    UnitMap,
    columns_of,
)
from tpe_core._samplers._tpe._parzen import (
    KernelSpec,
    ParzenMixtures,
    encode_candidates,
)
from tpe_core._samplers._tpe._unit import BandwidthMemo, KernelMemo, LossOrder, UnitHistory
from tpe_core._space import SearchSpace, SpaceError
from tpe_core._validation import check_bool, check_int

__all__ = ["TPESampler", "default_gamma"]

# Observations beyond this many (newest first) get linearly decaying weights
# (hyperopt's "linear forgetting").
_FORGET_AFTER = 25

# Least improvement weight of a good trial (see TPESampler._improvement).
_IMPROVEMENT_FLOOR = 1e-3


#: Draws from the prior among which TPE looks for a configuration not asked
#: yet, when its proposal was asked before.
_UNASKED_DRAWS = 64
#: Largest finite space whose grid is searched for a point not asked yet
#: when those draws all were.
_UNASKED_GRID_POINTS = 100_000


def _unasked_grid_point(space: SearchSpace, asked_keys: set[bytes], rng: np.random.Generator) -> np.ndarray | None:
    """A point of a finite space's grid not asked yet, drawn uniformly
    (where draws from the prior keep missing the last few); None when every
    point was asked, or the space is not finite or has more than
    ``_UNASKED_GRID_POINTS`` points."""
    try:
        if grid_size(space) > _UNASKED_GRID_POINTS:
            return None
        points = enumerate_grid(space, None)
    except SpaceError:  # a parameter with no grid (an unstepped Float, a scipy.stats leaf)
        return None
    unasked = np.flatnonzero([key not in asked_keys for key in row_keys(points)])
    return points[rng.choice(unasked)] if len(unasked) else None


def default_gamma(n: int) -> int:
    """Size of the good group among ``n`` ranked trials: ``min(ceil(0.1 n), 25)``."""
    return min(math.ceil(0.1 * n), 25)


def forgetting_weights(n: int) -> np.ndarray:
    """Weights of ``n`` observations in trial order, oldest first.

    The newest 25 weigh 1; older ones ramp linearly from ``1 / n`` up.
    """
    weights = np.ones(n)
    if n > _FORGET_AFTER:  # the oldest ramp from 1 / n up to 1 in equal steps
        ramp = n - _FORGET_AFTER
        weights[:ramp] = 1.0 / n + np.arange(ramp) * ((1.0 - 1.0 / n) / max(ramp - 1, 1))
    return weights


def _weights_by_age(trials: np.ndarray, n_trials: int) -> np.ndarray:
    """:func:`forgetting_weights` of distinct ``trials`` (numbers below
    ``n_trials``), given in any order."""
    if len(trials) <= _FORGET_AFTER:
        return np.ones(len(trials))
    member = np.zeros(n_trials, dtype=bool)
    member[trials] = True
    age = np.cumsum(member)[trials] - 1  # 0 for the oldest
    return forgetting_weights(len(trials))[age]


@dataclass(frozen=True)
class _Group:
    """Columns modelled jointly: continuous, stepped, few-cell (grids with
    ``edges``), then categorical.

    ``branches_only`` marks a group made only of branch choices (conditional
    Categoricals).
    """

    continuous: np.ndarray
    stepped: np.ndarray
    grid: np.ndarray
    categorical: np.ndarray
    branches_only: bool
    spec: KernelSpec
    numeric_map: UnitMap

    @functools.cached_property
    def numeric(self) -> np.ndarray:
        return np.concatenate([self.continuous, self.stepped, self.grid])


@dataclass(frozen=True)
class _Layout:
    """How a space is sampled: its scopes, their groups, their branches."""

    columns: list[NumericColumn | CategoricalColumn]
    scopes: dict[tuple[int | None, int | None], list[_Group]]
    first_column: dict[tuple[int | None, int | None], int]
    branch_columns: dict[tuple[int | None, int | None], list[int]]


def _make_group(
    cols: list[int],
    columns: list[NumericColumn | CategoricalColumn],
    branch_columns: set[int],
    categorical_smoothing: float,
) -> _Group:
    def pick(test: Callable[[NumericColumn | CategoricalColumn], bool]) -> np.ndarray:
        return np.array([c for c in cols if test(columns[c])], dtype=np.intp)

    continuous = pick(lambda col: isinstance(col, NumericColumn) and col.step is None)
    stepped = pick(lambda col: isinstance(col, NumericColumn) and col.step is not None and col.edges is None)
    grid = pick(lambda col: isinstance(col, NumericColumn) and col.edges is not None)
    categorical = pick(lambda col: isinstance(col, CategoricalColumn))
    spec = KernelSpec(
        n_continuous=len(continuous),
        n_stepped=len(stepped),
        grid_edges=tuple(columns[c].edges for c in grid),  # type: ignore[union-attr]
        prior_choice_weights=tuple(columns[c].weights for c in categorical),  # type: ignore[union-attr]
        categorical_smoothing=categorical_smoothing,
    )
    return _Group(
        continuous,
        stepped,
        grid,
        categorical,
        all(c in branch_columns for c in cols),
        spec,
        UnitMap.of([columns[c] for c in np.concatenate([continuous, stepped, grid])]),  # type: ignore[misc]
    )


def _make_layout(space: SearchSpace, multivariate: bool, categorical_smoothing: float) -> _Layout:
    columns = columns_of(space)
    members: dict[tuple[int | None, int | None], list[int]] = {}
    for j, p in enumerate(space.params):
        members.setdefault((p.parent, p.branch), []).append(j)
    branches = {j for j, p in enumerate(space.params) if p.conditional}
    scopes = {
        key: [_make_group(cols, columns, branches, categorical_smoothing)]
        if multivariate
        else [_make_group([c], columns, branches, categorical_smoothing) for c in cols]
        for key, cols in members.items()
    }
    branch_columns = {key: [j for j in cols if j in branches] for key, cols in members.items()}
    first_column = {key: cols[0] for key, cols in members.items()}
    return _Layout(columns, scopes, first_column, branch_columns)


class TPESampler(BaseSampler):
    """Tree-structured Parzen Estimator (Bergstra et al., 2011).

    Ranks the finished trials, splits them into a good group (the best
    ``gamma(n)``) and a bad group, fits a Parzen estimator ``l(x)`` to the
    good and ``g(x)`` to the bad, draws ``n_ei_candidates`` candidates from
    ``l`` and proposes the one with the largest ``log l(x) - log g(x)``.

    Parameters
    ----------
    seed : int, optional
        Seed; the proposal of trial ``n`` depends only on ``(seed, n)`` and
        the history.
    n_startup_trials : int, default=10
        Random trials before TPE starts.
    n_ei_candidates : int, default=24
        Candidates drawn from ``l(x)`` per proposal.
    gamma : float or callable, optional
        Size of the good group: a callable ``n -> int``, or a fraction of
        ``n`` (rounded up). Default: ``min(ceil(0.1 * n), 25)``.
    multivariate : bool, default=True
        Model the parameters of a scope jointly (product kernels), rather
        than each on its own.
    prior_weight : float, default=1.0
        Weight of the prior kernel relative to one observation.
    constant_liar : bool, default=True
        Count running trials as bad, so that parallel asks spread out.
    min_bandwidth : float, default=0.01
        Floor of the bandwidth on the unit scale; it is also never below
        ``1 / min(100, n + 2)`` (hyperopt's "magic clip"). A kernel's
        bandwidth is otherwise the larger gap to its neighbours.
    categorical_smoothing : float, default=3.0
        Mass each categorical kernel spreads over all options, relative to
        the 1 it puts on the observed one.
    consider_endpoints : bool, default=False
        Count the ends of the range as neighbours of the outermost kernels.
    good_weights : {"improvement", "uniform"}, default="improvement"
        Weights of the good trials in ``l(x)``: by how much each improves on
        the best bad trial, relative to the best good one (so the best
        weighs 1 and one at the threshold almost 0; Watanabe, 2023), or all
        equal. Branch choices are always sampled with equal weights.
    min_trials_at_step : int or None, default=None
        In a study with PRUNED trials and fewer than this many COMPLETE
        ones, rank the finished trials by the value they reported at the
        deepest step that at least this many of them reached (BOHB's rule,
        Falkner et al., 2018; 10 is a usual choice), instead of the few
        COMPLETE trials first. ``None`` always ranks COMPLETE trials first.
        On the digits-MLP pruning benchmark (40 seeds, four pruners) 10
        neither helped nor hurt measurably.

    Notes
    -----
    A proposal that repeats a configuration already asked (which happens
    where every parameter takes few values) is replaced by the first of
    64 draws from the prior that was not asked yet, or where those all were,
    by a point of the space's grid not asked yet, drawn uniformly (in a
    space of at most 100,000 points): a finite space is visited once each
    before any point repeats.

    Ranking: COMPLETE trials by value; then PRUNED trials, further along
    first (by last reported step, then value); then FAIL trials whose
    objective returned NaN or inf (a diverged training), which so teach TPE
    to avoid that region. Trials that raised are ignored.

    Under a pruner, most trials stop early and the few that went to the end
    make the whole good group, however few they are. With
    ``min_trials_at_step`` set, while fewer than that many trials are
    COMPLETE, the trials (COMPLETE or PRUNED) that reported a value at the
    deepest step reached by at least that many come first instead, by that
    value; the others follow in the order above. The good group's improvement weights are then taken
    from the values at that step.

    Conditional spaces: the parameters of each branch are modelled only on
    the trials where that branch was chosen, split into good and bad among
    those trials; the branch choice itself is a categorical parameter of its
    parent scope, and a scope made only of branch choices is sampled from
    ``l(x)`` (one candidate) instead of by the argmax of ``l/g``.
    """

    def __init__(
        self,
        seed: int | None = None,
        *,
        n_startup_trials: int = 10,
        n_ei_candidates: int = 24,
        gamma: float | Callable[[int], int] | None = None,
        multivariate: bool = True,
        prior_weight: float = 1.0,
        constant_liar: bool = True,
        min_bandwidth: float = 0.01,
        categorical_smoothing: float = 3.0,
        consider_endpoints: bool = False,
        good_weights: str = "improvement",
        min_trials_at_step: int | None = None,
    ) -> None:
        super().__init__(seed)
        check_int("n_startup_trials", n_startup_trials, minimum=0)
        check_int("n_ei_candidates", n_ei_candidates, minimum=1)
        min_trials_at_step = check_int("min_trials_at_step", min_trials_at_step, minimum=1, allow_none=True)
        if gamma is not None and not callable(gamma) and not (
            isinstance(gamma, (int, float)) and not isinstance(gamma, bool) and 0 < gamma <= 1
        ):
            raise ValueError(f"gamma must be a fraction in (0, 1] or a callable n -> int, got gamma={gamma!r}")
        for name, value in (
            ("prior_weight", prior_weight),
            ("min_bandwidth", min_bandwidth),
        ):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < math.inf:
                raise ValueError(f"{name} must be a positive number, got {name}={value!r}")
        if good_weights not in ("improvement", "uniform"):
            raise ValueError(f"good_weights must be 'improvement' or 'uniform', got good_weights={good_weights!r}")
        if not 0 <= categorical_smoothing < math.inf:
            raise ValueError(
                f"categorical_smoothing must be >= 0, got categorical_smoothing={categorical_smoothing!r}"
            )
        self.n_startup_trials = int(n_startup_trials)
        self.n_ei_candidates = int(n_ei_candidates)
        self.gamma = gamma
        self.multivariate = check_bool("multivariate", multivariate)
        self.prior_weight = float(prior_weight)
        self.constant_liar = check_bool("constant_liar", constant_liar)
        self.min_bandwidth = float(min_bandwidth)
        self.categorical_smoothing = float(categorical_smoothing)
        self.consider_endpoints = check_bool("consider_endpoints", consider_endpoints)
        self.good_weights = good_weights
        self.min_trials_at_step = min_trials_at_step
        self._layout_cache: tuple[SearchSpace, _Layout] | None = None
        self._unit: UnitHistory | None = None
        self._loss_order: LossOrder | None = None
        self._memos: dict[tuple[tuple[int | None, int | None], int], tuple[KernelMemo, tuple[BandwidthMemo, ...]]] = {}

    def check_space(self, space: SearchSpace) -> None:
        """Refuse an unbounded scipy.stats leaf (TPE models bounded parameters) before any trial."""
        self._layout(space)

    # ------------------------------------------------------------ caches
    def _layout(self, space: SearchSpace) -> _Layout:
        if self._layout_cache is None or self._layout_cache[0] is not space:
            self._layout_cache = (space, _make_layout(space, self.multivariate, self.categorical_smoothing))
            self._unit = None
        return self._layout_cache[1]

    def _unit_history(self, history: History, layout: _Layout) -> UnitHistory:
        """The history on the unit scale, grown in place as trials are added."""
        if self._unit is None or self._unit.history is not history:
            self._unit = UnitHistory(history, layout.columns)
            self._memos = {}
        self._unit.update()
        return self._unit

    # ------------------------------------------------------------ split
    def _n_good(self, n: int) -> int:
        if self.gamma is None:
            k = default_gamma(n)
        elif callable(self.gamma):
            k = int(self.gamma(n))
        else:
            k = math.ceil(self.gamma * n)
        return min(max(k, 1), n)

    def _rank(self, history: History) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Finished trials from best to worst, the running trials, and the loss
        each trial was ranked by (one per trial; NaN for trials ranked below
        those with a loss, and for running ones).

        COMPLETE trials come first by loss, then PRUNED ones with a value
        (further along first, then by loss), then PRUNED ones without (their
        last report was NaN, or they reported nothing), then FAIL trials
        whose objective diverged (returned NaN or inf). Trials that raised are left out. With fewer
        than ``min_trials_at_step`` COMPLETE trials, those ranked at a step
        (:meth:`_ranked_at_step`) go before all others, by their loss there.
        """
        if self._loss_order is None or self._loss_order.history is not history:
            self._loss_order = LossOrder(history)
        ranked = self._loss_order.update()
        states = history.states
        running = np.flatnonzero(states == STATE_CODES["RUNNING"])
        if self._loss_order.only_complete:  # only COMPLETE trials have a value
            return ranked, running, history.losses
        n_complete = len(ranked)
        final = np.where(states == STATE_CODES["COMPLETE"], history.losses, np.nan)
        pruned = np.flatnonzero(states == STATE_CODES["PRUNED"])
        diverged = np.flatnonzero((states == STATE_CODES["FAIL"]) & history.diverged)
        no_value = np.isnan(history.losses[pruned])  # pruned at a NaN report (diverging), or before any
        loss = np.nan_to_num(history.losses[pruned], nan=np.inf)
        pruned = pruned[np.lexsort((loss, np.nan_to_num(-history.steps[pruned], nan=0.0), no_value))]
        ranked = np.concatenate([ranked, pruned, diverged])
        if self.min_trials_at_step is None or n_complete >= self.min_trials_at_step or not len(pruned):
            return ranked, running, final
        top, top_loss = self._ranked_at_step(history, self.min_trials_at_step)
        if not len(top):
            return ranked, running, final
        at_step = np.full(len(states), np.nan)
        at_step[top] = top_loss
        return np.concatenate([top, ranked[~np.isin(ranked, top)]]), running, at_step

    @staticmethod
    def _ranked_at_step(history: History, n_min: int) -> tuple[np.ndarray, np.ndarray]:
        """The COMPLETE and PRUNED trials that reported a value at the deepest
        step that at least ``n_min`` of them reported, by their loss there
        (ties by trial number; a NaN value last), and those losses; empty
        when no step was reported by that many."""
        trials, steps, values = history.reports
        states = history.states[trials]
        counted = (states == STATE_CODES["COMPLETE"]) | (states == STATE_CODES["PRUNED"])
        trials, steps, values = trials[counted], steps[counted], values[counted]
        reported, counts = np.unique(steps, return_counts=True)
        deep = reported[counts >= n_min]
        if not len(deep):
            return np.empty(0, dtype=np.intp), np.empty(0)
        at = steps == deep[-1]
        trials, values = trials[at], values[at]
        loss = values if history.direction == "minimize" else -values
        order = np.lexsort((trials, np.nan_to_num(loss, nan=np.inf)))
        return trials[order], loss[order]

    def _split(
        self, ranked: np.ndarray, running: np.ndarray, active: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Good and bad trials among those where a scope is ``active`` (a mask
        over all trials), and their weights by age.

        The split is made within the scope, so that the parameters of a
        branch are tuned on the trials of that branch, however that branch
        compares with the others. Under the constant liar the running trials
        join the bad group.
        """
        ranked = ranked[active[ranked]]
        n_good = self._n_good(len(ranked)) if len(ranked) else 0
        good, bad = ranked[:n_good], ranked[n_good:]
        if self.constant_liar:
            bad = np.concatenate([bad, running[active[running]]])
        n = len(active)
        return good, _weights_by_age(good, n), bad, _weights_by_age(bad, n)

    def _improvement(self, loss: np.ndarray, good: np.ndarray, bad: np.ndarray) -> np.ndarray:
        """Weights of the good trials by how far each improves on the bad
        group: ``(threshold - loss) / (threshold - best loss)``, where the
        threshold is the best bad loss (Watanabe, 2023, "EI" weighting), with
        ``loss`` the losses the trials were ranked by (see :meth:`_rank`).

        All 1 when ``good_weights="uniform"``, or when a good trial has no
        such loss (a trial ranked below those that have one: pruned and
        diverged trials under the stock ranking).
        """
        ones = np.ones(len(good))
        if self.good_weights == "uniform" or len(good) < 2 or np.isnan(loss[good]).any():
            return ones
        threshold = loss[good].max()
        if len(bad) and not np.isnan(loss[bad[0]]):
            threshold = loss[bad[0]]
        loss = loss[good]
        lowest = loss.min()
        if not (np.isfinite(threshold) and np.isfinite(lowest)) or threshold <= lowest:
            return ones  # no span to weigh by (a loss of inf, reported to a maximizing study as -inf, say)
        span = threshold - lowest
        # The floor keeps a good trial at the threshold in l(x), if barely.
        return np.maximum((threshold - loss) / span, _IMPROVEMENT_FLOOR)

    # ------------------------------------------------------------ sampling
    def sample(self, space: SearchSpace, history: History, number: int) -> np.ndarray:
        rng = self._rng(number)
        row = self._tpe(space, history, rng)
        asked = canonical(history.rows)
        if not len(space) or not (asked == canonical(row)).all(axis=1).any():
            return row
        # Asked before (where every parameter takes few values): an unasked configuration teaches more.
        asked_keys = set(row_keys(history.rows))
        draws = sample_prior(space, rng, _UNASKED_DRAWS)
        unasked = next((draw for draw, key in zip(draws, row_keys(draws)) if key not in asked_keys), None)
        if unasked is None:
            unasked = _unasked_grid_point(space, asked_keys, rng)
        return row if unasked is None else unasked

    def _tpe(self, space: SearchSpace, history: History, rng: np.random.Generator) -> np.ndarray:
        """TPE's proposal (a draw from the prior during the startup trials)."""
        ranked, running, rank_loss = self._rank(history)
        if len(ranked) < max(self.n_startup_trials, 1) or not len(space):
            return sample_prior(space, rng, 1)[0]
        layout = self._layout(space)
        unit = self._unit_history(history, layout)
        row = np.full(len(space), np.nan)
        pending: list[tuple[int | None, int | None]] = [(None, None)]
        while pending:
            key = pending.pop()
            active = ~np.isnan(unit.rows[:, layout.first_column[key]])
            good, good_w, bad, bad_w = self._split(ranked, running, active)
            improvement = self._improvement(rank_loss, good, bad)
            for i, group in enumerate(layout.scopes[key]):
                memos = self._memos.get((key, i))
                if memos is None:  # kernels; bandwidths of the good, and of the bad group
                    bandwidths = tuple(
                        BandwidthMemo(unit, group.numeric, self.min_bandwidth, self.consider_endpoints)
                        for _ in range(2)
                    )
                    memos = self._memos[key, i] = (KernelMemo(group.spec), bandwidths)
                # Branch choices keep uniform weights: weighting them by
                # improvement locks onto the branch that did well first.
                l_w = good_w if group.branches_only else good_w * improvement
                estimators = self._fit(unit, group, *memos, (good, l_w), (bad, bad_w))
                self._propose(layout, group, estimators, rng, row)
            for j in layout.branch_columns[key]:
                child = (j, int(row[j]))
                if child in layout.scopes:
                    pending.append(child)
        return row

    def _fit(
        self,
        unit: UnitHistory,
        group: _Group,
        memo: KernelMemo,
        bandwidths: tuple[BandwidthMemo, ...],
        *parts: tuple[np.ndarray, np.ndarray],
    ) -> ParzenMixtures:
        """The Parzen estimators of ``group``, one mixture per ``(trials, weights)``
        part, each of its trials' kernels and the prior kernel.

        A kernel's bandwidths come from the neighbours among its part's
        trials, kept by that part's entry of ``bandwidths``; every kernel
        lives in ``memo``, one per trial. Only the kernels whose bandwidths
        changed are computed again (at once), and the estimators are
        evaluated together with one matrix product.
        """
        updates = [memo_of_part.update(t) for memo_of_part, (t, _) in zip(bandwidths, parts)]
        memo.update(
            np.concatenate([changed for changed, _ in updates]),
            np.vstack([sigma for _, sigma in updates]),
            lambda t: self._centres(unit, group, t),
        )
        weights = np.zeros((len(parts), len(unit.rows) + 1))
        weights[:, 0] = self.prior_weight
        for mixture, (t, w) in enumerate(parts):
            weights[mixture, t + 1] = w
        return memo.mixtures(weights)

    @staticmethod
    def _centres(unit: UnitHistory, group: _Group, trials: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Kernel centres (numeric columns) and observed options of ``trials``."""
        rows = unit.rows[trials]
        return rows[:, group.numeric], rows[:, group.categorical].astype(np.intp)

    def _propose(
        self,
        layout: _Layout,
        group: _Group,
        estimators: ParzenMixtures,
        rng: np.random.Generator,
        row: np.ndarray,
    ) -> None:
        """Draw candidates from ``l``, keep the best ``log l - log g``, write it into ``row``.

        A group made only of branch choices draws one candidate: the branch
        is sampled from ``l``. Its few options would all be among the
        candidates, and the argmax would then choose the same branch at
        every ask, locking onto the first branch that did well before the
        others' parameters have been tuned at all.
        """
        n_candidates = 1 if group.branches_only else self.n_ei_candidates
        z, choices = estimators.sample(rng, n_candidates, mixture=0)
        n_cont, n_step = len(group.continuous), len(group.stepped)
        values = group.numeric_map.values(z)
        cell_low = np.empty((len(z), n_step))
        cell_high = np.empty_like(cell_low)
        for i, c in enumerate(group.stepped):
            column = layout.columns[c]
            z[:, n_cont + i] = column.to_unit(values[:, n_cont + i])  # type: ignore[union-attr]
            cell_low[:, i], cell_high[:, i] = column.cells(values[:, n_cont + i])  # type: ignore[union-attr]
        q, n_grid = n_cont + n_step, len(group.grid)
        indices = np.empty((len(z), n_grid + choices.shape[1]), dtype=np.intp)  # grid cells, then options
        for i, c in enumerate(group.grid):
            indices[:, i] = layout.columns[c].cell_index(values[:, q + i])  # type: ignore[union-attr]
        indices[:, n_grid:] = choices
        candidates = encode_candidates(z[:, :q], cell_low, cell_high, indices, group.spec)
        log_l, log_g = estimators.log_pdf(candidates)
        score = log_l - log_g
        best = int(np.argmax(score))
        row[group.numeric] = values[best]
        row[group.categorical] = choices[best]

    def __repr__(self) -> str:
        return (
            f"TPESampler(seed={self.seed!r}, n_startup_trials={self.n_startup_trials}, "
            f"n_ei_candidates={self.n_ei_candidates}, multivariate={self.multivariate})"
        )

