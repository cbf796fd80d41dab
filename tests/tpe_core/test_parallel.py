"""Trials in worker processes: ``optimize(n_jobs=...)``."""

from __future__ import annotations

import datetime

import pytest

from tpe_core import MedianPruner, RandomSampler, Study, TPESampler, TrialState, load_study

from .processes import (
    SPACE,
    describes_its_trial,
    fifteen_epochs,
    is_maximizing,
    misuses_the_trial,
    raises_on_trial_2,
    slow,
    stamps_its_start,
    torch_loss,
    value_of,
)


def test_two_jobs_run_trials_at_once_and_give_what_a_serial_run_gives():
    parallel = Study(SPACE, sampler=RandomSampler(seed=0))
    parallel.optimize(slow, n_trials=10, n_jobs=2)
    serial = Study(SPACE, sampler=RandomSampler(seed=0))
    serial.optimize(value_of, n_trials=10)

    trials = parallel.trials
    assert [t.number for t in trials] == list(range(10))
    assert all(t.state is TrialState.COMPLETE for t in trials)
    assert [(t.params, t.value) for t in trials] == [(t.params, t.value) for t in serial.trials]
    overlapping = [
        (a.number, b.number)
        for a in trials
        for b in trials
        if a.number < b.number and b.datetime_start < a.datetime_complete
    ]
    assert overlapping, "no two trials ran at the same time"



def assert_started_after_the_worker_start_up(study: Study) -> None:
    """Each trial's clock starts once its process has started and imported the objective, before it runs."""
    for trial in study.trials:
        imported, began = (datetime.datetime.fromisoformat(trial.user_attrs[k]) for k in ("imported", "began"))
        assert imported <= trial.datetime_start <= began <= trial.datetime_complete, trial.number


@pytest.mark.parametrize("stored", [False, True], ids=["memory", "sqlite"])
def test_a_trial_s_duration_leaves_out_its_worker_s_start_up(tmp_path, stored):
    url = f"sqlite:///{tmp_path}/d.db" if stored else None
    study = Study(SPACE, sampler=RandomSampler(seed=0), storage=url, study_name="d")
    study.optimize(stamps_its_start, n_trials=4, n_jobs=2)
    assert_started_after_the_worker_start_up(study)
    if stored:
        assert_started_after_the_worker_start_up(load_study(storage=url, study_name="d"))

def test_every_report_reaches_the_study_and_pruning_works_across_processes(tmp_path):
    url = f"sqlite:///{tmp_path}/p.db"
    study = Study(
        SPACE, sampler=TPESampler(seed=0), pruner=MedianPruner(n_startup_trials=3), storage=url, study_name="p"
    )
    study.optimize(fifteen_epochs, n_trials=16, n_jobs=2)

    trials = load_study(storage=url, study_name="p").trials
    states = [t.state for t in trials]
    assert len(trials) == 16 and TrialState.PRUNED in states and TrialState.COMPLETE in states
    for t in trials:
        last = 15 if t.state is TrialState.COMPLETE else t.last_step
        assert sorted(t.intermediate_values) == list(range(1, last + 1))


def test_an_uncaught_exception_stops_the_study_and_fails_the_running_trials():
    study = Study(SPACE, sampler=RandomSampler(seed=0))
    with pytest.raises(KeyError, match="not caught"):
        study.optimize(raises_on_trial_2, n_trials=10, n_jobs=2, catch=(ValueError,))
    by_number = {t.number: t for t in study.trials}
    assert by_number[2].error == "KeyError: 'not caught'"
    assert all(t.state.is_finished() for t in study.trials)
    interrupted = [t for t in study.trials if t.error and t.error.startswith("interrupted")]
    assert len(interrupted) <= 1 and len(study.trials) < 10


@pytest.mark.parametrize("stored", [False, True], ids=["memory", "sqlite"])
@pytest.mark.parametrize("n_jobs", [1, 2])
def test_a_trial_that_misuses_its_trial_object_fails_alone_in_workers_as_in_serial(n_jobs, stored, tmp_path):
    url = f"sqlite:///{tmp_path}/m.db" if stored else None
    study = Study(SPACE, sampler=RandomSampler(seed=0), storage=url, study_name="m")
    study.optimize(misuses_the_trial, n_trials=9, n_jobs=n_jobs)
    trials = {t.number: t for t in study.trials}
    assert {n for n, t in trials.items() if t.state is TrialState.FAIL} == {1, 3, 5, 7}
    assert "step must be an integer >= 0, got step=-1" in trials[1].error
    assert "got step=2.7" in trials[3].error
    assert "JSON-serialisable" in trials[5].error
    assert "step must be at most 2**63 - 1" in trials[7].error
    assert all(t.intermediate_values == {1: t.value} for n, t in trials.items() if n not in (1, 3, 5, 7))


@pytest.mark.parametrize("direction", ["minimize", "maximize"])
def test_a_trial_in_a_worker_knows_its_studys_direction(direction):
    study = Study(SPACE, sampler=RandomSampler(seed=0), direction=direction)
    study.optimize(is_maximizing, n_trials=2, n_jobs=2)
    assert [t.value for t in study.trials] == [float(direction == "maximize")] * 2
    assert study.ask().direction == direction


@pytest.mark.parametrize("kwargs", [{}, {"n_jobs": 2}, {"trial_timeout": 60}, {"executor": "processes"}],
                         ids=["serial", "n_jobs", "trial_timeout", "executor"])
def test_a_trial_in_a_worker_has_the_running_trial_s_attributes(kwargs):
    # In a worker, trial.source, state, datetime_start, value, error and duration were AttributeErrors, and an
    # enqueued trial's user_attrs were empty: an objective branching on trial.source failed under n_jobs.
    import concurrent.futures

    study = Study(SPACE, sampler=RandomSampler(seed=0))
    study.enqueue({"lr": 0.01, "units": 16, "act": "relu"})
    if kwargs.get("executor") == "processes":
        kwargs = {"executor": concurrent.futures.ProcessPoolExecutor(2)}
    study.optimize(describes_its_trial, n_trials=2, **kwargs)
    assert [t.user_attrs["seen"] for t in study.trials] == [
        ["manual", "RUNNING", True, None, None, None, ["source"]],
        ["sampler", "RUNNING", True, None, None, None, []],
    ]


def test_a_torch_loss_that_requires_grad_completes_in_workers_as_in_serial():
    pytest.importorskip("torch")
    study = Study(SPACE, sampler=RandomSampler(seed=0))
    study.optimize(torch_loss, n_trials=2, n_jobs=2)
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 2
    assert [t.value for t in study.trials] == pytest.approx([(2 * t.params["lr"]) ** 2 for t in study.trials])


def test_unpicklable_objective_is_refused_with_the_fix():
    study = Study(SPACE, sampler=RandomSampler(seed=0))
    with pytest.raises(TypeError, match="n_jobs > 1 runs trials in worker processes.*module level"):
        study.optimize(lambda config: 0.0, n_trials=2, n_jobs=2)
    assert study.trials == []


@pytest.mark.parametrize("n_jobs", [0, -2, 1.5, True])
def test_bad_n_jobs(n_jobs):
    with pytest.raises(ValueError, match=rf"n_jobs must be -1 \(one per CPU\) or an integer >= 1, got n_jobs={n_jobs}"):
        Study(SPACE).optimize(value_of, n_trials=1, n_jobs=n_jobs)
