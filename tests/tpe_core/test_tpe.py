"""TPESampler: validity, determinism, search quality, parallel asks, divergence."""

from __future__ import annotations

import functools
import math
import re
import warnings
from unittest import mock

import numpy as np
import pytest
import scipy.special
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.tpe_core.oracle import check_trial, params_key
from tests.tpe_core.strategies import search_spaces
from tpe_core import (
    STATUS_OK,
    Categorical,
    Float,
    Int,
    Normal,
    RandomSampler,
    SpaceError,
    SQLiteStorage,
    Study,
    TPESampler,
    Trials,
    TrialState,
    fmin,
    hp,
    load_study,
    rand,
    space_eval,
    tpe,
)
from tpe_core._distributions import round_to_step
from tpe_core._history import STATE_CODES, History
from tpe_core._samplers._tpe import _unit
from tpe_core._samplers._tpe._columns import NumericColumn, UnitMap, columns_of
from tpe_core._samplers._tpe._parzen import (
    _NEGLIGIBLE,
    KernelSpec,
    ParzenMixtures,
    _log_mixture_sums,
    encode_candidates,
    kernel_terms,
)
from tpe_core._samplers._tpe._unit import BandwidthMemo, KernelMemo, LossOrder, UnitHistory
from tpe_core._space import SearchSpace

seeds = st.integers(0, 2**32 - 1)


def pseudo_objective(config: object) -> float:
    """A deterministic, arbitrary loss of a configuration."""
    return (hash(repr(config)) % 1000) / 1000.0


def branin(c: dict) -> float:
    x1, x2 = c["x1"], c["x2"]
    b, cc, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return (x2 - b * x1**2 + cc * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10


BRANIN_SPACE = {"x1": Float(-5.0, 10.0), "x2": Float(0.0, 15.0)}
QUADRATIC_SPACE = {"x": Float(-5.0, 5.0), "y": Float(-5.0, 5.0)}


def quadratic(c: dict) -> float:
    return (c["x"] - 1.0) ** 2 + (c["y"] + 2.0) ** 2


def best_after(space: dict, objective, sampler, n_trials: int) -> float:
    study = Study(space, sampler=sampler)
    study.optimize(objective, n_trials=n_trials)
    return study.best_value


# ---------------------------------------------------------------- validity
@given(space=search_spaces(max_grid=5000, max_int_points=40), seed=seeds)
def test_tpe_proposals_are_valid_after_startup(space, seed) -> None:
    study = Study(space, sampler=TPESampler(seed=seed, n_startup_trials=3))
    study.optimize(pseudo_objective, n_trials=12)
    assert all(t.state is TrialState.COMPLETE for t in study.trials)
    for trial in study.trials[3:]:
        check_trial(study, trial)


@given(space=search_spaces(max_grid=5000, max_int_points=40), seed=seeds)
def test_same_seed_and_history_give_the_same_proposal(space, seed) -> None:
    runs = []
    for _ in range(2):
        study = Study(space, sampler=TPESampler(seed=seed, n_startup_trials=3))
        study.optimize(pseudo_objective, n_trials=8)
        runs.append([params_key(t.params) for t in study.trials])
    assert runs[0] == runs[1]


@settings(max_examples=30)
@given(space=search_spaces(max_grid=5000, max_int_points=40), seed=seeds)
def test_unit_maps_of_many_columns_match_each_column(space, seed) -> None:
    """UnitMap, which maps all numeric columns at once, agrees with each
    column's own map to the unit scale, and maps unit-scale points back to
    the nearest grid value inside the bounds."""
    columns = [c for c in columns_of(SearchSpace(space)) if isinstance(c, NumericColumn)]
    rng = np.random.default_rng(seed)
    values = np.column_stack([rng.uniform(c.low, c.high, 6) for c in columns]) if columns else np.empty((6, 0))
    unit_map = UnitMap.of(columns)
    expected = np.column_stack([c.to_unit(values[:, i]) for i, c in enumerate(columns)]) if columns else values
    np.testing.assert_array_equal(unit_map.to_unit(values), expected)
    z = rng.uniform(-0.1, 1.1, (6, len(columns)))  # outside [0, 1] too: clipped
    got = unit_map.values(z)
    for i, c in enumerate(columns):
        for value, point in zip(got[:, i], z[:, i]):
            t = c.t_low + min(max(point, 0.0), 1.0) * (c.t_high - c.t_low)
            expected = math.exp(t) if c.log else t
            if c.step is not None:
                expected = c.anchor + round((expected - c.anchor) / c.step) * c.step
            expected = min(max(expected, c.low), c.high)
            assert value == pytest.approx(round(expected) if c.integer else expected, rel=1e-11, abs=1e-12)
            assert not c.integer or value == round(value)


@settings(max_examples=30)
@given(space=search_spaces(max_grid=5000, max_int_points=80), seed=seeds)
def test_a_warm_sampler_proposes_what_a_fresh_one_does(space, seed) -> None:
    """What the sampler keeps between asks (sorted columns, kernel terms) changes
    no proposal: a resumed study proposes what an uninterrupted one would."""
    study = Study(space, sampler=TPESampler(seed=seed, n_startup_trials=3))
    study.optimize(pseudo_objective, n_trials=25)
    n = len(study.trials)
    warm = study.sampler.sample(study.search_space, study._history, n)
    fresh = TPESampler(seed=seed, n_startup_trials=3).sample(study.search_space, study._history, n)
    np.testing.assert_array_equal(warm, fresh)


@settings(max_examples=20)
@given(
    space=search_spaces(max_grid=5000, max_int_points=80),
    seed=seeds,
    min_trials_at_step=st.sampled_from([None, 3]),
    data=st.data(),
)
def test_a_warm_sampler_proposes_what_a_fresh_one_does_with_pruned_trials(
    space, seed, min_trials_at_step, data: st.DataObject
) -> None:
    """With PRUNED trials, whose rank moves as deeper or complete ones come,
    the kept state still changes no proposal, after every finished trial."""
    make = functools.partial(TPESampler, seed=seed, n_startup_trials=3, min_trials_at_step=min_trials_at_step)
    study = Study(space, sampler=make())
    for _ in range(15):
        trial = study.ask()
        curve = data.draw(st.lists(st.floats(0.0, 1.0), min_size=1, max_size=5), label="curve")
        for step, value in enumerate(curve, start=1):
            trial.report(value, step)
        study.tell(trial, TrialState.PRUNED if data.draw(st.booleans(), label="pruned") else curve[-1])
        n = len(study.trials)
        warm = study.sampler.sample(study.search_space, study._history, n)
        np.testing.assert_array_equal(warm, make().sample(study.search_space, study._history, n))


def test_proposal_depends_only_on_seed_number_and_history() -> None:
    """Asking twice with the same history gives the same row: no hidden state."""
    study = Study(QUADRATIC_SPACE, sampler=TPESampler(seed=3, n_startup_trials=5))
    study.optimize(quadratic, n_trials=15)
    sampler = TPESampler(seed=3, n_startup_trials=5)
    first = sampler.sample(study.search_space, study._history, 15)
    again = TPESampler(seed=3, n_startup_trials=5).sample(study.search_space, study._history, 15)
    np.testing.assert_array_equal(first, again)
    other = TPESampler(seed=4, n_startup_trials=5).sample(study.search_space, study._history, 15)
    assert not np.array_equal(first, other)


def test_conditional_branch_parameters_stay_in_their_branch() -> None:
    space = {
        "model": Categorical(
            [
                {"kind": "a", "u": Float(0.0, 1.0), "k": Int(1, 9, step=2)},
                {"kind": "b", "v": Float(1e-3, 1.0, log=True), "act": Categorical(["x", "y"])},
            ]
        )
    }

    def objective(c: dict) -> float:
        m = c["model"]
        return m["u"] + m["k"] if m["kind"] == "a" else -math.log10(m["v"])

    # branch "a" reaches 1.0 at best, branch "b" 0.0 at v = 1: TPE tunes "b" and
    # samples it more often, while still visiting "a" (branches are sampled from l).
    in_b = n_after_startup = 0
    for seed in range(3):
        study = Study(space, sampler=TPESampler(seed=seed, n_startup_trials=5))
        study.optimize(objective, n_trials=40)
        for trial in study.trials:
            check_trial(study, trial)
        assert study.best_params["model"] == 1 and study.best_value < 0.05
        in_b += sum(t.params["model"] == 1 for t in study.trials[5:])
        n_after_startup += len(study.trials) - 5
    assert in_b > n_after_startup / 2


# ---------------------------------------------------------------- quality
@pytest.mark.parametrize(
    ("space", "objective"), [(QUADRATIC_SPACE, quadratic), (BRANIN_SPACE, branin)], ids=["quadratic", "branin"]
)
def test_tpe_beats_random_search_on_most_seeds(space, objective) -> None:
    wins = sum(
        best_after(space, objective, TPESampler(seed=s), 60)
        < best_after(space, objective, RandomSampler(seed=s), 60)
        for s in range(10)
    )
    assert wins >= 8


def test_tpe_gets_close_to_the_optimum_of_a_quadratic() -> None:
    bests = [best_after(QUADRATIC_SPACE, quadratic, TPESampler(seed=s), 60) for s in range(10)]
    assert np.median(bests) < 0.05


def test_maximize_is_minimize_of_the_negation() -> None:
    study = Study(QUADRATIC_SPACE, sampler=TPESampler(seed=1), direction="maximize")
    study.optimize(lambda c: -quadratic(c), n_trials=60)
    assert -study.best_value < 0.2


# ---------------------------------------------------------------- parallel asks
def test_constant_liar_spreads_parallel_asks() -> None:
    def spread(liar: bool, seed: int) -> float:
        """Mean distance from each of 8 asks made together to the nearest other one."""
        study = Study(QUADRATIC_SPACE, sampler=TPESampler(seed=seed, constant_liar=liar))
        study.optimize(quadratic, n_trials=30)
        points = np.array([[t.params["x"], t.params["y"]] for t in (study.ask() for _ in range(8))])
        distances = np.linalg.norm(points[:, None] - points[None], axis=-1) + np.diag(np.full(8, np.inf))
        return float(distances.min(axis=1).mean())

    # Each running trial counts as a bad one, so the asks keep away from each other (1.75 against 1.07 here).
    with_liar, without = (np.mean([spread(liar, seed) for seed in range(5)]) for liar in (True, False))
    assert with_liar > 1.3 * without


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_small_finite_space_is_visited_once_each_before_any_point_repeats(seed: int) -> None:
    space = {"act": Categorical(["relu", "tanh", "gelu"]), "layers": Int(1, 3),
             "opt": Categorical([{"opt": "sgd", "nesterov": Categorical([True, False])}, {"opt": "adam"}])}
    study = Study(space, sampler=TPESampler(seed=seed, n_startup_trials=4))
    objective = lambda c: c["layers"] + ["relu", "tanh", "gelu"].index(c["act"]) + (c["opt"]["opt"] == "adam")  # noqa: E731
    study.optimize(objective, n_trials=27)  # 3 x 3 x 3 points: two sgd branches and adam
    assert len({params_key(t.params) for t in study.trials}) == 27
    study.optimize(objective, n_trials=2)  # then TPE's own proposals, repeats included
    assert len(study.trials) == 29


@pytest.mark.parametrize("multivariate", [False, True])
@pytest.mark.parametrize("seed", range(6))
def test_the_last_unasked_points_of_a_finite_space_are_found_where_prior_draws_miss_them(
    seed: int, multivariate: bool
) -> None:
    # 64 draws from a skewed (log) prior often missed the last unasked point, and a point repeated first.
    space = {"a": Int(1, 8, log=True), "b": Int(0, 10, step=5)}
    study = Study(space, sampler=TPESampler(seed=seed, n_startup_trials=2, multivariate=multivariate))
    study.optimize(lambda c: 0.5, n_trials=24)
    assert len({params_key(t.params) for t in study.trials}) == 24


def test_a_proposal_asked_before_in_a_continuous_space_is_not_replaced() -> None:
    # Only a repeat is replaced: in a space of real numbers no proposal repeats, so nothing changes.
    sampler = TPESampler(seed=0, n_startup_trials=3)
    history = History(2)
    for x in ([0.1, 0.2], [0.5, 0.5], [0.9, 0.1], [0.3, 0.7]):
        history.finish(history.append(np.array(x)), "COMPLETE", sum(x))
    space = SearchSpace({"a": Float(0, 1), "b": Float(0, 1)})
    proposal = sampler.sample(space, history, 4)
    assert (sampler._tpe(space, history, sampler._rng(4)) == proposal).all()


def test_without_the_liar_running_trials_do_not_count() -> None:
    history = History(1)
    for value in (3.0, 1.0, 2.0):
        history.finish(history.append(np.array([value])), "COMPLETE", value)
    history.append(np.array([0.5]))  # running
    ranked, running, _ = TPESampler(seed=0)._rank(history)
    active = np.ones(len(history), dtype=bool)
    _, _, bad_liar, _ = TPESampler(seed=0, constant_liar=True)._split(ranked, running, active)
    _, _, bad_plain, _ = TPESampler(seed=0, constant_liar=False)._split(ranked, running, active)
    assert 3 in bad_liar and 3 not in bad_plain


# ---------------------------------------------------------------- failures and pruning
def test_ranking_puts_pruned_after_complete_and_diverged_last() -> None:
    history = History(1)
    rows = iter(np.arange(10.0)[:, None])
    history.finish(history.append(next(rows)), "COMPLETE", 5.0)  # 0
    history.finish(history.append(next(rows)), "FAIL", None, diverged=True)  # 1
    history.finish(history.append(next(rows)), "PRUNED", 0.1, step=2)  # 2
    history.finish(history.append(next(rows)), "PRUNED", 0.5, step=7)  # 3
    history.finish(history.append(next(rows)), "FAIL", None)  # 4: raised, ignored
    history.finish(history.append(next(rows)), "COMPLETE", 1.0)  # 5
    history.finish(history.append(next(rows)), "PRUNED", 0.2, step=7)  # 6
    history.append(next(rows))  # 7: running
    history.finish(history.append(next(rows)), "PRUNED", None, step=9)  # 8: its last report was NaN
    history.finish(history.append(next(rows)), "PRUNED", None)  # 9: pruned before any report
    ranked, running, loss = TPESampler(seed=0)._rank(history)
    assert ranked.tolist() == [5, 0, 6, 3, 2, 8, 9, 1]  # pruned without a value below those with one
    assert running.tolist() == [7]
    np.testing.assert_array_equal(loss, [5.0, np.nan, np.nan, np.nan, np.nan, 1.0, np.nan, np.nan, np.nan, np.nan])


# Two COMPLETE trials (27 steps), four PRUNED at steps 9, 9, 3 and 1, a
# diverged one that reported: (state, value, reports), to maximize.
_REPORTING_TRIALS = [
    ("COMPLETE", 0.90, {1: 0.5, 3: 0.7, 9: 0.80, 27: 0.88}),
    ("COMPLETE", 0.95, {1: 0.6, 3: 0.7, 9: 0.85, 27: 0.95}),
    ("PRUNED", 0.90, {1: 0.7, 3: 0.8, 9: 0.90}),
    ("PRUNED", 0.70, {1: 0.4, 3: 0.6, 9: 0.70}),
    ("PRUNED", 0.50, {1: 0.3, 3: 0.5}),
    ("PRUNED", 0.20, {1: 0.2}),
    ("FAIL", None, {1: 0.99}),
]


def _history_with_reports(direction: str) -> History:
    """``_REPORTING_TRIALS`` then a running trial; values negated to minimize."""
    sign = 1.0 if direction == "maximize" else -1.0
    history = History(1, direction)
    for state, value, reports in _REPORTING_TRIALS:
        index = history.append(np.zeros(1))
        history.finish(
            index,
            state,
            None if value is None else sign * value,
            step=max(reports) if state == "PRUNED" else None,
            diverged=state == "FAIL",
            reports={step: sign * v for step, v in reports.items()},
        )
    history.append(np.zeros(1))
    return history


@pytest.mark.parametrize("direction", ["maximize", "minimize"])
@pytest.mark.parametrize(
    ("min_trials_at_step", "expected", "step"),
    [
        (3, [2, 1, 0, 3, 4, 5, 6], 9),  # four trials reached step 9, two the end
        (5, [2, 0, 1, 3, 4, 5, 6], 3),  # 0 and 1 tie at step 3: by number
        (6, [2, 1, 0, 3, 4, 5, 6], 1),  # the diverged trial does not count
        (7, [1, 0, 2, 3, 4, 5, 6], None),  # no step reached by seven: COMPLETE first
        (2, [1, 0, 2, 3, 4, 5, 6], None),  # two COMPLETE trials are enough
        (None, [1, 0, 2, 3, 4, 5, 6], None),
    ],
)
def test_few_complete_trials_rank_at_the_deepest_step_enough_trials_reached(
    direction: str, min_trials_at_step: int | None, expected: list[int], step: int | None
) -> None:
    sampler = TPESampler(seed=0, min_trials_at_step=min_trials_at_step)
    ranked, running, loss = sampler._rank(_history_with_reports(direction))
    assert ranked.tolist() == expected and running.tolist() == [7]
    if step is None:  # ranked by the final values of the COMPLETE trials
        expected_loss = [-value if state == "COMPLETE" else np.nan for state, value, _ in _REPORTING_TRIALS]
    else:  # by the values at that step of the COMPLETE and PRUNED trials
        expected_loss = [-reports.get(step, np.nan) if state != "FAIL" else np.nan
                         for state, _, reports in _REPORTING_TRIALS]
    np.testing.assert_allclose(loss, [*expected_loss, np.nan])  # the same losses either way


@settings(max_examples=40)
@given(st.data(), st.sampled_from(["minimize", "maximize"]), st.integers(1, 6))
def test_ranking_at_a_step_matches_the_reports(data: st.DataObject, direction: str, n_min: int) -> None:
    """Random studies with reports: the ranking holds the trials of the stock
    one, and those ranked at a step come first, as read from their reports."""
    n = data.draw(st.integers(1, 25))
    history = History(1, direction)
    reports: dict[int, dict[int, float]] = {}
    states: dict[int, str] = {}
    for number in range(n):
        history.append(np.zeros(1))
        state = data.draw(st.sampled_from(["COMPLETE", "PRUNED", "PRUNED", "PRUNED", "FAIL", "DIVERGED", "RUNNING"]))
        steps = data.draw(st.sets(st.integers(0, 5), max_size=4))
        if state == "RUNNING":
            continue
        values = data.draw(st.lists(st.sampled_from([0.0, 1.0, math.nan]) | st.floats(-5, 5), min_size=len(steps),
                                    max_size=len(steps)))
        reports[number], states[number] = dict(zip(sorted(steps), values)), state
        value = data.draw(st.floats(-5, 5))
        history.finish(
            number,
            "FAIL" if state == "DIVERGED" else state,
            None if state in ("FAIL", "DIVERGED") else value,
            step=max(steps, default=0) if state == "PRUNED" else None,
            diverged=state == "DIVERGED",
            reports=reports[number],
        )
    stock, _, _ = TPESampler(seed=0, min_trials_at_step=None)._rank(history)
    ranked, _, rank_loss = TPESampler(seed=0, min_trials_at_step=n_min)._rank(history)
    assert sorted(ranked.tolist()) == sorted(stock.tolist())
    counted = [t for t in reports if states[t] in ("COMPLETE", "PRUNED")]
    deep = [s for s in range(6) if sum(s in reports[t] for t in counted) >= n_min]
    n_complete = sum(state == "COMPLETE" for state in states.values())
    if n_complete >= n_min or "PRUNED" not in states.values() or not deep:
        assert ranked.tolist() == stock.tolist()
        return
    sign = 1.0 if direction == "minimize" else -1.0
    loss = {t: sign * reports[t][deep[-1]] for t in counted if deep[-1] in reports[t]}
    top = sorted(loss, key=lambda t: (math.inf if math.isnan(loss[t]) else loss[t], t))
    assert ranked.tolist() == top + [t for t in stock.tolist() if t not in loss]
    np.testing.assert_array_equal(rank_loss, [loss.get(t, np.nan) for t in range(n)])


def test_a_finished_trial_cannot_finish_again() -> None:
    history = History(1)
    history.finish(history.append(np.zeros(1)), "COMPLETE", 1.0)
    with pytest.raises(ValueError, match="trial 0 has finished already"):
        history.finish(0, "PRUNED", 2.0, step=1)
    with pytest.raises(IndexError, match="no trial 1"):
        history.finish(1, "COMPLETE", 1.0)
    assert history.finished.tolist() == [0] and history.values.tolist() == [1.0]


@settings(max_examples=40)
@given(st.data(), st.sampled_from(["minimize", "maximize"]))
def test_loss_order_is_a_sort_of_the_complete_trials(data: st.DataObject, direction: str) -> None:
    """Trials finishing in any order, taken in one at a time or many at
    once: the kept order is the complete trials by loss, ties by number."""
    n = data.draw(st.integers(1, 40))
    values = data.draw(st.lists(st.sampled_from([0.0, 1.0, 2.5, -3.0]) | st.floats(-10, 10), min_size=n, max_size=n))
    states = data.draw(st.lists(st.sampled_from(["COMPLETE", "COMPLETE", "COMPLETE", "PRUNED", "FAIL", "DIVERGED",
                                                 "RUNNING"]), min_size=n, max_size=n))
    history = History(1, direction)
    for _ in range(n):
        history.append(np.zeros(1))
    order = LossOrder(history)
    for trial in data.draw(st.permutations(range(n))):
        if states[trial] == "DIVERGED":
            history.finish(trial, "FAIL", None, diverged=True)
        elif states[trial] != "RUNNING":
            history.finish(trial, states[trial], values[trial], step=1 if states[trial] == "PRUNED" else None)
        if data.draw(st.integers(0, 9)) == 0:  # otherwise the next update takes in several at once
            order.update()
    complete = np.flatnonzero(history.states == STATE_CODES["COMPLETE"])
    expected = complete[np.lexsort((complete, history.losses[complete]))]
    assert order.update().tolist() == expected.tolist()
    assert order.only_complete == ("PRUNED" not in states and "DIVERGED" not in states)


def test_tpe_learns_to_avoid_a_region_that_diverges() -> None:
    """The objective returns NaN for lr > 1e-2 (a diverged training run)."""
    space = {"lr": Float(1e-5, 1.0, log=True), "width": Float(0.0, 1.0)}

    def loss(c: dict) -> float:
        return (math.log10(c["lr"]) + 3.5) ** 2 + c["width"]

    def returns_nan(c: dict) -> float:
        return math.nan if c["lr"] > 1e-2 else loss(c)

    def raises(c: dict) -> float:
        if c["lr"] > 1e-2:
            raise FloatingPointError("diverged")
        return loss(c)

    def nan_share(sampler, objective) -> float:
        study = Study(space, sampler=sampler)
        study.optimize(objective, n_trials=60)
        return np.mean([t.params["lr"] > 1e-2 for t in study.trials[20:]])

    tpe_share = np.mean([nan_share(TPESampler(seed=s), returns_nan) for s in range(5)])
    random_share = np.mean([nan_share(RandomSampler(seed=s), returns_nan) for s in range(5)])
    ignored_share = np.mean([nan_share(TPESampler(seed=s), raises) for s in range(5)])
    assert random_share > 0.3  # 2 of the 5 decades diverge
    assert tpe_share < random_share / 3
    # A failure that raised teaches nothing: TPE, seeing no bad trials there, goes there.
    assert ignored_share > random_share


def test_failed_trials_that_raised_are_ignored() -> None:
    def objective(c: dict) -> float:
        if c["x"] > 4:
            raise RuntimeError("out of memory")
        return quadratic(c)

    study = Study(QUADRATIC_SPACE, sampler=TPESampler(seed=0))
    study.optimize(objective, n_trials=40)
    assert study.best_value < 1.0


# ---------------------------------------------------------------- estimator maths
def _mixture(obs: np.ndarray, choices: np.ndarray, bandwidth: float, spec: KernelSpec) -> ParzenMixtures:
    """The prior kernel (kernel 0) and observations, all of weight 1."""
    sigma = np.full(obs.shape, bandwidth)
    coef, const = kernel_terms(obs, sigma, choices, spec)
    prior_coef, prior_const = spec.prior_terms
    return ParzenMixtures.from_kernels(
        np.vstack([np.full((1, obs.shape[1]), 0.5), obs]),
        np.vstack([np.ones((1, obs.shape[1])), sigma]),
        (np.vstack([prior_coef, coef]), np.append(prior_const, const)),
        np.ones((1, len(obs) + 1)),
        spec,
    )


def test_good_trials_weigh_their_improvement_on_the_bad_group() -> None:
    loss, good, bad = np.array([0.0, 1.0, 3.0, 4.0, 9.0]), np.array([0, 1, 2]), np.array([3, 4])
    np.testing.assert_allclose(TPESampler()._improvement(loss, good, bad), [1.0, 0.75, 0.25])
    assert TPESampler(good_weights="uniform")._improvement(loss, good, bad).tolist() == [1.0, 1.0, 1.0]
    # A good trial without a loss to rank by (pruned, under the stock ranking): equal weights.
    assert TPESampler()._improvement(np.array([0.0, 1.0, np.nan, 4.0, 9.0]), good, bad).tolist() == [1.0, 1.0, 1.0]
    # The best bad trial without a loss: the worst good one is the threshold.
    np.testing.assert_allclose(TPESampler()._improvement(np.array([0.0, 1.0, 3.0, np.nan, 9.0]), good, bad),
                               [1.0, 2 / 3, 1e-3])
    # Infinite losses (an infinite value reported to a maximizing study): equal weights, and no numpy warning.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for infinite in ([-np.inf] * 4 + [9.0], [-np.inf, 0.0, 1.0, np.inf, np.inf]):
            assert TPESampler()._improvement(np.array(infinite), good, bad).tolist() == [1.0, 1.0, 1.0]


@settings(max_examples=30)
@given(st.data())
def test_remembered_kernel_terms_are_the_terms_of_the_current_bandwidths(data: st.DataObject) -> None:
    edges = np.array([0.0, 0.2, 0.5, 1.0])
    spec = KernelSpec(1, 0, (edges,), (np.full(2, 0.5),), categorical_smoothing=1.0)
    rng = np.random.default_rng(data.draw(seeds))
    mu, choices = rng.random((12, 2)), rng.integers(0, 2, (12, 1))
    memo = KernelMemo(spec)
    for _ in range(4):  # successive fits: some kernels keep their bandwidths, some not
        trials = np.array(data.draw(st.lists(st.integers(0, 11), min_size=1, max_size=12, unique=True)))
        sigma = np.array(data.draw(st.lists(st.sampled_from([0.05, 0.1, 0.3]), min_size=2 * len(trials),
                                            max_size=2 * len(trials)))).reshape(-1, 2)
        memo.update(trials, sigma, lambda t: (mu[t], choices[t]))
        weights = np.zeros((1, 13))
        weights[0, 0] = weights[0, trials + 1] = 1.0
        est = memo.mixtures(weights)
        expected_coef, expected_const = kernel_terms(mu[trials], sigma, choices[trials], spec)
        np.testing.assert_array_equal(est.coef[trials + 1], expected_coef)
        np.testing.assert_array_equal(est.bias[trials + 1], expected_const)
        np.testing.assert_array_equal(est.sigma[trials + 1], sigma)
        np.testing.assert_array_equal(est.coef[:1], spec.prior_terms[0])
        # Kernels outside the mixture add nothing.
        assert np.isneginf(np.delete(est.bias, np.append(trials + 1, 0))).all()


@settings(max_examples=40)
@given(seeds, st.sampled_from([30.0, 300.0, 3000.0]))
def test_mixture_sums_equal_a_plain_log_sum_exp(seed: int, spread: float) -> None:
    """Leaving out the terms far below each mixture's prior term (kernel 0)
    changes no sum; with terms thousands apart (which would underflow if
    shifted by the row's largest) each mixture is summed with its own."""
    rng = np.random.default_rng(seed)
    log_kernel = rng.uniform(-30.0, 10.0, (5, 30))
    log_kernel[:, 0] -= spread  # the prior and mixture 1's own kernels lie
    log_kernel[:, 15:] -= spread  # ``spread`` below mixture 0's
    weights = rng.random((2, 30)) * (rng.random((2, 30)) < 0.6)
    weights[1, 1:15] = weights[0, 15:] = 0.0
    weights[:, 0] = rng.uniform(0.01, 1.0, 2)
    weights /= weights.sum(axis=1, keepdims=True)
    floor = log_kernel[:, 0] + np.log(weights[:, 0].min()) - _NEGLIGIBLE
    expected = np.vstack([scipy.special.logsumexp(log_kernel, b=w, axis=1) for w in weights])
    terms = np.flatnonzero(log_kernel > floor[:, None])
    rows, kernels = np.divmod(terms, log_kernel.shape[1])
    got = _log_mixture_sums(log_kernel.take(terms), rows, kernels, weights, len(log_kernel))
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


@settings(max_examples=30)
@given(seeds)
def test_log_pdf_equals_a_direct_sum_over_the_kernels(seed: int) -> None:
    """Continuous, stepped (wide and narrow cells), few-cell and categorical
    columns at once, against a kernel-by-kernel log-sum-exp: the exact mass
    of a stepped cell wider than half the column's smallest bandwidth, the
    midpoint rule on a narrower one."""
    rng = np.random.default_rng(seed)
    edges = np.array([0.0, 0.3, 0.45, 1.0])
    prior = np.array([0.2, 0.3, 0.5])
    spec = KernelSpec(1, 2, (edges,), (prior,), categorical_smoothing=2.0)
    m, n_candidates = 40, 30
    mu = rng.random((m, 4))
    sigma = np.exp(rng.uniform(np.log(0.004), np.log(0.6), (m, 4)))
    choices = rng.integers(0, 3, (m, 1))
    coef, const = kernel_terms(mu, sigma, choices, spec)
    weights = rng.random((2, m + 1)) * (rng.random((2, m + 1)) < 0.7)
    weights[:, 0] = rng.uniform(0.01, 1.0, 2)  # the prior is in every mixture
    est = ParzenMixtures.from_kernels(
        np.vstack([np.full((1, 4), 0.5), mu]),
        np.vstack([np.ones((1, 4)), sigma]),
        (np.vstack([spec.prior_terms[0], coef]), np.append(spec.prior_terms[1], const)),
        weights,
        spec,
    )
    widths = np.column_stack([np.full(n_candidates, 0.001), rng.choice([0.001, 0.02, 0.2], n_candidates)])
    z = np.column_stack([rng.random(n_candidates), rng.uniform(widths / 2, 1 - widths / 2)])
    indices = np.column_stack([rng.integers(0, 3, n_candidates), rng.integers(0, 3, n_candidates)])
    got = est.log_pdf(encode_candidates(z, z[:, 1:] - widths / 2, z[:, 1:] + widths / 2, indices, spec))

    with np.errstate(divide="ignore"):  # terms far out in a tail are -inf here
        live = est.weights.any(axis=0)
        mu_all, sigma_all = est.mu[live], est.sigma[live]
        option_p = np.vstack([(2.0 * prior + np.eye(3)[choices[:, 0]]) / 3.0, prior[None]])  # observations, then prior
        option_p = np.vstack([option_p[-1:], option_p[:-1]])[live]
        unit = scipy.stats.norm.cdf((1 - mu_all) / sigma_all) - scipy.stats.norm.cdf(-mu_all / sigma_all)
        log_terms = np.log(scipy.stats.norm.pdf(z[:, :1], mu_all[:, 0], sigma_all[:, 0]) / unit[:, 0])
        for j in (1, 2):
            low, high = (z[:, j, None] - widths[:, j - 1, None] / 2), (z[:, j, None] + widths[:, j - 1, None] / 2)
            exact = scipy.stats.norm.cdf(high, mu_all[:, j], sigma_all[:, j]) - scipy.stats.norm.cdf(
                low, mu_all[:, j], sigma_all[:, j]
            )
            midpoint = widths[:, j - 1, None] * scipy.stats.norm.pdf(z[:, j, None], mu_all[:, j], sigma_all[:, j])
            wide = widths[:, j - 1, None] > 0.5 * sigma_all[:, j].min()
            log_terms += np.log(np.where(wide, exact, midpoint) / unit[:, j])
        cells = np.diff(scipy.stats.norm.cdf(edges[:, None], mu_all[:, 3], sigma_all[:, 3]), axis=0)
        log_terms += np.log(cells / cells.sum(axis=0))[indices[:, 0]]
        log_terms += np.log(option_p[:, indices[:, 1]].T)
        expected = np.vstack([scipy.special.logsumexp(log_terms, b=w[live] / w.sum(), axis=1) for w in weights])
    np.testing.assert_allclose(got, expected, rtol=1e-9)


def test_parzen_density_integrates_to_one() -> None:
    rng = np.random.default_rng(0)
    obs = rng.random((6, 2))
    spec = KernelSpec(2, 0, (), (), categorical_smoothing=1.0)
    est = _mixture(obs, np.zeros((6, 0), dtype=np.intp), 0.1, spec)
    grid = np.linspace(0.0, 1.0, 301)
    points = np.stack(np.meshgrid(grid, grid), axis=-1).reshape(-1, 2)
    empty = np.zeros((len(points), 0))
    density = np.exp(est.log_pdf(encode_candidates(points, empty, empty, empty.astype(np.intp), spec))[0])
    assert density.sum() * (1 / 300) ** 2 == pytest.approx(1.0, abs=0.02)


def test_parzen_masses_of_cells_and_categories_sum_to_one() -> None:
    obs = np.array([[0.2], [0.25], [0.9]])
    choices = np.array([[0], [2], [2]])
    spec = KernelSpec(0, 1, (), (np.full(3, 1 / 3),), categorical_smoothing=1.0)
    est = _mixture(obs, choices, 0.05, spec)
    for n_cells in (10, 1000):  # exact masses of wide cells, midpoint rule for narrow ones
        edges = np.linspace(0.0, 1.0, n_cells + 1)
        low = np.repeat(edges[:-1], 3)[:, None]
        high = np.repeat(edges[1:], 3)[:, None]
        cats = np.tile(np.arange(3), n_cells)[:, None]
        total = np.exp(est.log_pdf(encode_candidates((low + high) / 2, low, high, cats, spec))).sum()
        assert total == pytest.approx(1.0, rel=1e-3)
    # A few-cell column: the kernels' exact masses on every cell, like a categorical.
    edges = np.array([0.0, 0.1, 0.35, 0.6, 1.0])
    spec = KernelSpec(0, 0, (edges,), (np.full(3, 1 / 3),), categorical_smoothing=1.0)
    est = _mixture(obs, choices, 0.05, spec)
    cells, cats = np.meshgrid(np.arange(4), np.arange(3), indexing="ij")
    indices = np.column_stack([cells.ravel(), cats.ravel()])
    empty = np.zeros((len(indices), 0))
    total = np.exp(est.log_pdf(encode_candidates(empty, empty, empty, indices, spec))).sum()
    assert total == pytest.approx(1.0, rel=1e-12)


def _unit_history(values: list[list[float]], *, batch: int = 1) -> UnitHistory:
    """A unit history updated after every ``batch`` rows (its sorted order merged, not rebuilt)."""
    space = SearchSpace({f"x{j}": Float(0.0, 1.0) for j in range(len(values[0]))})
    history = History(len(space))
    unit = UnitHistory(history, columns_of(space))
    for i, row in enumerate(values):
        history.append(np.array(row))
        if (i + 1) % batch == 0:
            unit.update()
    unit.update()
    return unit


def test_bandwidths_are_the_larger_gap_to_a_neighbour() -> None:
    unit = _unit_history([[0.5], [0.1], [0.3], [0.9]])
    trials, cols = np.array([2, 0, 1]), np.array([0])
    for consider_endpoints, expected in ((True, [0.2, 0.5, 0.2]), (False, [0.2, 0.2, 0.2])):
        changed, sigma = BandwidthMemo(unit, cols, 0.01, consider_endpoints).update(trials)
        assert changed.tolist() == trials.tolist()
        np.testing.assert_allclose(sigma[:, 0], expected)
    # A single trial has the ends of the range as its neighbours.
    np.testing.assert_allclose(BandwidthMemo(unit, cols, 0.01, False).update(np.array([3]))[1], [[0.9]])


def _direct_bandwidths(rows: np.ndarray, trials: np.ndarray, consider_endpoints: bool) -> dict[int, np.ndarray]:
    """The neighbour-gap bandwidth of each trial, column by column, from scratch."""
    floor = max(0.01, 1.0 / min(100, len(trials) + 2))
    out = {t: np.empty(rows.shape[1]) for t in trials.tolist()}
    for j in range(rows.shape[1]):
        ranked = trials[np.lexsort((trials, rows[trials, j]))]  # by value, ties by trial number
        gaps = np.diff(np.concatenate([[0.0], rows[ranked, j], [1.0]]))
        left, right = gaps[:-1], gaps[1:]
        if not consider_endpoints and len(trials) >= 2:
            left[0], right[-1] = 0.0, 0.0
        for t, gap in zip(ranked.tolist(), np.maximum(left, right)):
            out[t][j] = min(max(gap, floor), 1.0)
    return out


def _unit_rows(min_size: int, max_size: int) -> st.SearchStrategy[list[list[float]]]:
    """Rows of two unit-scale columns, with repeated values (ties) likely."""
    value = st.sampled_from([0.0, 0.25, 0.5, 1.0]) | st.floats(0, 1)
    return st.lists(st.lists(value, min_size=2, max_size=2), min_size=min_size, max_size=max_size)


@settings(max_examples=40)
@given(_unit_rows(1, 30), st.data())
def test_sorted_order_is_a_stable_sort_of_each_column(values: list[list[float]], data: st.DataObject) -> None:
    inactive = np.array([[np.nan if v == 0.25 else v for v in row] for row in values])
    for batch in (1, 3, len(values)):  # one new row at a time, or several
        order = _unit_history(inactive.tolist(), batch=batch).order
        for j in range(2):
            np.testing.assert_array_equal(order[j], np.argsort(inactive[:, j], kind="stable"))
    unit, rows = _unit_history(values), np.array(values)
    trials = np.array(data.draw(st.lists(st.integers(0, len(values) - 1), min_size=1, unique=True)))
    for share in (0.0, 2.0):  # from the whole history's order, or by sorting the members
        with mock.patch.object(_unit, "_SORT_MEMBERS_BELOW", share):
            sorted_values, ids = unit.sorted_members(trials, np.array([0, 1]))
        for j in range(2):
            ranked = trials[np.lexsort((trials, rows[trials, j]))]  # by value, ties by trial number
            np.testing.assert_array_equal(ids[j], ranked)
            np.testing.assert_array_equal(sorted_values[j], rows[ranked, j])


@settings(max_examples=60)
@given(_unit_rows(2, 40), st.booleans(), st.data())
def test_bandwidth_memo_follows_changing_members(
    values: list[list[float]], consider_endpoints: bool, data: st.DataObject
) -> None:
    """Members joining and leaving a few at a time (kept sorted in place) or
    many at once: every member's bandwidth, as last reported, is the one
    computed from scratch; ties (repeated values) go by trial number."""
    unit, rows = _unit_history(values), np.array(values)
    memo = BandwidthMemo(unit, np.array([0, 1]), 0.01, consider_endpoints)
    members: set[int] = set()
    reported: dict[int, np.ndarray] = {}
    for _ in range(8):
        toggled = data.draw(st.lists(st.integers(0, len(values) - 1), max_size=len(values) if len(members) < 2 else 6))
        members ^= set(toggled)
        trials = np.array(data.draw(st.permutations(sorted(members))), dtype=np.intp)
        changed, sigma = memo.update(trials)
        assert set(changed.tolist()) <= members
        reported.update(zip(changed.tolist(), sigma))
        for t, expected in _direct_bandwidths(rows, trials, consider_endpoints).items():
            np.testing.assert_allclose(reported[t], expected, rtol=0, atol=1e-15)


# ---------------------------------------------------------------- other distributions
def test_tpe_handles_normal_and_bounded_scipy_distributions() -> None:
    space = {
        "a": Normal(0.0, 1.0),
        "b": Normal(-3.0, 1.0, log=True, step=0.01),
        "c": scipy.stats.loguniform(1e-3, 1.0),
        "d": scipy.stats.randint(1, 6),
    }
    study = Study(space, sampler=TPESampler(seed=0, n_startup_trials=3))
    study.optimize(lambda c: c["a"] ** 2 + c["c"] + c["d"], n_trials=20)
    for t in study.trials:
        assert 1e-3 <= t.params["c"] <= 1.0 and t.params["d"] in range(1, 6)
        assert type(t.params["d"]) is int
    assert study.best_value < 1.5


@pytest.mark.parametrize(
    "space",
    [
        hp.qlognormal("x", 0, 1, 1),
        hp.qlognormal("x", 3, 1, 2),
        hp.qlognormal("x", -3, 0.3, 1),  # almost always 0
        hp.qnormal("x", 0.3, 1, 1),
        hp.qnormal("x", 0, 1, 0.1),
        hp.qnormal("x", 0.3, 0.01, 1),  # one grid point
    ],
    ids=repr,
)
@pytest.mark.parametrize("algo", [tpe.suggest, rand.suggest], ids=["tpe", "rand"])
def test_quantised_normals_give_values_on_their_grid(space, algo) -> None:
    """Every value of a qnormal / qlognormal is a multiple of q, as hyperopt's
    round(x / q) * q; a qlognormal's 0 is a value like any other (no warning)."""
    trials = Trials()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fmin(lambda x: x, space, algo=algo, max_evals=40, trials=trials,
             rstate=np.random.default_rng(0), show_progressbar=False)
    q = space.step
    values = trials.vals["x"]
    assert all(v == round_to_step(np.array(v), 0.0, q) for v in values)
    assert all(not math.copysign(1.0, v) < 0 for v in values if v == 0)  # no -0.0
    if space.log:
        assert min(values) >= 0.0


def test_tpe_proposes_a_qlognormals_zero() -> None:
    """0 of a qlognormal is a cell of the grid that TPE can propose."""
    trials = Trials()
    fmin(lambda x: x, hp.qlognormal("x", 0, 1, 1), max_evals=40, trials=trials,
         rstate=np.random.default_rng(0), show_progressbar=False)
    study = trials.study
    proposed = [t.params["x"] for t in study.trials[study.sampler.n_startup_trials:]]
    assert proposed.count(0.0) > len(proposed) / 3


def test_tpe_rejects_an_unbounded_scipy_distribution_before_any_trial(tmp_path) -> None:
    space = {"x": scipy.stats.norm(0, 1)}
    with pytest.raises(SpaceError, match=r"space\['x'\].*support"):
        Study(space, sampler=TPESampler(seed=0, n_startup_trials=1), storage=f"sqlite:///{tmp_path}/u.db")
    assert not (tmp_path / "u.db").exists() or SQLiteStorage(f"sqlite:///{tmp_path}/u.db").study_names() == []
    Study(space, sampler=RandomSampler(seed=0), storage=f"sqlite:///{tmp_path}/u.db", study_name="r")
    assert load_study(storage=f"sqlite:///{tmp_path}/u.db", study_name="r").trials == []  # still readable
    with pytest.raises(SpaceError, match="support"):
        load_study(storage=f"sqlite:///{tmp_path}/u.db", study_name="r", sampler=TPESampler())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"min_trials_at_step": 0}, "min_trials_at_step must be None or an integer >= 1, got min_trials_at_step=0"),
        ({"min_trials_at_step": 2.5}, "min_trials_at_step must be None or an integer >= 1, got min_trials_at_step=2.5"),
        ({"n_startup_trials": -1}, "n_startup_trials must be an integer >= 0, got n_startup_trials=-1"),
        ({"n_ei_candidates": 0}, "n_ei_candidates must be an integer >= 1, got n_ei_candidates=0"),
        ({"gamma": 1.5}, "gamma must be a fraction in (0, 1] or a callable n -> int, got gamma=1.5"),
        ({"prior_weight": 0}, "prior_weight must be a positive number, got prior_weight=0"),
        ({"categorical_smoothing": -1.0}, "categorical_smoothing must be >= 0, got categorical_smoothing=-1.0"),
        ({"good_weights": "ei"}, "good_weights must be 'improvement' or 'uniform', got good_weights='ei'"),
        ({"seed": -3}, "seed must be None or an integer >= 0, got seed=-3"),
        ({"multivariate": "false"}, "multivariate must be True or False, got multivariate='false'"),
        ({"constant_liar": 0}, "constant_liar must be True or False, got constant_liar=0"),
        ({"consider_endpoints": None}, "consider_endpoints must be True or False, got consider_endpoints=None"),
    ],
)
def test_invalid_arguments_name_the_parameter_and_value(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        TPESampler(**kwargs)


# ---------------------------------------------------------------- hyperopt layer
def test_the_guides_bayesian_example_runs_with_tpe_suggest() -> None:
    space = {
        "hidden_units": hp.quniform("hidden_units", 16, 256, 16),
        "optimizer": hp.choice("optimizer", ["adam", "sgd", "rmsprop"]),
        "lr": hp.loguniform("lr", math.log(1e-4), math.log(1e-1)),
        "dropout": hp.uniform("dropout", 0.0, 0.5),
    }

    def objective(params: dict) -> dict:
        loss = (params["hidden_units"] - 128) ** 2 / 1e4 + (math.log10(params["lr"]) + 2.5) ** 2
        loss += {"adam": 0.0, "sgd": 0.3, "rmsprop": 0.1}[params["optimizer"]] + params["dropout"]
        return {"loss": loss, "status": STATUS_OK}

    trials = Trials()
    best = fmin(
        fn=objective,
        space=space,
        algo=functools.partial(tpe.suggest, n_startup_jobs=10),
        max_evals=50,
        trials=trials,
        rstate=np.random.default_rng(42),
        show_progressbar=False,
    )
    config = space_eval(space, best)
    assert config["optimizer"] in ("adam", "sgd", "rmsprop")
    assert trials.best_trial["result"]["loss"] == min(trials.losses())
    assert trials.best_trial["result"]["loss"] < 0.6
    assert isinstance(trials.study.sampler, TPESampler)
    assert trials.study.sampler.n_startup_trials == 10


def test_tpe_suggest_translates_hyperopt_options() -> None:
    sampler = tpe.suggest.make_sampler(1, n_startup_jobs=5, n_EI_candidates=30, gamma=0.25)
    assert (sampler.n_startup_trials, sampler.n_ei_candidates) == (5, 30)
    assert sampler._n_good(100) == math.ceil(0.25 * 10)
    with pytest.raises(TypeError, match="linear_forgetting"):
        tpe.suggest.make_sampler(1, linear_forgetting=10)


def test_fmin_defaults_to_tpe() -> None:
    trials = Trials()
    fmin(lambda x: x**2, hp.uniform("x", -1, 1), max_evals=3, trials=trials, show_progressbar=False)
    assert isinstance(trials.study.sampler, TPESampler)
