"""Trials on executors: a Dask LocalCluster started here, and a ProcessPoolExecutor."""

from __future__ import annotations

import concurrent.futures
import time

import pytest

from tpe_core import DaskExecutor, MedianPruner, RandomSampler, Study, TPESampler, TrialState

from .processes import (
    SPACE,
    fifteen_epochs,
    kills_its_worker_on_trial_3,
    raises_on_trial_0,
    slow,
    stamps_its_start,
    value_of,
)
from .test_parallel import assert_started_after_the_worker_start_up

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster, distributed.Client(cluster) as client:
        yield client


def serial_results(n_trials: int) -> list[tuple]:
    study = Study(SPACE, sampler=RandomSampler(seed=0))
    study.optimize(value_of, n_trials=n_trials)
    return [(t.number, t.params, t.value) for t in study.trials]


def test_trials_on_a_local_cluster_match_a_serial_run(client):
    study = Study(SPACE, sampler=RandomSampler(seed=0))
    study.optimize(slow, n_trials=20, executor=DaskExecutor(client))
    assert all(t.state is TrialState.COMPLETE for t in study.trials)
    assert [(t.number, t.params, t.value) for t in study.trials] == serial_results(20)
    starts = sorted((t.datetime_start, t.datetime_complete) for t in study.trials)
    assert any(b[0] < a[1] for a, b in zip(starts, starts[1:])), "the two workers never ran trials at once"


def _scheduler_state(client) -> tuple[int, int]:
    """How many queues and events the scheduler keeps."""
    return client.run_on_scheduler(
        lambda dask_scheduler: (len(dask_scheduler.extensions["queues"].queues),
                                len(dask_scheduler.extensions["events"]._events))
    )


def test_trials_leave_no_event_or_message_queue_on_the_scheduler(client):
    # One event per trial (to tell a re-run task) and one queue per optimize stayed on the scheduler for good.
    queues, events = _scheduler_state(client)
    for _ in range(3):
        Study(SPACE, sampler=RandomSampler(seed=0)).optimize(value_of, n_trials=4, executor=DaskExecutor(client))
    for _ in range(100):  # a queue's release reaches the scheduler on its own, soon after optimize returns
        if _scheduler_state(client) == (queues, events):
            break
        time.sleep(0.05)
    assert _scheduler_state(client) == (queues, events)


def test_reports_and_pruning_travel_over_dask_queues(client):
    study = Study(SPACE, sampler=TPESampler(seed=0), pruner=MedianPruner(n_startup_trials=3))
    study.optimize(fifteen_epochs, n_trials=12, executor=DaskExecutor(client))
    states = [t.state for t in study.trials]
    assert TrialState.PRUNED in states and TrialState.COMPLETE in states
    for t in study.trials:
        last = 15 if t.state is TrialState.COMPLETE else t.last_step
        assert sorted(t.intermediate_values) == list(range(1, last + 1))


def test_a_scheduler_address_served_from_this_process(client):
    # DaskExecutor opens its own client; the scheduler runs in this process (a LocalCluster)
    # and unpickles each task's arguments on its own event loop.
    import threading

    study = Study(SPACE, sampler=TPESampler(seed=0), pruner=MedianPruner(n_startup_trials=3))
    executor = DaskExecutor(client.scheduler.address)
    assert executor.client is not client
    run = threading.Thread(target=study.optimize, args=(fifteen_epochs,), kwargs={"n_trials": 6, "executor": executor},
                           daemon=True)
    run.start()
    run.join(timeout=120)
    executor.client.close()
    assert not run.is_alive(), "optimize hung"
    assert [t.state.is_finished() for t in study.trials] == [True] * 6
    assert all(t.intermediate_values for t in study.trials)  # reports came back


def test_a_killed_worker_fails_its_trial_and_the_study_finishes(client):
    study = Study(SPACE, sampler=RandomSampler(seed=0))
    study.optimize(kills_its_worker_on_trial_3, n_trials=8, executor=DaskExecutor(client))
    trials = study.trials
    assert len(trials) == 8
    assert trials[3].state is TrialState.FAIL and trials[3].error.startswith("worker lost")
    assert [t.state for t in trials if t.number != 3] == [TrialState.COMPLETE] * 7


def test_a_standard_process_pool_executor():
    study = Study(SPACE, sampler=RandomSampler(seed=0), pruner=MedianPruner(n_startup_trials=2))
    with concurrent.futures.ProcessPoolExecutor(2) as pool:
        study.optimize(fifteen_epochs, n_trials=6, executor=pool)
    assert len(study.trials) == 6 and all(t.state.is_finished() for t in study.trials)
    assert sorted(study.trials[0].intermediate_values) == list(range(1, 16))


@pytest.mark.parametrize("executor", ["process-pool", "dask"])
def test_a_trial_s_duration_on_an_executor_leaves_out_the_worker_s_start_up(request, executor):
    study = Study(SPACE, sampler=RandomSampler(seed=0))
    if executor == "dask":
        study.optimize(stamps_its_start, n_trials=4, executor=DaskExecutor(request.getfixturevalue("client")))
    else:
        with concurrent.futures.ProcessPoolExecutor(2) as pool:
            study.optimize(stamps_its_start, n_trials=4, executor=pool)
    assert_started_after_the_worker_start_up(study)


class _AtSubmit(concurrent.futures.Executor):
    """Runs each task as it is submitted, so that the trials in flight end
    together, in one wait; submits after the ``breaks_after``-th find it
    broken, and the last task before that died with its worker."""

    _max_workers = 2

    def __init__(self, breaks_after: int | None = None) -> None:
        self.breaks_after, self.submitted = breaks_after, 0

    def submit(self, fn, /, *args, **kwargs):
        self.submitted += 1
        if self.breaks_after is not None and self.submitted > self.breaks_after:
            raise concurrent.futures.process.BrokenProcessPool("the pool is not usable anymore")
        future = concurrent.futures.Future()
        if self.submitted == self.breaks_after:
            future.set_exception(concurrent.futures.process.BrokenProcessPool("a process died"))
        else:
            future.set_result(fn(*args, **kwargs))
        return future


def test_every_trial_that_ended_is_recorded_before_an_uncaught_exception_propagates():
    study = Study(SPACE, sampler=RandomSampler(seed=0))
    seen = []
    with pytest.raises(KeyError, match="not caught"):
        study.optimize(raises_on_trial_0, n_trials=4, executor=_AtSubmit(), catch=(ValueError,),
                       callbacks=[lambda study, trial: seen.append(trial.number)])
    trials = study.trials
    assert [t.state for t in trials] == [TrialState.FAIL, TrialState.COMPLETE]  # trial 1 ended with trial 0
    assert trials[0].error == "KeyError: 'not caught'" and trials[1].value == value_of(trials[1].config)
    assert seen == [1]  # as in a serial run, callbacks see the trials that did not stop the study


def test_a_callback_that_raises_leaves_no_trial_that_ended_unrecorded():
    study = Study(SPACE, sampler=RandomSampler(seed=0))

    def fails(study, trial):
        raise RuntimeError("callback failed")

    with pytest.raises(RuntimeError, match="callback failed"):
        study.optimize(value_of, n_trials=4, executor=_AtSubmit(), callbacks=[fails])
    assert [t.state for t in study.trials] == [TrialState.COMPLETE, TrialState.COMPLETE]  # they ended together


def test_a_pool_that_breaks_fails_the_trial_it_could_not_start_and_the_one_whose_worker_died():
    study = Study(SPACE, sampler=RandomSampler(seed=0))
    with pytest.raises(concurrent.futures.process.BrokenProcessPool, match="not usable"):
        study.optimize(value_of, n_trials=4, executor=_AtSubmit(breaks_after=1))
    dead, not_started = study.trials
    assert dead.state is TrialState.FAIL and dead.error == "worker lost: BrokenProcessPool: a process died"
    assert not_started.state is TrialState.FAIL
    assert not_started.error == "not started: BrokenProcessPool: the pool is not usable anymore"


def test_a_thread_pool_needs_no_main_guard_and_no_process(tmp_path):
    import subprocess
    import sys

    script = tmp_path / "unguarded.py"  # no `if __name__ == "__main__":`: threads start no process
    script.write_text(
        "import concurrent.futures, multiprocessing, os\n"
        "from tpe_core import Int, Study, GridSampler, MedianPruner\n"
        "print('body', os.getpid())\n"
        "def objective(c, trial):\n"
        "    trial.report(c['a'], 1)\n"
        "    trial.should_prune()\n"
        "    return c['a']\n"
        "study = Study({'a': Int(1, 4)}, sampler=GridSampler(), pruner=MedianPruner())\n"
        "with concurrent.futures.ThreadPoolExecutor(2) as pool:\n"
        "    study.optimize(objective, executor=pool)\n"
        "print(len(study.trials), len(multiprocessing.active_children()))\n"
    )
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("body") == 1 and done.stdout.splitlines()[-1] == "4 0"


def test_a_trial_waiting_for_should_prune_when_the_study_stops_ends_and_its_thread_with_it(tmp_path):
    import subprocess
    import sys

    from .test_storage import WORKER, url_of

    done = subprocess.run([sys.executable, str(WORKER), "stop_while_asking_on_threads", url_of(tmp_path / "t.db"),
                           "t"], capture_output=True, text=True, timeout=120)  # it hung, waiting for an answer
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == ["raised", "left the pool"]


def test_a_closed_client_is_refused_and_a_client_made_from_an_address_is_closed(client):
    with distributed.Client(client.scheduler.address) as closed:
        pass
    with pytest.raises(ValueError, match="DaskExecutor: the client is closed; give a running distributed.Client"):
        DaskExecutor(closed)
    executor = DaskExecutor(client.scheduler.address)
    executor.shutdown()
    assert executor.client.status == "closed" and client.status == "running"  # the given one stays open
    DaskExecutor(client).shutdown()
    assert client.status == "running"


def test_executor_arguments_are_checked():
    study = Study(SPACE)
    with pytest.raises(TypeError, match="concurrent.futures.Executor"):
        study.optimize(value_of, n_trials=1, executor="dask")
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        with pytest.raises(ValueError, match="trial_timeout"):
            study.optimize(value_of, n_trials=1, executor=pool, trial_timeout=5)
    with concurrent.futures.ProcessPoolExecutor(1) as pool:
        with pytest.raises(TypeError, match="executor runs trials in worker processes.*picklable"):
            study.optimize(lambda c: 0.0, n_trials=1, executor=pool)


def test_a_thread_pool_runs_a_lambda_with_reports_and_pruning():
    study = Study(SPACE, sampler=TPESampler(seed=0), pruner=MedianPruner(n_startup_trials=2))
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        study.optimize(lambda c, trial: fifteen_epochs(c, trial), n_trials=8, executor=pool)
    assert all(t.state.is_finished() for t in study.trials) and len(study.trials) == 8
    assert sorted(study.trials[0].intermediate_values) == list(range(1, 16))


def test_dask_shutdown_cancels_the_unfinished_tasks(client):
    import time

    executor = DaskExecutor(client)
    futures = [executor.submit(time.sleep, 2) for _ in range(4)]  # two run, two wait
    executor.shutdown(wait=True, cancel_futures=True)
    assert all(f.cancelled() for f in futures)


def test_tpe_search_cv_under_the_dask_joblib_backend(client):
    import joblib
    import numpy as np
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    from tpe_core import Float, TPESearchCV

    X, y = load_iris(return_X_y=True)

    def search():
        return TPESearchCV(
            LogisticRegression(max_iter=500), {"C": Float(1e-2, 10.0, log=True)}, n_iter=6, n_jobs=2, cv=3,
            random_state=0,
        )

    with joblib.parallel_backend("dask"):
        on_dask = search().fit(X, y)
    here = search().fit(X, y)
    assert on_dask.cv_results_["params"] == here.cv_results_["params"]
    np.testing.assert_allclose(on_dask.cv_results_["mean_test_score"], here.cv_results_["mean_test_score"])
