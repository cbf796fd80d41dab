"""Tests of :class:`tpe_core.Study`: optimize, ask/tell, results, and the
package's import surface (lazy heavy imports, the ``parzen`` CLI)."""

from __future__ import annotations

import copy
import datetime
import io
import json
import math
import pickle
import re
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

import tpe_core
from tpe_core import (
    Categorical,
    Float,
    GridSampler,
    Int,
    Normal,
    RandomSampler,
    SamplerExhausted,
    Study,
    TPESampler,
    Trial,
    TrialFailed,
    TrialPruned,
    TrialState,
    load_study,
)

REPO_ROOT = Path(__file__).resolve().parents[2]

# A conditional space: "model" picks a branch; only that branch's parameters
# are active. Names: lr, model, model/0/C, model/1/depth.
COND_SPACE = {
    "lr": Float(1e-4, 1e-1, log=True),
    "model": Categorical(
        [
            {"kind": "svm", "C": Float(0.1, 10.0)},
            {"kind": "tree", "depth": Int(1, 5)},
        ]
    ),
}


def value_of_x(config):
    return float(config["x"])


def fails_above_half(config):
    if config["x"] > 0.5:
        raise TrialFailed("too large for the GPU")
    return config["x"]


def make_study(space=None, *, seed: int = 0, **kwargs) -> Study:
    space = {"x": Float(-1.0, 1.0)} if space is None else space
    return Study(space, sampler=RandomSampler(seed=seed), **kwargs)


def states(study: Study) -> list[TrialState]:
    return [t.state for t in study.trials]


# ---------------------------------------------------------------- failure semantics
class TestObjectiveFailures:
    def test_exception_fails_trial_and_study_goes_on(self):
        calls = []

        def objective(config):
            calls.append(config)
            if len(calls) == 2:
                raise ValueError("boom at two")
            return config["x"] ** 2

        study = make_study()
        study.optimize(objective, n_trials=4)

        assert len(calls) == 4
        assert states(study) == [
            TrialState.COMPLETE,
            TrialState.FAIL,
            TrialState.COMPLETE,
            TrialState.COMPLETE,
        ]
        failed = study.trials[1]
        assert failed.value is None
        assert failed.error.startswith("ValueError: boom at two")
        # the reason is short: the traceback goes to the log, not into the trial
        assert "Traceback" not in failed.error
        for t in study.get_trials([TrialState.COMPLETE]):
            assert t.error is None

    @pytest.mark.parametrize(
        ("returned", "reason"),
        [
            (math.nan, "nan"),
            (math.inf, "inf"),
            (-math.inf, "-inf"),
            ("0.5", "'0.5'"),
            (None, "None"),
            (True, "True"),
            (False, "False"),
            (np.bool_(True), "True"),
            (np.array([1.0, 2.0]), "array"),
            (1 + 2j, "complex"),
            (10**400, "OverflowError: int too large to convert to float"),
            ("complete", "'complete' (str), not a number"),  # tell takes a state's name; an objective may not
            ("pruned", "'pruned'"),
            (TrialState.RUNNING, "TrialState.RUNNING"),
        ],
        ids=["nan", "inf", "-inf", "str", "None", "True", "False", "np.bool_", "array", "complex", "huge int",
             "complete", "pruned", "RUNNING"],
    )
    def test_bad_return_value_fails_with_reason(self, returned, reason):
        study = make_study()
        study.optimize(lambda config: returned, n_trials=2)

        assert states(study) == [TrialState.FAIL, TrialState.FAIL]
        trial = study.trials[0]
        assert trial.value is None
        assert reason in trial.error
        assert "objective returned" in trial.error

    @pytest.mark.parametrize(
        "returned",
        [np.float64(0.25), np.float32(0.25), np.int64(3), np.array(0.25), np.array(7, dtype=np.int32), 4],
        ids=["float64", "float32", "int64", "0-d float", "0-d int", "int"],
    )
    def test_numpy_scalars_complete_with_python_float(self, returned):
        study = make_study()
        study.optimize(lambda config: returned, n_trials=1)

        trial = study.trials[0]
        assert trial.state is TrialState.COMPLETE
        assert type(trial.value) is float
        assert trial.value == float(returned)
        assert type(study.best_value) is float

    def test_a_torch_loss_that_requires_grad_completes_with_its_value(self):
        torch = pytest.importorskip("torch")
        weight = torch.tensor(0.5, requires_grad=True)
        study = make_study()
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # read detached: no warning from torch
            study.optimize(lambda config: (weight * 3) ** 2, n_trials=1)
            study.optimize(lambda config, trial: trial.report(weight * 2, 1) or 0.0, n_trials=1)
        assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 2
        assert study.trials[0].value == 2.25 and study.trials[1].intermediate_values == {1: 1.0}

    def test_numpy_complex_fails_like_python_complex(self):
        # A Python complex fails the trial; a numpy complex must not be
        # silently truncated to its real part.
        study = make_study()
        study.optimize(lambda config: np.complex128(1 + 2j), n_trials=1)

        trial = study.trials[0]
        assert trial.state is TrialState.FAIL, (
            f"a complex loss was accepted as {trial.value!r}, dropping its imaginary part"
        )
        assert trial.value is None

    def test_a_caught_exception_logs_its_traceback_and_one_that_propagates_does_not(self, caplog):
        def objective(config):
            raise (ValueError if len(study.trials) == 1 else KeyError)("boom")

        study = make_study()
        with pytest.raises(KeyError):
            study.optimize(objective, n_trials=3, catch=(ValueError,))
        failures = [r for r in caplog.records if r.name == "tpe_core" and "failed" in r.getMessage()]
        assert [bool(r.exc_info) for r in failures] == [True, False]  # its traceback is shown once, raised

    def test_exception_outside_catch_fails_trial_then_propagates(self):
        def objective(config):
            if objective.calls == 2:
                raise KeyError("missing")
            objective.calls += 1
            return 1.0

        objective.calls = 0
        study = make_study()
        with pytest.raises(KeyError, match="missing"):
            study.optimize(objective, n_trials=10, catch=(ValueError,))

        assert states(study) == [TrialState.COMPLETE, TrialState.COMPLETE, TrialState.FAIL]
        assert study.trials[-1].error.startswith("KeyError: 'missing'")
        assert study.trials[-1].datetime_complete is not None

    def test_exception_in_catch_is_caught(self):
        study = make_study()

        def objective(config):
            raise KeyError("k")

        study.optimize(objective, n_trials=3, catch=(KeyError,))
        assert states(study) == [TrialState.FAIL] * 3

    def test_catch_accepts_a_single_class(self):
        study = make_study()
        study.optimize(lambda c: 1 / 0, n_trials=2, catch=ZeroDivisionError)
        assert states(study) == [TrialState.FAIL] * 2
        assert study.trials[0].error.startswith("ZeroDivisionError: ")

    def test_keyboard_interrupt_fails_trial_keeps_history_and_propagates(self):
        def objective(config):
            if objective.calls == 3:
                raise KeyboardInterrupt
            objective.calls += 1
            return config["x"]

        objective.calls = 0
        study = make_study()
        with pytest.raises(KeyboardInterrupt):
            study.optimize(objective, n_trials=100)

        assert states(study) == [TrialState.COMPLETE] * 3 + [TrialState.FAIL]
        assert study.trials[-1].error.startswith("KeyboardInterrupt")
        assert study.trials[-1].value is None
        # the earlier results are intact and usable
        assert study.best_trial.number in (0, 1, 2)
        # and the study can go on afterwards
        study.optimize(lambda c: 0.0, n_trials=1)
        assert study.trials[-1].number == 4
        assert study.trials[-1].state is TrialState.COMPLETE

    @pytest.mark.parametrize("catch", [(KeyboardInterrupt,), (BaseException,), (SystemExit,)])
    def test_catch_cannot_swallow_base_exceptions(self, catch):
        study = make_study()
        with pytest.raises(TypeError, match="catch"):
            study.optimize(lambda c: 0.0, n_trials=1, catch=catch)
        assert study.trials == []

    def test_keyboard_interrupt_not_swallowed_with_catch_exception(self):
        study = make_study()

        def objective(config):
            raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            study.optimize(objective, n_trials=5, catch=(Exception,))
        assert states(study) == [TrialState.FAIL]

    def test_trial_pruned_records_last_reported_value(self):
        def objective(config, trial):
            for step, loss in enumerate([0.9, 0.7, 0.6]):
                trial.report(loss, step)
            raise TrialPruned()

        study = make_study()
        study.optimize(objective, n_trials=2)

        assert states(study) == [TrialState.PRUNED] * 2
        trial = study.trials[0]
        assert trial.value == 0.6
        assert trial.intermediate_values == {0: 0.9, 1: 0.7, 2: 0.6}
        assert trial.error is None
        # pruned trials are not candidates for the best trial
        with pytest.raises(ValueError, match="no COMPLETE trial"):
            study.best_trial

    def test_trial_pruned_without_reports_has_no_value(self):
        def objective(config):
            raise TrialPruned()

        study = make_study()
        study.optimize(objective, n_trials=1, catch=())
        assert study.trials[0].state is TrialState.PRUNED
        assert study.trials[0].value is None


    @pytest.mark.parametrize("n_jobs", [1, 2])
    def test_trial_failed_ends_the_trial_with_its_message_and_the_study_goes_on(self, caplog, n_jobs):
        study = make_study()
        study.optimize(fails_above_half, n_trials=6, catch=(), n_jobs=n_jobs)  # catch=() does not stop it
        failed = study.get_trials(TrialState.FAIL)
        assert failed and len(study.trials) == 6
        assert all(t.error == "too large for the GPU" and t.value is None for t in failed)
        assert not study._history.diverged.any()  # left out by TPE, not ranked with the diverged
        logged = [r for r in caplog.records if r.name == "tpe_core" and r.levelname == "WARNING"]
        assert len(logged) == len(failed) and all(r.exc_info is None for r in logged)  # no traceback

# ---------------------------------------------------------------- calling convention
class TestCallingConvention:
    def test_two_arg_objective_gets_trial_and_reports(self):
        seen = []

        def objective(config, trial):
            seen.append(trial)
            assert isinstance(trial, Trial)
            assert trial.state is TrialState.RUNNING
            for epoch in range(3):
                trial.report(config["x"] + epoch, step=epoch)
            return config["x"]

        study = make_study()
        study.optimize(objective, n_trials=2)

        assert [t.number for t in seen] == [0, 1]
        for trial in study.trials:
            assert trial.state is TrialState.COMPLETE
            x = trial.config["x"]
            assert trial.intermediate_values == {0: x, 1: x + 1, 2: x + 2}
            assert trial.last_step == 2
            assert all(type(v) is float for v in trial.intermediate_values.values())

    def test_report_same_step_twice_keeps_latest(self):
        study = make_study()
        trial = study.ask()
        trial.report(1.0, 0)
        trial.report(2.0, 0)
        assert trial.intermediate_values == {0: 2.0}

    def test_one_arg_lambda_gets_only_config(self):
        received = []
        study = make_study()
        study.optimize(lambda *args: received.append(args) or 0.0, n_trials=1)
        study.optimize(lambda config: received.append((config,)) or 0.0, n_trials=1)
        assert [len(args) for args in received] == [1, 1]
        assert all(isinstance(args[0], dict) for args in received)

    def test_default_second_arg_gets_only_config(self):
        received = []

        def objective(config, extra=1):
            received.append(extra)
            return 0.0

        study = make_study()
        study.optimize(objective, n_trials=2)
        assert received == [1, 1]

    def test_callable_object_with_trial(self):
        class Objective:
            def __init__(self):
                self.trials = []

            def __call__(self, config, trial):
                self.trials.append(trial)
                return 1.0

        objective = Objective()
        study = make_study()
        study.optimize(objective, n_trials=2)
        assert [t.number for t in objective.trials] == [0, 1]

    def test_non_callable_objective(self):
        with pytest.raises(TypeError, match="objective must be callable"):
            make_study().optimize(42, n_trials=1)


# ---------------------------------------------------------------- ask / tell
class TestAskTell:
    def test_ask_gives_running_trial(self):
        study = make_study(COND_SPACE)
        trial = study.ask()
        assert trial.state is TrialState.RUNNING
        assert trial.number == 0
        assert trial.value is None
        assert trial.datetime_complete is None
        assert trial.duration is None
        assert study.trials == [trial]
        assert study.ask().number == 1

    def test_tell_value_completes(self):
        study = make_study()
        trial = study.ask()
        returned = study.tell(trial, 0.5)
        assert returned is trial
        assert trial.state is TrialState.COMPLETE
        assert trial.value == 0.5
        assert study.best_trial is trial

    def test_tell_by_number(self):
        study = make_study()
        first, second = study.ask(), study.ask()
        assert study.tell(1, 0.25) is second
        assert study.tell(np.int64(0), 0.75) is first
        assert (first.state, second.state) == (TrialState.COMPLETE, TrialState.COMPLETE)
        assert (first.value, second.value) == (0.75, 0.25)

    @pytest.mark.parametrize("number", [2, -1, "0", 0.0])
    def test_tell_unknown_number(self, number):
        study = make_study()
        study.ask()
        study.ask()
        with pytest.raises(ValueError, match="no trial"):
            study.tell(number, 0.5)

    def test_tell_bool_is_not_a_trial_number(self):
        # True == 1, but a bool is not a trial number (n_trials and step
        # reject bools too); it must not finish trial 1.
        study = make_study()
        study.ask()
        study.ask()
        with pytest.raises(ValueError, match="no trial"):
            study.tell(True, 0.5)
        assert study.trials[1].state is TrialState.RUNNING

    def test_tell_twice(self):
        study = make_study()
        trial = study.ask()
        study.tell(trial, 0.5)
        with pytest.raises(ValueError, match="already finished"):
            study.tell(trial, 0.1)
        with pytest.raises(ValueError, match="already finished"):
            study.tell(0, TrialState.FAIL)
        assert trial.value == 0.5
        assert trial.state is TrialState.COMPLETE

    @pytest.mark.parametrize("state", [TrialState.PRUNED, "PRUNED", "pruned"])
    def test_tell_pruned(self, state):
        study = make_study()
        trial = study.ask()
        trial.report(0.3, 0)
        trial.report(0.2, 1)
        study.tell(trial, state)
        assert trial.state is TrialState.PRUNED
        assert trial.value == 0.2
        assert trial.error is None

    def test_tell_fail_with_error(self):
        study = make_study()
        trial = study.ask()
        study.tell(trial, TrialState.FAIL, error="out of memory")
        assert trial.state is TrialState.FAIL
        assert trial.error == "out of memory"
        assert trial.value is None

    def test_tell_refuses_an_error_with_a_value_and_leaves_the_trial_running(self):
        study = make_study()
        trial = study.ask()
        with pytest.raises(ValueError, match=r"tell: error='boom' goes with the state FAIL, not with a value \(0.3\)"):
            study.tell(trial, 0.3, error="boom")
        assert trial.state is TrialState.RUNNING
        study.tell(trial, 0.3)
        assert trial.state is TrialState.COMPLETE

    @pytest.mark.parametrize("state", [TrialState.COMPLETE, TrialState.RUNNING, "complete", "RUNNING"])
    def test_tell_state_that_is_not_an_ending(self, state):
        study = make_study()
        trial = study.ask()
        with pytest.raises(ValueError, match="tell"):
            study.tell(trial, state)
        assert trial.state is TrialState.RUNNING

    @pytest.mark.parametrize("value", [math.nan, math.inf, "fast", None])
    def test_tell_bad_value_fails(self, value):
        study = make_study()
        trial = study.ask()
        study.tell(trial, value)
        assert trial.state is TrialState.FAIL
        assert trial.value is None
        assert repr(value) in trial.error

    def test_tell_an_int_too_large_for_a_float_fails(self):
        study = make_study()
        trial = study.tell(study.ask(), 10**400)
        assert trial.state is TrialState.FAIL and "int too large to convert to float" in trial.error

    @pytest.mark.parametrize("stored", [False, True], ids=["memory", "sqlite"])
    def test_threads_may_share_a_study(self, stored, tmp_path):
        url = f"sqlite:///{tmp_path}/threads.db" if stored else None
        study = Study({"x": Float(-1.0, 1.0)}, sampler=TPESampler(seed=0, n_startup_trials=5), storage=url,
                      study_name="threads")

        def work() -> None:
            for _ in range(40):
                trial = study.ask()
                trial.report(1.0, 1)
                study.tell(trial, trial.config["x"] ** 2)

        threads = [threading.Thread(target=work) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for trials in [study.trials] + ([load_study(storage=url, study_name="threads").trials] if stored else []):
            assert [t.number for t in trials] == list(range(120))
            assert all(t.state is TrialState.COMPLETE and t.intermediate_values == {1: 1.0} for t in trials)

    def test_a_study_pickles_and_one_pickled_without_lock_or_log_setting_still_runs(self):
        import pickle

        study = make_study()
        study.optimize(lambda c: c["x"], n_trials=2)
        again = pickle.loads(pickle.dumps(study))
        again.optimize(lambda c: c["x"], n_trials=1)
        old = Study.__new__(Study)  # as a study pickled before it had a lock and a log setting
        old.__setstate__({k: v for k, v in vars(study).items() if k not in ("_lock", "_log_failures")})
        old.optimize(lambda c: math.nan, n_trials=1)
        assert len(again.trials) == 3 and old.trials[-1].state is TrialState.FAIL

    def test_tell_trial_of_other_study(self):
        study, other = make_study(), make_study()
        trial = other.ask()
        study.ask()
        with pytest.raises(ValueError, match="another study"):
            study.tell(trial, 0.5)
        assert trial.state is TrialState.RUNNING
        assert study.trials[0].state is TrialState.RUNNING

    def test_report_on_finished_trial(self):
        study = make_study()
        trial = study.ask()
        study.tell(trial, 1.0)
        with pytest.raises(RuntimeError, match="COMPLETE"):
            trial.report(0.5, 0)
        with pytest.raises(RuntimeError, match=r"trial 0 is COMPLETE; set_user_attr\(\) is for running trials"):
            trial.set_user_attr("late", 1)  # as with a storage, where it could not be kept
        assert trial.intermediate_values == {} and trial.user_attrs == {}

    def test_get_trials_takes_one_state_or_several(self):
        study = make_study()
        study.tell(study.ask(), 1.0)
        study.tell(study.ask(), TrialState.PRUNED)
        assert [t.number for t in study.get_trials(TrialState.PRUNED)] == [1]
        assert [t.number for t in study.get_trials([TrialState.COMPLETE, TrialState.PRUNED])] == [0, 1]
        assert [t.number for t in study.get_trials("pruned")] == [1]
        assert [t.number for t in study.get_trials(("COMPLETE", TrialState.PRUNED))] == [0, 1]

    @pytest.mark.parametrize(
        ("states", "fragment"), [("DONE", "'DONE' is not a trial state"), (5, "got 5"), ([None], "None is not")]
    )
    def test_get_trials_refuses_what_names_no_state(self, states, fragment):
        with pytest.raises(ValueError, match=re.escape(fragment)):
            make_study().get_trials(states)

    @pytest.mark.parametrize("stored", [False, True], ids=["memory", "sqlite"])
    def test_a_trial_pruned_at_a_nan_report_has_no_value_in_memory_as_in_storage(self, stored, tmp_path):
        url = f"sqlite:///{tmp_path}/nan.db" if stored else None
        study = make_study(storage=url, study_name="nan")
        trial = study.ask()
        trial.report(math.nan, 3)
        study.tell(trial, TrialState.PRUNED)
        assert trial.value is None and trial.state is TrialState.PRUNED
        if stored:
            assert load_study(storage=url, study_name="nan").trials[0].value is None

    @pytest.mark.parametrize("step", [-1, 1.0, 0.5, "1", True, None])
    def test_report_bad_step(self, step):
        trial = make_study().ask()
        with pytest.raises(ValueError, match="step"):
            trial.report(0.5, step)
        assert trial.intermediate_values == {}

    def test_report_numpy_step_and_value(self):
        trial = make_study().ask()
        trial.report(np.float32(0.5), np.int64(3))
        assert trial.intermediate_values == {3: 0.5}
        (step,) = trial.intermediate_values
        assert type(step) is int
        assert type(trial.intermediate_values[3]) is float

    @pytest.mark.parametrize("value", ["0.5", None, [0.5], True])
    def test_report_non_number(self, value):
        trial = make_study().ask()
        with pytest.raises(TypeError, match="value must be a number"):
            trial.report(value, 0)

    def test_should_prune_without_pruner(self):
        assert make_study().ask().should_prune() is False


# ---------------------------------------------------------------- best trial, construction
class TestBest:
    @staticmethod
    def _told(direction: str) -> Study:
        study = make_study(COND_SPACE, direction=direction)
        for value in [3.0, 1.0, 2.0]:
            study.tell(study.ask(), value)
        study.tell(study.ask(), TrialState.FAIL, error="x")
        study.ask()  # left RUNNING
        return study

    @pytest.mark.parametrize(("direction", "number", "value"), [("minimize", 1, 1.0), ("maximize", 0, 3.0)])
    def test_best_by_direction(self, direction, number, value):
        study = self._told(direction)
        best = study.best_trial
        assert best.number == number
        assert study.best_value == value
        assert study.best_params == best.params
        assert study.best_config == best.config
        assert study.best_params == study.trials[number].params

    def test_first_best_on_ties(self):
        study = make_study()
        for value in [2.0, 1.0, 1.0]:
            study.tell(study.ask(), value)
        assert study.best_trial.number == 1

    @pytest.mark.parametrize("attr", ["best_trial", "best_value", "best_params", "best_config"])
    def test_no_complete_trial(self, attr):
        study = make_study()
        with pytest.raises(ValueError, match="no COMPLETE trial"):
            getattr(study, attr)
        study.tell(study.ask(), TrialState.FAIL)
        study.tell(study.ask(), TrialState.PRUNED)
        with pytest.raises(ValueError, match=r"'FAIL': 1") as info:
            getattr(study, attr)
        assert "'PRUNED': 1" in str(info.value)

    def test_bad_direction(self):
        with pytest.raises(ValueError, match=r"direction.*'bogus'"):
            Study({"x": Float(0, 1)}, direction="bogus")

    def test_sampler_given_as_string(self):
        with pytest.raises(TypeError, match="sampler"):
            Study({"x": Float(0, 1)}, sampler="random")

    def test_repr(self):
        study = Study({"x": Float(0, 1)}, sampler=RandomSampler(seed=3), study_name="demo")
        study.ask()
        text = repr(study)
        assert "'demo'" in text
        assert "RandomSampler(seed=3)" in text
        assert "n_trials=1" in text


# ---------------------------------------------------------------- optimize loop
class _StaleGrid(GridSampler):
    """A grid whose exhaustion check is stale, as when another process sharing the study has just asked the
    last points: only the ask finds the grid finished."""

    def is_exhausted(self, space, history, given=None):
        return False


class TestOptimizeLoop:
    @pytest.mark.parametrize("n_jobs", [1, 2])
    def test_a_grid_found_finished_at_the_ask_ends_the_study_cleanly(self, n_jobs):
        study = Study({"x": Int(0, 2)}, sampler=_StaleGrid())
        study.optimize(value_of_x, n_jobs=n_jobs)  # no n_trials: to the grid's end
        assert sorted(t.params["x"] for t in study.trials) == [0, 1, 2]
        with pytest.raises(SamplerExhausted, match="all 3 grid points have been asked"):
            study.ask()

    @pytest.mark.parametrize("n_trials", [-1, True, False, 2.0, "3"])
    def test_bad_n_trials(self, n_trials):
        study = make_study()
        with pytest.raises(ValueError, match="n_trials"):
            study.optimize(lambda c: 0.0, n_trials=n_trials)
        assert study.trials == []

    @pytest.mark.parametrize("timeout", [0, 0.0, -1.0, True, math.nan, "1"])
    def test_bad_timeout(self, timeout):
        study = make_study()
        with pytest.raises(ValueError, match="timeout"):
            study.optimize(lambda c: 0.0, n_trials=1, timeout=timeout)
        assert study.trials == []

    def test_bad_callback(self):
        with pytest.raises(TypeError, match="callbacks"):
            make_study().optimize(lambda c: 0.0, n_trials=1, callbacks=[None])

    def test_zero_trials_runs_nothing(self):
        calls = []
        study = make_study()
        study.optimize(lambda c: calls.append(c) or 0.0, n_trials=0)
        assert calls == []
        assert study.trials == []

    def test_numpy_n_trials(self):
        study = make_study()
        study.optimize(lambda c: 0.0, n_trials=np.int64(3))
        assert len(study.trials) == 3

    def test_optimize_accumulates(self):
        study = make_study()
        study.optimize(lambda c: 0.0, n_trials=2)
        study.optimize(lambda c: 1.0, n_trials=3)
        assert [t.number for t in study.trials] == [0, 1, 2, 3, 4]
        assert [t.value for t in study.trials] == [0.0, 0.0, 1.0, 1.0, 1.0]

    def test_callbacks_after_each_trial(self):
        seen = []

        def callback(study, trial):
            # the trial is finished before callbacks see it
            seen.append((study, trial, trial.state))

        study = make_study()
        study.optimize(lambda c: c["x"], n_trials=3, callbacks=[callback, callback])
        assert len(seen) == 6
        assert all(s is study for s, _, _ in seen)
        assert [t.number for _, t, _ in seen] == [0, 0, 1, 1, 2, 2]
        assert all(state is TrialState.COMPLETE for _, _, state in seen)
        assert [t for _, t, _ in seen[::2]] == study.trials

    def test_stop_from_callback(self):
        def stop_at_two(study, trial):
            if trial.number == 2:
                study.stop()

        study = make_study()
        study.optimize(lambda c: 0.0, n_trials=50, callbacks=[stop_at_two])
        assert len(study.trials) == 3
        # stop() does not carry over to the next optimize call
        study.optimize(lambda c: 0.0, n_trials=2)
        assert len(study.trials) == 5

    def test_stop_without_n_trials(self):
        def stop_at_four(study, trial):
            if trial.number > 4:  # guard: a broken stop() must not hang the suite
                raise RuntimeError("stop() did not stop the study")
            if trial.number == 4:
                study.stop()

        study = make_study()
        study.optimize(lambda c: 0.0, callbacks=[stop_at_four])
        assert len(study.trials) == 5

    def test_timeout_stops_loop(self):
        def objective(config):
            time.sleep(0.02)
            return 0.0

        study = make_study()
        study.optimize(objective, n_trials=1000, timeout=0.05)
        assert 1 <= len(study.trials) < 1000
        assert all(t.state is TrialState.COMPLETE for t in study.trials)

    def test_grid_sampler_stops_at_grid_size(self):
        space = {"a": Int(1, 3), "b": Categorical(["x", "y"])}
        study = Study(space, sampler=GridSampler())
        study.optimize(lambda c: c["a"], n_trials=100)
        assert len(study.trials) == 6
        points = {(t.config["a"], t.config["b"]) for t in study.trials}
        assert points == {(a, b) for a in (1, 2, 3) for b in ("x", "y")}
        # an exhausted grid runs nothing more
        study.optimize(lambda c: c["a"], n_trials=5)
        assert len(study.trials) == 6

    def test_grid_sampler_without_n_trials(self):
        study = Study({"a": Int(0, 4)}, sampler=GridSampler())
        study.optimize(lambda c: c["a"])
        assert sorted(t.config["a"] for t in study.trials) == [0, 1, 2, 3, 4]

    def test_same_seed_same_configs(self):
        def run(seed):
            study = make_study(COND_SPACE, seed=seed)
            study.optimize(lambda c: c["lr"], n_trials=8)
            return [t.params for t in study.trials]

        assert run(5) == run(5)
        assert run(5) != run(6)

    def test_show_progress_on_a_terminal_only(self, monkeypatch):
        import io

        class Terminal(io.StringIO):
            def isatty(self) -> bool:
                return True

        def objective(config, trial):
            trial.report(config["x"], step=7)
            return config["x"]

        terminal, log = Terminal(), io.StringIO()
        study = make_study()
        monkeypatch.setattr(sys, "stderr", terminal)
        study.optimize(objective, n_trials=3, show_progress=True)
        monkeypatch.setattr(sys, "stderr", log)
        study.optimize(objective, n_trials=1, show_progress=True)
        assert len(study.trials) == 4
        assert "3/3" in terminal.getvalue() and "best=" in terminal.getvalue() and "step=7" in terminal.getvalue()
        assert log.getvalue() == ""  # no bar in a log file or a pipe

    def test_show_progress_closes_on_interrupt(self):
        def objective(config):
            raise KeyboardInterrupt

        study = make_study()
        with pytest.raises(KeyboardInterrupt):
            study.optimize(objective, n_trials=3, show_progress=True)
        assert states(study) == [TrialState.FAIL]


# ---------------------------------------------------------------- trial contents
@pytest.fixture(scope="module")
def finished_study() -> Study:
    """20 COMPLETE trials over the conditional space (both branches occur)."""
    study = make_study(COND_SPACE, seed=1)
    study.optimize(lambda c: c["lr"], n_trials=20)
    return study


class TestTrialContents:
    def test_config_has_the_shape_of_the_space(self, finished_study):
        study = finished_study
        kinds = set()
        for trial in study.trials:
            config = trial.config
            assert set(config) == {"lr", "model"}
            assert 1e-4 <= config["lr"] <= 1e-1
            model = config["model"]
            kinds.add(model["kind"])
            if model["kind"] == "svm":
                assert set(model) == {"kind", "C"}
                assert 0.1 <= model["C"] <= 10.0
                assert type(model["C"]) is float
            else:
                assert set(model) == {"kind", "depth"}
                assert model["depth"] in range(1, 6)
                assert type(model["depth"]) is int
        assert kinds == {"svm", "tree"}

    def test_params_are_flat_with_path_names(self, finished_study):
        study = finished_study
        for trial in study.trials:
            params, config = trial.params, trial.config
            if config["model"]["kind"] == "svm":
                assert set(params) == {"lr", "model", "model/0/C"}
                assert params["model"] == 0
                assert params["model/0/C"] == config["model"]["C"]
            else:
                assert set(params) == {"lr", "model", "model/1/depth"}
                assert params["model"] == 1
                assert params["model/1/depth"] == config["model"]["depth"]
            assert params["lr"] == config["lr"]
            assert type(params["lr"]) is float

    def test_times(self, finished_study):
        study = finished_study
        for trial in study.trials:
            assert isinstance(trial.datetime_start, datetime.datetime)
            assert isinstance(trial.datetime_complete, datetime.datetime)
            assert isinstance(trial.duration, datetime.timedelta)
            assert trial.duration >= datetime.timedelta(0)
            assert trial.duration == trial.datetime_complete - trial.datetime_start
        starts = [t.datetime_start for t in study.trials]
        assert starts == sorted(starts)

    def test_times_while_running(self):
        trial = make_study().ask()
        assert isinstance(trial.datetime_start, datetime.datetime)
        assert trial.datetime_complete is None
        assert trial.duration is None

    def test_config_is_a_new_copy_each_access(self):
        study = make_study(COND_SPACE)
        trial = study.ask()
        config = trial.config
        config["lr"] = "changed"
        config["model"]["kind"] = "changed"
        assert trial.config["lr"] != "changed"
        assert trial.config["model"]["kind"] != "changed"

    def test_mutating_config_does_not_change_the_space(self):
        # Categorical options that are mutable constants (lists of layer
        # sizes, dicts of settings) must not be shared with the space: an
        # objective that mutates its config would corrupt every later trial.
        space = {
            "layers": Categorical([[64, 32], [128]]),
            "opt": Categorical([{"name": "adam"}]),
        }
        study = make_study(space)
        trial = study.ask()
        config = trial.config
        config["layers"].append(999)
        config["opt"]["name"] = "corrupted"

        assert 999 not in trial.config["layers"]
        assert trial.config["opt"] == {"name": "adam"}
        assert study.search_space.space["layers"].choices == ([64, 32], [128])

    def test_trial_repr(self):
        study = make_study({"x": Float(0.0, 1.0)})
        trial = study.ask()
        study.tell(trial, 0.5)
        assert repr(trial).startswith("Trial(number=0, state=COMPLETE, value=0.5, params={'x': ")


# ---------------------------------------------------------------- records, dataframe
class TestRecords:
    @pytest.fixture
    def study(self) -> Study:
        study = make_study(COND_SPACE, seed=2)
        study.optimize(lambda c, trial: trial.report(1.0, 4) or c["lr"], n_trials=5)
        trial = study.ask()
        trial.set_user_attr("best_epoch", 3)
        study.tell(trial, 0.5)
        study.tell(study.ask(), TrialState.FAIL, error="broken\nsecond line")
        study.ask()  # RUNNING
        return study

    KEYS = [
        "number",
        "state",
        "value",
        "last_step",
        "datetime_start",
        "datetime_complete",
        "duration",
        "error",
        "source",
        "params_lr",
        "params_model",
        "params_model/0/C",
        "params_model/1/depth",
        "user_attrs_best_epoch",
    ]

    def test_keys_and_values(self, study):
        records = study.to_records()
        assert len(records) == 8
        for record, trial in zip(records, study.trials):
            assert list(record) == self.KEYS
            assert record["number"] == trial.number
            assert record["state"] == trial.state.value
            assert isinstance(record["state"], str)
            assert record["value"] == trial.value
            assert record["datetime_start"] == trial.datetime_start
            assert record["error"] == trial.error
            assert record["last_step"] == (4 if trial.number < 5 else None)
            assert record["user_attrs_best_epoch"] == (3 if trial.number == 5 else None)
            params = trial.params
            for name in ("lr", "model", "model/0/C", "model/1/depth"):
                assert record[f"params_{name}"] == params.get(name)
        # exactly one branch's parameter is filled, the other is None
        for record in records:
            filled = [record["params_model/0/C"] is not None, record["params_model/1/depth"] is not None]
            assert filled == ([True, False] if record["params_model"] == 0 else [False, True])

    def test_durations_are_seconds(self, study):
        records = study.to_records()
        for record in records[:7]:
            assert isinstance(record["duration"], float)
            assert record["duration"] >= 0.0
        running = records[7]
        assert running["state"] == "RUNNING"
        assert running["duration"] is None
        assert running["datetime_complete"] is None
        assert running["value"] is None
        assert records[6]["state"] == "FAIL"
        assert records[6]["error"] == "broken\nsecond line"

    def test_empty_study(self):
        assert make_study().to_records() == []
        pd = pytest.importorskip("pandas")
        frame = make_study().to_dataframe()  # it had no columns: frame["value"] was a KeyError
        assert list(frame.columns) == ["number", "state", "value", "last_step", "datetime_start",
                                       "datetime_complete", "duration", "error", "source", "params_x"]
        assert len(frame) == 0 and isinstance(frame, pd.DataFrame)

    def test_to_dataframe(self, study):
        pd = pytest.importorskip("pandas")
        frame = study.to_dataframe()
        assert isinstance(frame, pd.DataFrame)
        assert list(frame.columns) == self.KEYS
        assert len(frame) == 8
        assert list(frame["number"]) == list(range(8))
        assert list(frame["state"]) == ["COMPLETE"] * 6 + ["FAIL", "RUNNING"]
        assert frame["value"].iloc[:6].tolist() == [t.value for t in study.trials[:6]]


# ---------------------------------------------------------------- import surface, CLI
def _run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_import_does_not_load_heavy_dependencies():
    code = (
        "import json, sys, tpe_core\n"
        "heavy = ('torch', 'skorch', 'sklearn', 'dask')\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in heavy)))\n"
    )
    proc = _run_python(code)
    assert proc.returncode == 0, proc.stderr
    loaded = json.loads(proc.stdout.strip().splitlines()[-1])
    assert loaded == [], f"import tpe_core loaded {loaded}"


def test_import_all_packages():
    proc = _run_python("import tpe_core, models, cli; print(tpe_core.__version__, callable(cli.main))")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == [tpe_core.__version__, "True"]


def test_public_names_are_exported():
    for name in tpe_core.__all__:
        assert hasattr(tpe_core, name), name
    assert tpe_core.Study.__module__ == "tpe_core._study"


def test_importances_rank_the_parameter_that_decides_first():
    space = {
        "a": Float(0.0, 1.0),
        "b": Float(0.0, 1.0),
        "lr": Float(1e-5, 1.0, log=True),
        "c": Categorical(list("xyz")),
    }
    study = Study(space, sampler=RandomSampler(seed=0))
    study.optimize(lambda c: 10 * math.log10(c["lr"]) + 0.01 * c["a"], n_trials=60)
    scores = study.importances()
    assert list(scores)[0] == "lr"
    assert scores["lr"] > 0.8
    assert math.isclose(sum(scores.values()), 1.0)
    assert study.importances() == scores  # deterministic
    with pytest.raises(ValueError, match="at least 2 COMPLETE trials"):
        Study(space).importances()


def test_importances_give_a_branch_s_credit_to_the_choice_not_to_its_parameters():
    space = {"m": Categorical([{"a": Float(0.0, 1.0)}, {"b": Float(0.0, 1.0)}]), "z": Float(0.0, 1.0)}
    study = Study(space, sampler=RandomSampler(seed=0))
    study.optimize(lambda c: (10.0 if "a" in c["m"] else 0.0) + c["z"], n_trials=60)
    scores = study.importances()
    assert list(scores)[0] == "m" and scores["m"] > 0.9  # a and b do nothing (they had 0.37 and 0.33)


def test_importances_of_few_trials_a_constant_objective_and_huge_values():
    study = Study({"x": Float(0.0, 1.0), "y": Float(0.0, 1.0)}, sampler=RandomSampler(seed=0))
    study.optimize(lambda c: c["x"], n_trials=3)
    assert math.isclose(sum(study.importances().values()), 1.0)  # it was all zeros: no leaf of 2 could split 3
    constant = Study({"x": Float(0.0, 1.0), "c": Categorical(["only"])}, sampler=RandomSampler(seed=0))
    constant.optimize(lambda c: 1.0, n_trials=5)
    assert constant.importances() == {"x": 1.0, "c": 0.0}  # what never varied gets 0
    huge = Study({"x": Float(0.0, 1.0), "y": Float(0.0, 1.0)}, sampler=RandomSampler(seed=0))
    huge.optimize(lambda c: c["x"] * 1e308, n_trials=10)
    assert list(huge.importances())[0] == "x" and math.isclose(sum(huge.importances().values()), 1.0)  # not nan
    both_ways = Study({"x": Float(0.0, 1.0), "y": Float(0.0, 1.0)}, sampler=RandomSampler(seed=0))
    for value in (1e308, -1e308, 1.0):
        both_ways.tell(both_ways.ask(), value)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's overflow in the range 1e308 - -1e308
        assert math.isclose(sum(both_ways.importances().values()), 1.0)
    no_parameter = Study({"k": 3}, sampler=RandomSampler(seed=0))
    no_parameter.optimize(lambda c: 1.0, n_trials=3)
    assert no_parameter.importances() == {}  # a ZeroDivisionError


class _Terminal(io.StringIO):
    """A stderr that is a terminal (so the progress bar shows) and, as a real one, does not pickle."""

    def isatty(self) -> bool:
        return True

    def __reduce__(self):
        raise TypeError("cannot pickle '_io.TextIOWrapper' object")


def test_a_study_pickles_and_copies_while_its_progress_bar_shows(monkeypatch):
    # The bar, holding sys.stderr, went with the study: fmin(trials_save_file=...) stopped after one trial.
    monkeypatch.setattr(sys, "stderr", _Terminal())
    study = make_study()
    copies = []
    study.optimize(lambda c: c["x"], n_trials=3, show_progress=True,
                   callbacks=lambda s, t: copies.append((pickle.loads(pickle.dumps(s)), copy.deepcopy(s))))
    assert [len(pickled.trials) for pickled, _ in copies] == [1, 2, 3]
    assert all(c._progress is None and not c._runs for pair in copies for c in pair)
    assert "parzen" in sys.stderr.getvalue()  # the bar was shown


def test_a_nested_optimize_without_a_bar_leaves_the_outer_bar_showing_reports(monkeypatch):
    # The inner run, closing, took the study's bar away: the outer bar stopped showing reported steps.
    monkeypatch.setattr(sys, "stderr", _Terminal())
    study = make_study()

    def objective(config, trial):
        study.optimize(lambda c: c["x"], n_trials=1)
        trial.report(0.5, step=77)
        return config["x"]

    study.optimize(objective, n_trials=1, show_progress=True)
    assert "step=77" in sys.stderr.getvalue()


def test_a_deep_copy_of_a_study_is_independent_of_it():
    # A trial copies as itself (for the objectives and callbacks that hold one): the copy's trials were
    # the original's, so telling the copy finished the original's trial but not its history.
    study = make_study()
    study.tell(study.ask(), 0.5)
    study.ask()
    twin = copy.deepcopy(study)
    twin.trials[1].report(0.3, step=1)
    twin.tell(1, 0.1)
    assert study.trials[1].state is TrialState.RUNNING and study.best_value == 0.5
    assert study.trials[1].intermediate_values == {}
    study.tell(1, 0.9)
    twin.tell(twin.ask(), 0.2)
    assert [t.value for t in study.trials] == [0.5, 0.9]
    assert [t.value for t in twin.trials] == [0.5, 0.1, 0.2] and twin.best_value == 0.1
    assert copy.deepcopy(study.trials[0]) is study.trials[0]  # a trial alone still copies as itself


def test_stop_stops_the_optimize_runs_going_on_and_not_one_started_later():
    # One flag for the study, cleared by every optimize at its start: another thread's (or a nested) optimize
    # erased a pending stop.
    study = make_study()
    started = threading.Event()

    def slow(config):
        started.set()
        time.sleep(0.05)
        return config["x"]

    long_run = threading.Thread(target=study.optimize, args=(slow,), kwargs={"n_trials": 200})
    long_run.start()
    started.wait(10)
    study.stop()
    study.optimize(lambda c: c["x"], n_trials=2)  # started after the stop: runs as asked
    long_run.join(10)
    assert not long_run.is_alive()
    assert len(study.trials) < 20  # the long run stopped after its current trial (200 without the fix)

    nested = make_study()

    def stops_then_runs_another(config):
        nested.stop()
        nested.optimize(lambda c: c["x"], n_trials=1)
        return config["x"]

    nested.optimize(stops_then_runs_another, n_trials=3)
    assert len(nested.trials) == 2  # the outer trial and the one inside it; then the outer run stops


def test_an_objective_s_trial_parameter_may_have_a_default_but_not_be_keyword_only():
    study = Study({"x": Float(0.0, 1.0)}, sampler=RandomSampler(seed=0))
    study.optimize(lambda config, trial=None: 0.0 if trial is None else 1.0, n_trials=1)
    assert study.trials[0].value == 1.0  # the trial was passed (it was silently not)
    study.optimize(lambda config, scale=2.0: scale, n_trials=1)
    assert study.trials[1].value == 2.0  # another default parameter is the objective's own
    with pytest.raises(TypeError, match="takes trial as a keyword-only parameter; .* objective\\(config, trial\\)"):
        study.optimize(lambda config, *, trial: 0.0, n_trials=1)
    assert len(study.trials) == 2


def test_tell_takes_an_exception_as_the_error_and_an_objective_may_tell_its_own_trial(caplog):
    study = Study({"x": Float(0.0, 1.0)}, sampler=RandomSampler(seed=0))
    trial = study.ask()
    study.tell(trial, "FAIL", error=ValueError("bad x"))
    assert trial.state is TrialState.FAIL and trial.error == "ValueError: bad x"
    with pytest.raises(TypeError, match="tell: error must be a string or an exception, got 123"):
        study.tell(study.ask(), "FAIL", error=123)

    def tells_itself(config, trial):
        study.tell(trial, 0.1)
        return 0.2

    study.optimize(tells_itself, n_trials=2)  # it stopped optimize with "already finished"
    assert [t.value for t in study.trials[-2:]] == [0.1, 0.1]
    assert "Trial 2 was told inside its objective (COMPLETE); what the objective then returned is not recorded" \
        in caplog.text


def test_optimize_takes_one_callback_and_refuses_an_exception_instance_for_catch():
    study = Study({"x": Float(0.0, 1.0)}, sampler=RandomSampler(seed=0))
    seen = []
    study.optimize(lambda c: c["x"], n_trials=2, callbacks=lambda s, t: seen.append(t.number))
    assert seen == [0, 1]
    with pytest.raises(TypeError, match=r"catch takes exception classes, got the instance ValueError\('x'\); pass Val"):
        study.optimize(lambda c: c["x"], n_trials=1, catch=ValueError("x"))
    for bad in (None, [("x", 0.5)]):
        with pytest.raises(TypeError, match="parameters are a dict of values by name, as trial.params shows them"):
            study.enqueue(bad)


def test_a_pruned_trial_told_through_another_study_object_keeps_its_last_value(tmp_path):
    url = f"sqlite:///{tmp_path}/p.db"
    asking = Study({"x": Float(0.0, 1.0)}, storage=url, study_name="s")
    telling = Study({"x": Float(0.0, 1.0)}, storage=url, study_name="s")
    trial = asking.ask()
    assert len(telling.trials) == 1  # it knows the trial, before the reports
    for step, value in enumerate([0.9, 0.7, 0.5]):
        trial.report(value, step)
    telling.tell(trial, "PRUNED")
    (stored,) = load_study(storage=url, study_name="s").trials
    assert stored.state is TrialState.PRUNED and stored.value == 0.5  # it was None: the reports were not seen


def test_importances_with_a_log_parameter_at_zero():
    """A qlognormal's 0 (a log-scale parameter that is not > 0) works: the
    forest sees the raw values, which order the trials as their logs do."""
    space = {"n": Normal(0.0, 1.0, log=True, step=1.0), "a": Float(0.0, 1.0)}
    study = Study(space, sampler=RandomSampler(seed=0))
    study.optimize(lambda c: 10 * c["n"] + 0.01 * c["a"], n_trials=60)
    assert 0.0 in [t.params["n"] for t in study.trials]
    scores = study.importances()
    assert list(scores)[0] == "n" and math.isclose(sum(scores.values()), 1.0)
