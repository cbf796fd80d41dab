"""Pruners on hand-made learning curves: the median rule, ASHA's promotions,
Hyperband's schedule, determinism, and decisions shared through storage."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tpe_core import (
    BasePruner,
    Float,
    HyperbandPruner,
    MedianPruner,
    RandomSampler,
    Study,
    SuccessiveHalvingPruner,
    TPESampler,
    TrialPruned,
    TrialState,
    load_study,
)

SPACE = {"x": Float(0.0, 1.0)}


def run_curves(pruner: BasePruner, curves: list[list[float]], *, direction: str = "minimize", study=None):
    """Run one trial per curve (values at steps 1, 2, ...); return the step each was pruned at, or None."""
    study = study or Study(SPACE, sampler=RandomSampler(seed=0), pruner=pruner, direction=direction)
    pruned_at = []
    for curve in curves:
        trial = study.ask()
        for step, value in enumerate(curve, start=1):
            trial.report(value, step)
            if trial.should_prune():
                study.tell(trial, TrialState.PRUNED)
                pruned_at.append(step)
                break
        else:
            study.tell(trial, curve[-1])
            pruned_at.append(None)
    return pruned_at


# ---------------------------------------------------------------- median
class TestMedianPruner:
    def test_prunes_exactly_the_trials_worse_than_the_median_at_that_step(self):
        complete = [[1.0, 1.0, 1.0], [2.0, 2.0, 2.0], [4.0, 3.0, 0.5]]  # medians: 2, 2, 1
        # the last one meets a median of 1.95 (a tie goes on), then 1.75 at step 2
        trials = [[2.5, 0.0, 0.0], [1.5, 2.5, 2.5], [1.9, 1.5, 0.9], [1.95, 1.95, 0.0]]
        pruned = run_curves(MedianPruner(n_startup_trials=3), complete + trials)
        assert pruned == [None, None, None, 1, 3, None, 2]

    def test_maximize_flips_the_rule(self):
        pruned = run_curves(
            MedianPruner(n_startup_trials=2), [[1.0], [3.0], [1.5], [2.5]], direction="maximize"
        )
        assert pruned == [None, None, 1, None]

    def test_startup_warmup_and_interval(self):
        complete = [[1.0] * 6, [1.0] * 6]
        bad = [[9.0] * 6]
        assert run_curves(MedianPruner(n_startup_trials=3), complete + bad) == [None, None, None]
        assert run_curves(MedianPruner(n_startup_trials=2, n_warmup_steps=4), complete + bad) == [None, None, 4]
        pruner = MedianPruner(n_startup_trials=2, n_warmup_steps=1, interval_steps=2)
        assert run_curves(pruner, complete + bad) == [None, None, 1]
        pruner = MedianPruner(n_startup_trials=2, n_warmup_steps=2, interval_steps=3)
        assert run_curves(pruner, complete + bad) == [None, None, 2]

    def test_an_interval_is_decided_at_the_first_step_reported_in_it(self):
        study = Study(SPACE, sampler=RandomSampler(seed=0), pruner=MedianPruner(n_startup_trials=1, interval_steps=2))
        for _ in range(2):
            trial = study.ask()
            for step in (1, 3, 5, 7):
                trial.report(1.0, step)
            study.tell(trial, 1.0)
        bad = study.ask()
        decisions = []
        for step in (1, 3, 5, 7):  # every other step: each one opens an interval
            bad.report(9.0, step)
            decisions.append(bad.should_prune())
        assert decisions == [True] * 4  # it used to decide at even steps only: never, here

    def test_a_diverged_trial_is_pruned(self):
        assert run_curves(MedianPruner(n_startup_trials=1), [[1.0], [math.nan]]) == [None, 1]

    def test_no_pruning_at_a_step_that_no_complete_trial_reached(self):
        assert run_curves(MedianPruner(n_startup_trials=1), [[1.0], [5.0, 5.0, 5.0]]) == [None, 1]
        assert run_curves(MedianPruner(n_startup_trials=1), [[1.0], [0.5, 9.0, 9.0]]) == [None, None]


# ---------------------------------------------------------------- successive halving
def promoted_by_the_published_rule(value: float, earlier: list[float], eta: int) -> bool:
    """Top ``max(1, n // eta)`` of the n trials at the rung, counting this one."""
    n_better = sum(v < value for v in earlier)
    return n_better < max(1, (len(earlier) + 1) // eta)


class TestSuccessiveHalving:
    @given(
        values=st.lists(st.integers(0, 20).map(float), min_size=1, max_size=30),
        eta=st.integers(2, 4),
    )
    def test_first_rung_promotions_follow_the_published_rule(self, values, eta):
        pruned = run_curves(SuccessiveHalvingPruner(min_resource=1, reduction_factor=eta), [[v] for v in values])
        expected = [
            None if promoted_by_the_published_rule(v, values[:i], eta) else 1 for i, v in enumerate(values)
        ]
        assert pruned == expected

    @given(curves=st.lists(st.lists(st.integers(0, 9).map(float), min_size=9, max_size=9), min_size=1, max_size=25))
    def test_every_rung_follows_the_published_rule(self, curves):
        eta = 3
        pruned = run_curves(SuccessiveHalvingPruner(min_resource=1, reduction_factor=eta, max_resource=9), curves)
        at_rung: dict[int, list[float]] = {1: [], 3: []}  # no rung at max_resource: a trial ends there
        for curve, got in zip(curves, pruned):
            expected = None
            for rung in (1, 3):
                value = curve[rung - 1]
                promoted = promoted_by_the_published_rule(value, at_rung[rung], eta)
                at_rung[rung].append(value)
                if not promoted:
                    expected = rung
                    break
            assert got == expected

    @given(
        values=st.lists(st.integers(0, 20).map(float), min_size=1, max_size=30),
        eta=st.integers(2, 4),
        bootstrap_count=st.integers(1, 5),
    )
    def test_bootstrap_stops_the_first_trials_at_the_first_rung(self, values, eta, bootstrap_count):
        pruner = SuccessiveHalvingPruner(min_resource=1, reduction_factor=eta, bootstrap_count=bootstrap_count)
        pruned = run_curves(pruner, [[v] for v in values])
        expected = [
            None if i + 1 >= bootstrap_count and promoted_by_the_published_rule(v, values[:i], eta) else 1
            for i, v in enumerate(values)
        ]
        assert pruned == expected

    def test_bootstrap_leaves_the_later_rungs_alone(self):
        pruner = SuccessiveHalvingPruner(min_resource=1, reduction_factor=2, bootstrap_count=2, max_resource=4)
        # trial 0 stops at the first rung; trial 1, the first to reach rung 2, goes on alone
        assert run_curves(pruner, [[1.0] * 4, [1.0] * 4, [0.0, 5.0, 5.0, 5.0]]) == [1, None, 2]

    def test_bootstrap_and_min_trials_at_rung_exclude_each_other(self):
        with pytest.raises(ValueError, match="bootstrap_count=3, min_trials_at_rung=2"):
            SuccessiveHalvingPruner(bootstrap_count=3, min_trials_at_rung=2)
        with pytest.raises(ValueError, match="bootstrap_count=0"):
            SuccessiveHalvingPruner(bootstrap_count=0)

    def test_judged_only_at_rungs_and_at_the_first_step_past_one(self):
        pruner = SuccessiveHalvingPruner(min_resource=2, reduction_factor=2)
        assert pruner.rungs(max_resource=20) == [2, 4, 8, 16]
        study = Study(SPACE, sampler=RandomSampler(seed=0), pruner=pruner)
        run_curves(pruner, [[1.0] * 10], study=study)
        trial = study.ask()
        decisions = {}
        for step, value in ((1, 5.0), (3, 5.0), (5, 0.5)):  # skips rungs 2 and 4, reports past them
            trial.report(value, step)
            decisions[step] = trial.should_prune()
        assert decisions == {1: False, 3: True, 5: False}  # judged at 3 for rung 2, at 5 for rung 4

    @pytest.mark.parametrize(
        "pruner",
        [SuccessiveHalvingPruner(), SuccessiveHalvingPruner(min_trials_at_rung=3), HyperbandPruner(1, 9)],
        ids=["asha", "protected-rungs", "hyperband"],
    )
    def test_a_diverged_trial_stops_at_its_first_rung_even_without_a_better_competitor(self, pruner):
        # the very first trial, or one among equally diverged ones, would be promoted by the ranking alone
        if isinstance(pruner, HyperbandPruner):  # each trial's first rung is its bracket's
            first_rungs = [
                None if b == pruner.s_max else pruner.min_resource * pruner.reduction_factor**b
                for b in map(pruner.bracket_of, range(6))
            ]
        else:
            first_rungs = [1] * 6
        assert None in first_rungs or not isinstance(pruner, HyperbandPruner)
        assert run_curves(pruner, [[math.nan] * 9] * 6) == first_rungs
        curves = [[-math.inf] * 9, [0.5] * 9]
        assert run_curves(SuccessiveHalvingPruner(), curves, direction="maximize") == [1, None]

    def test_no_rung_at_or_past_max_resource(self):
        assert SuccessiveHalvingPruner(max_resource=27).rungs() == [1, 3, 9]
        assert SuccessiveHalvingPruner().rungs(max_resource=28) == [1, 3, 9, 27]
        curves = [[1.0] * 3, [5.0, 5.0, 5.0]]
        assert run_curves(SuccessiveHalvingPruner(max_resource=4, min_resource=3), curves) == [None, 3]
        assert run_curves(SuccessiveHalvingPruner(max_resource=3, min_resource=1), curves) == [None, 1]
        with pytest.raises(ValueError, match="max_resource is needed"):
            SuccessiveHalvingPruner().rungs()

    def test_min_early_stopping_rate_and_min_trials_at_rung(self):
        assert SuccessiveHalvingPruner(min_resource=1, min_early_stopping_rate=1).rungs(30) == [3, 9, 27]
        curves = [[1.0] * 3, [5.0] * 3, [6.0] * 3]
        assert run_curves(SuccessiveHalvingPruner(), curves) == [None, 1, 1]
        assert run_curves(SuccessiveHalvingPruner(min_trials_at_rung=3), curves) == [None, None, 1]


# ---------------------------------------------------------------- hyperband
class TestHyperband:
    @pytest.mark.parametrize(
        ("min_resource", "max_resource", "eta", "schedule"),
        [
            (1, 27, 3, [(27, 1), (12, 3), (6, 9), (4, 27)]),
            # Li et al. (2018), Table 1: R = 81, eta = 3
            (1, 81, 3, [(81, 1), (34, 3), (15, 9), (8, 27), (5, 81)]),
            (1, 8, 2, [(8, 1), (6, 2), (4, 4), (4, 8)]),
        ],
    )
    def test_brackets_follow_the_published_schedule(self, min_resource, max_resource, eta, schedule):
        assert HyperbandPruner(min_resource, max_resource, eta).brackets() == schedule

    def test_trials_join_brackets_in_proportion_to_their_size(self):
        pruner = HyperbandPruner(1, 27)
        counts = [0] * 4
        for number in range(49 * 20):
            counts[pruner.bracket_of(number)] += 1
        for got, (n, _) in zip(counts, pruner.brackets()):
            assert abs(got - 20 * n) <= 0.05 * 20 * 49

    def test_each_bracket_is_successive_halving_among_its_own_trials(self):
        pruner = HyperbandPruner(1, 27)
        curves = [[float((5 * n) % 7), float((3 * n) % 5)] + [float(n % 4)] * 24 for n in range(40)]
        pruned = run_curves(pruner, curves)
        for bracket in range(4):
            members = [n for n in range(40) if pruner.bracket_of(n) == bracket]
            alone = SuccessiveHalvingPruner(min_resource=1, min_early_stopping_rate=bracket)
            expected = run_curves(alone, [curves[n] for n in members]) if bracket < 3 else [None] * len(members)
            assert [pruned[n] for n in members] == expected
        assert any(pruned)

    def test_bad_resources(self):
        with pytest.raises(ValueError, match="max_resource > min_resource"):
            HyperbandPruner(min_resource=9, max_resource=9)
        with pytest.raises(ValueError, match="a single bracket, one that never stops a trial: it needs min_resource "
                                             r"\* reduction_factor <= max_resource, and that is 3"):
            HyperbandPruner(min_resource=1, max_resource=2)
        assert HyperbandPruner(min_resource=1, max_resource=3).brackets() == [(3, 1), (2, 3)]


# ---------------------------------------------------------------- all pruners
@pytest.mark.parametrize(
    ("pruner", "first_step", "asked_at", "pruned_at"),
    [
        # reported at every step, asked at even steps: rung 1 is judged at step 2 (it was never judged)
        (SuccessiveHalvingPruner(), 1, (2, 4, 6), 2),
        # intervals {0, 1}, {2, 3}: asked at odd steps, each interval is judged at its first ask
        (MedianPruner(n_startup_trials=2, interval_steps=2), 0, (1, 3, 5), 1),
    ],
    ids=["asha", "median"],
)
def test_a_pruner_asked_less_often_than_reports_judges_the_steps_reported_since(
    pruner, first_step, asked_at, pruned_at
):
    study = Study(SPACE, sampler=RandomSampler(seed=0), pruner=pruner)
    steps = range(first_step, 7)
    for _ in range(3):
        good = study.ask()
        for step in steps:
            good.report(1.0, step)
        study.tell(good, 1.0)
    bad, decisions = study.ask(), {}
    for step in steps:
        bad.report(9.0, step)
        if step in asked_at:
            decisions[step] = bad.should_prune()
            assert bad.should_prune() is decisions[step]  # asked again at the same step: the same answer
    assert [s for s, prune in decisions.items() if prune][0] == pruned_at


def test_asked_again_with_nothing_new_reported_the_answer_stands_whatever_others_did():
    # A rung was judged again against the trials that reached it since: let through alone, the trial was
    # then stopped at the same step, and let through again at the next one.
    study = Study(SPACE, sampler=RandomSampler(seed=0), pruner=SuccessiveHalvingPruner(reduction_factor=2))
    first = study.ask()
    first.report(5.0, 1)
    assert first.should_prune() is False  # alone at rung 1
    for value in (1.0, 2.0, 3.0):
        other = study.ask()
        other.report(value, 1)
        other.should_prune()
        study.tell(other, value)
    assert first.should_prune() is False  # it was True
    first.report(4.0, 1)  # something new at the step: judged again
    assert first.should_prune() is True


def test_the_median_rule_judges_the_steps_reported_since_it_was_last_asked_and_prunes_an_all_nan_trial():
    # Asked only at step 2, a trial worse than the median at step 1 was never pruned; a trial reporting only
    # NaN was not pruned at a step too few COMPLETE trials reported.
    study = Study(SPACE, sampler=RandomSampler(seed=0), pruner=MedianPruner(n_startup_trials=3))
    for _ in range(3):
        done = study.ask()
        done.report(1.0, 1)
        done.report(10.0, 2)
        study.tell(done, 10.0)
    late = study.ask()
    late.report(5.0, 1)
    late.report(6.0, 2)
    assert late.should_prune() is True  # as when asked at step 1
    diverged = study.ask()
    diverged.report(math.nan, 5)
    assert diverged.should_prune() is True
    assert run_curves(MedianPruner(1, interval_steps=2), [[1.0] * 6, [2.0] * 6]) == [None, 1]


@pytest.mark.parametrize(
    "pruner",
    [MedianPruner(n_startup_trials=2), SuccessiveHalvingPruner(), HyperbandPruner(1, 9)],
    ids=repr,
)
def test_decisions_are_deterministic_and_shared_through_storage(pruner, tmp_path):
    curves = [[abs(math.sin(7 * n + s)) for s in range(1, 10)] for n in range(15)]
    assert run_curves(pruner, curves) == run_curves(pruner, curves)

    url = f"sqlite:///{tmp_path}/p.db"
    writer = Study(SPACE, sampler=RandomSampler(seed=0), pruner=pruner, storage=url, study_name="p")
    reader = Study(SPACE, sampler=RandomSampler(seed=0), pruner=pruner, storage=url, study_name="p")
    pruned = run_curves(pruner, curves, study=writer)
    assert pruned == run_curves(pruner, curves)
    for trial, at in zip(reader.trials, pruned):  # the other process sees the same trials and reports
        assert trial.state is (TrialState.COMPLETE if at is None else TrialState.PRUNED)
        assert sorted(trial.intermediate_values) == list(range(1, (at or 9) + 1))


def test_tpe_ranks_pruned_trials_alike_after_a_storage_round_trip(tmp_path):
    """The reports that rank trials at a step reach the sampler of a study
    that shares the storage, and of one that resumes it."""
    curves = [[abs(math.sin(7 * n + s)) + 0.1 * s for s in range(1, 10)] for n in range(20)]
    url = f"sqlite:///{tmp_path}/p.db"
    pruner = SuccessiveHalvingPruner(min_resource=1, reduction_factor=3)
    writer = Study(SPACE, sampler=RandomSampler(seed=0), pruner=pruner, storage=url, study_name="p")
    reader = Study(SPACE, sampler=RandomSampler(seed=0), pruner=pruner, storage=url, study_name="p")
    run_curves(pruner, curves, study=writer)
    reader._sync()
    resumed = load_study(storage=url, study_name="p")
    sampler = TPESampler(seed=0, min_trials_at_step=5)
    ranked, _, loss = sampler._rank(writer._history)
    assert len(writer.get_trials([TrialState.COMPLETE])) < 5  # so ranked at a step
    assert not np.isnan(loss[[t.number for t in writer.get_trials([TrialState.PRUNED])]]).all()
    for study in (reader, resumed):
        other, _, other_loss = TPESampler(seed=0, min_trials_at_step=5)._rank(study._history)
        assert other.tolist() == ranked.tolist()
        np.testing.assert_array_equal(other_loss, loss)


def test_should_prune_drives_optimize():
    def objective(config, trial):
        for epoch in range(1, 10):
            trial.report(config["x"] + 1 / epoch, step=epoch)
            if trial.should_prune():
                raise TrialPruned()
        return config["x"]

    study = Study(SPACE, sampler=RandomSampler(seed=1), pruner=MedianPruner(n_startup_trials=3))
    study.optimize(objective, n_trials=30)
    pruned = study.get_trials([TrialState.PRUNED])
    assert pruned and len(pruned) < 30
    for trial in pruned:
        assert trial.value == trial.intermediate_values[trial.last_step]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: MedianPruner(n_startup_trials=-1), "n_startup_trials"),
        (lambda: MedianPruner(interval_steps=0), "interval_steps"),
        (lambda: SuccessiveHalvingPruner(reduction_factor=1), "reduction_factor"),
        (lambda: SuccessiveHalvingPruner(min_resource=0), "min_resource"),
        (lambda: SuccessiveHalvingPruner(min_resource=10, max_resource=5), "no rung below max_resource"),
        (
            lambda: SuccessiveHalvingPruner(min_resource=2, min_early_stopping_rate=2, max_resource=18),
            r"= 18; got min_resource=2, reduction_factor=3, min_early_stopping_rate=2, max_resource=18",
        ),
        (lambda: Study(SPACE, pruner="median"), "pruner must be a parzen pruner"),
    ],
)
def test_bad_arguments_name_the_parameter(make, message):
    with pytest.raises((ValueError, TypeError), match=message):
        make()
