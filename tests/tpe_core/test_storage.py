"""SQLite storage: persistence, crash recovery, concurrency and bad input.

Real files and real processes throughout (the worker is ``processes.py``).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import scipy.stats
from hypothesis import given
from hypothesis import strategies as st

from tpe_core import (
    MAX_ERROR_LENGTH,
    Categorical,
    Float,
    Int,
    RandomSampler,
    SQLiteStorage,
    StorageError,
    Study,
    StudyMismatchError,
    TPESampler,
    TrialFinishedError,
    TrialState,
    delete_study,
    load_study,
)
from tpe_core._storage import _sqlite

from .processes import SPACE, hangs_dies_or_fails, value_of

WORKER = Path(__file__).with_name("processes.py")


def url_of(path: Path) -> str:
    return f"sqlite:///{path}"


def run_worker(*args: object, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(WORKER), *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def runs(pid: int) -> bool:
    """Whether process ``pid`` exists and has not exited (a zombie has)."""
    try:
        os.kill(pid, 0)
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (ProcessLookupError, FileNotFoundError):
        return False
    return state not in ("Z", "X")


def finish(proc: subprocess.Popen, timeout: float = 120) -> str:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err
    assert "locked" not in err
    return out


def file_digest(path: Path) -> dict[str, str]:
    """Hashes of a database file and its write-ahead log (the ``-shm`` index is
    shared memory that every reader updates, so it is left out)."""
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in (path, Path(f"{path}-wal"))
        if p.exists()
    }


def make_study(path: Path, name: str = "s", **kwargs) -> Study:
    kwargs.setdefault("sampler", TPESampler(seed=0))
    return Study(SPACE, storage=url_of(path), study_name=name, **kwargs)


#: What a user attribute may hold.
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**62), 2**62) | st.text(max_size=5)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=6,
)


# ---------------------------------------------------------------- persistence
class TestResume:
    def test_reopen_restores_everything(self, tmp_path):
        study = make_study(tmp_path / "a.db", direction="maximize")
        study.optimize(value_of, n_trials=6)
        trial = study.ask()
        trial.report(0.25, step=1)
        trial.report(0.5, step=3)
        trial.set_user_attr("best_epoch", 3)
        study.tell(trial, TrialState.PRUNED)
        study.tell(study.ask(), math.nan)

        again = load_study(storage=url_of(tmp_path / "a.db"), study_name="s")
        assert again.direction == "maximize"
        assert again.search_space.params == study.search_space.params
        assert [t.number for t in again.trials] == list(range(8))
        for old, new in zip(study.trials, again.trials):
            assert (new.state, new.value, new.params) == (old.state, old.value, old.params)
            assert new.intermediate_values == old.intermediate_values
            assert new.user_attrs == old.user_attrs
            assert new.datetime_start == old.datetime_start
            assert new.datetime_complete == old.datetime_complete
        pruned = again.trials[6]
        assert (pruned.state, pruned.value, pruned.user_attrs) == (TrialState.PRUNED, 0.5, {"best_epoch": 3})
        np.testing.assert_array_equal(again._history.steps, study._history.steps)
        np.testing.assert_array_equal(again._history.diverged, study._history.diverged)
        assert again.best_trial.number == study.best_trial.number

    def test_study_constructor_resumes_and_optimize_adds_n_trials(self, tmp_path):
        make_study(tmp_path / "a.db").optimize(value_of, n_trials=3)
        study = make_study(tmp_path / "a.db")
        assert len(study.trials) == 3
        study.optimize(value_of, n_trials=4)
        assert [t.number for t in study.trials] == list(range(7))

    def test_resumed_tpe_proposes_what_an_uninterrupted_study_would(self, tmp_path):
        in_memory = Study(SPACE, sampler=TPESampler(seed=3))
        in_memory.optimize(value_of, n_trials=40)

        make_study(tmp_path / "r.db", sampler=TPESampler(seed=3)).optimize(value_of, n_trials=20)
        resumed = load_study(storage=url_of(tmp_path / "r.db"), study_name="s", sampler=TPESampler(seed=3))
        resumed.optimize(value_of, n_trials=20)

        assert [t.params for t in resumed.trials] == [t.params for t in in_memory.trials]
        assert [t.value for t in resumed.trials] == [t.value for t in in_memory.trials]

    def test_generated_name_and_study_names(self, tmp_path):
        storage = SQLiteStorage(url_of(tmp_path / "n.db"))
        first = Study(SPACE, storage=storage)
        second = Study(SPACE, storage=storage, study_name="mine")
        assert first.study_name.startswith("study-")
        assert storage.study_names() == [first.study_name, "mine"]
        assert second.storage is storage

    @given(attrs=st.lists(st.tuples(st.sampled_from(["a", "b", "", "é"]), JSON_VALUES), max_size=6))
    def test_study_user_attrs_round_trip_and_the_last_one_of_a_key_stands(self, tmp_path_factory, attrs):
        path = tmp_path_factory.mktemp("attrs") / "a.db"
        study, in_memory = make_study(path), Study(SPACE)
        for key, value in attrs:
            study.set_user_attr(key, value)
            in_memory.set_user_attr(key, value)
        expected = dict(attrs)
        assert study.user_attrs == in_memory.user_attrs == expected
        assert load_study(storage=url_of(path), study_name="s").user_attrs == expected  # another connection
        assert make_study(path, name="other").user_attrs == {}

    def test_a_file_from_before_study_attributes_gains_them(self, tmp_path):
        path = tmp_path / "old.db"
        make_study(path).optimize(value_of, n_trials=2)
        with sqlite3.connect(path) as conn:  # the layout of files written before study attributes
            conn.execute("DROP TABLE study_user_attrs")
        study = load_study(storage=url_of(path), study_name="s")
        assert study.user_attrs == {}  # read without writing
        study.set_user_attr("metric", "accuracy")
        assert load_study(storage=url_of(path), study_name="s").user_attrs == {"metric": "accuracy"}
        assert len(study.trials) == 2

    def test_study_user_attrs_are_checked_and_copied(self):
        study = Study(SPACE)
        with pytest.raises(ValueError, match="value of 'x' must be JSON-serialisable"):
            study.set_user_attr("x", math.nan)
        with pytest.raises(TypeError, match="key must be a string, got 1"):
            study.set_user_attr(1, "x")
        with pytest.raises(ValueError, match="key must be text that UTF-8 can write"):
            study.set_user_attr("s\ud800", 1)  # a lone surrogate, which SQLite cannot store
        deep: list = []
        for _ in range(5000):
            deep = [deep]
        with pytest.raises(ValueError, match="value of 'deep' must be JSON-serialisable.*not nested too deep"):
            study.set_user_attr("deep", deep)
        study.user_attrs["y"] = 1  # a copy
        assert study.user_attrs == {}

    @given(
        values=st.lists(
            st.one_of(
                st.floats(allow_nan=False, allow_infinity=False),
                st.sampled_from([5e-324, 1.7976931348623157e308, -0.0, 1e-300]),
            ),
            min_size=1,
            max_size=4,
        ),
        steps=st.dictionaries(st.integers(0, 2**40), st.floats(allow_nan=True), max_size=4),
        seed=st.integers(0, 2**32 - 1),
        attr=JSON_VALUES,
    )
    def test_params_and_values_round_trip_exactly(self, tmp_path_factory, values, steps, seed, attr):
        path = tmp_path_factory.mktemp("rt") / "rt.db"
        space = {
            "tiny": Float(5e-324, 1e-300, log=True),
            "huge": Float(-1e307, 1e308),
            "big_int": Int(-(2**40), 2**40),
            "choice": Categorical([None, True, False, "text", 2**40, 1e-300, (1, 2)]),
            "branch": Categorical([{"u": Int(1, 3)}, {"v": Float(0.0, 1.0, step=0.25)}]),
        }
        study = Study(space, sampler=RandomSampler(seed=seed), storage=url_of(path), study_name="rt")
        for value in values:
            trial = study.ask()
            for step, v in steps.items():
                trial.report(v, step)
            trial.set_user_attr("a", attr)
            study.tell(trial, value)

        again = load_study(storage=url_of(path), study_name="rt")
        for old, new in zip(study.trials, again.trials, strict=True):
            assert new.params == old.params
            assert [type(v) for v in new.params.values()] == [type(v) for v in old.params.values()]
            assert new.value == old.value  # (SQLite's REAL keeps -0.0 as 0.0, which compares equal)
            np.testing.assert_equal(new.intermediate_values, old.intermediate_values)  # NaN equals NaN
            assert new.user_attrs == {"a": attr}


    @given(
        attr=st.recursive(
            st.none() | st.booleans() | st.integers(-(2**62), 2**62) | st.text(max_size=3),
            lambda inner: st.lists(inner, max_size=3).map(tuple)
            | st.dictionaries(st.integers(0, 3) | st.booleans(), inner, max_size=3),
            max_leaves=5,
        )
    )
    def test_user_attrs_read_the_same_in_memory_as_from_storage(self, tmp_path_factory, attr):
        """Tuples and dicts with non-string keys are kept as storage gives them back (lists, string keys)."""
        path = tmp_path_factory.mktemp("attrs") / "u.db"
        stored, in_memory = make_study(path), Study(SPACE)
        for study in (stored, in_memory):
            trial = study.ask()
            trial.set_user_attr("a", attr)
            study.tell(trial, 1.0)
            study.set_user_attr("a", attr)
        again = load_study(storage=url_of(path), study_name="s")
        assert in_memory.trials[0].user_attrs == stored.trials[0].user_attrs == again.trials[0].user_attrs
        assert in_memory.user_attrs == stored.user_attrs == again.user_attrs
        assert in_memory.user_attrs["a"] == json.loads(json.dumps(attr))

# ---------------------------------------------------------------- crash safety
class TestCopies:
    def test_a_study_file_copied_alone_after_its_process_exited_holds_every_trial(self, tmp_path):
        proc = run_worker("optimize", url_of(tmp_path / "w.db"), "s", 12)
        assert proc.wait(timeout=120) == 0, proc.stderr.read()
        shutil.copy(tmp_path / "w.db", tmp_path / "copy.db")  # without its -wal file
        assert len(load_study(storage=url_of(tmp_path / "copy.db"), study_name="s").trials) == 12

    def test_close_folds_the_wal_file_in_and_the_storage_opens_again_on_use(self, tmp_path):
        storage = SQLiteStorage(url_of(tmp_path / "c.db"))
        study = Study(SPACE, storage=storage, study_name="s")
        study.optimize(value_of, n_trials=3)
        storage.close()
        shutil.copy(tmp_path / "c.db", tmp_path / "copy.db")
        assert len(load_study(storage=url_of(tmp_path / "copy.db"), study_name="s").trials) == 3
        study.optimize(value_of, n_trials=1)  # opened again
        assert len(load_study(storage=url_of(tmp_path / "c.db"), study_name="s").trials) == 4


class TestCrashRecovery:
    def test_sigkill_mid_trial_loses_nothing_finished(self, tmp_path):
        path, marker = tmp_path / "k.db", tmp_path / "started"
        proc = run_worker("hang_at", url_of(path), "s", 5, marker)
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert proc.poll() is None, proc.stderr.read()
            assert time.monotonic() < deadline, "the worker never reached trial 5"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)  # reaps it and closes its pipes

        study = make_study(path)
        trials = study.trials
        assert [t.state for t in trials] == [TrialState.COMPLETE] * 5 + [TrialState.FAIL]
        for t in trials[:5]:
            assert t.value == value_of(t.config)
        lost = trials[5]
        assert lost.error.startswith("worker lost")
        assert str(proc.pid) in lost.error
        assert lost.intermediate_values == {1: 0.5}

        study.optimize(value_of, n_trials=10 - len(trials))
        assert [t.number for t in study.trials] == list(range(10))
        assert [t.state for t in study.trials[6:]] == [TrialState.COMPLETE] * 4

    def test_trial_of_another_host_is_lost_once_its_heartbeat_is_old(self, tmp_path):
        path = tmp_path / "h.db"
        study = make_study(path)
        stale, fresh = study.ask(), study.ask()
        with sqlite3.connect(path) as conn:
            conn.execute("UPDATE trials SET owner_host = 'elsewhere'")
            conn.execute("UPDATE trials SET heartbeat = ? WHERE number = ?", (time.time() - 1000, stale.number))
        storage = SQLiteStorage(url_of(path), heartbeat_interval=60, grace_period=300)
        again = Study(SPACE, storage=storage, study_name="s")
        assert [t.state for t in again.trials] == [TrialState.FAIL, TrialState.RUNNING]
        assert "no heartbeat from pid" in again.trials[0].error
        # the original owner's late result is refused; the stored state stands
        with pytest.raises(TrialFinishedError, match="already finished as FAIL"):
            study.tell(stale, 1.0)
        assert study.trials[0].state is TrialState.FAIL
        study.tell(fresh, 2.0)
        assert again.trials[1].value == 2.0

    @pytest.mark.skipif(not os.path.exists("/proc/self/ns/pid"), reason="pid namespaces are a Linux thing")
    def test_ctrl_c_while_a_result_is_stored_keeps_it_then_stops_the_study(self, tmp_path, monkeypatch):
        study = make_study(tmp_path / "i.db")
        stores = study.storage.finish_trial

        def interrupted(*args, **kwargs):
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C as the result is being written
            return stores(*args, **kwargs)

        monkeypatch.setattr(study.storage, "finish_trial", interrupted)
        with pytest.raises(KeyboardInterrupt):
            study.optimize(value_of, n_trials=3)
        (stored,) = load_study(storage=url_of(tmp_path / "i.db"), study_name="s").trials
        assert stored.state is TrialState.COMPLETE and stored.value == value_of(stored.config)
        assert [t.state for t in study.trials] == [TrialState.COMPLETE]

    @pytest.mark.skipif(sys.platform == "win32", reason="pids are checked with /proc and signals")
    def test_a_worker_hung_in_its_objective_ends_when_its_driver_is_killed(self, tmp_path):
        path, marker = tmp_path / "w.db", tmp_path / "worker.pid"
        proc = run_worker("hang_in_worker", url_of(path), "s", marker)
        deadline = time.monotonic() + 120
        while not marker.exists() or not marker.read_text():
            assert proc.poll() is None, proc.stderr.read()
            assert time.monotonic() < deadline, "the worker never started its trial"
            time.sleep(0.05)
        worker = int(marker.read_text())
        proc.send_signal(signal.SIGKILL)  # the driver; its worker hangs in time.sleep(600)
        proc.communicate(timeout=30)
        deadline = time.monotonic() + 30
        while runs(worker):
            assert time.monotonic() < deadline, f"worker {worker} outlived its driver"
            time.sleep(0.05)

    def test_a_pid_of_another_pid_namespace_under_the_same_host_name_is_judged_by_its_heartbeat(self, tmp_path):
        # A container sharing the host's name: its pids mean nothing here (this one is dead here).
        path = tmp_path / "ns.db"
        study = make_study(path)
        other_space = study.ask()
        study.ask()  # owned by a dead pid of this pid space (below)
        dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
        with sqlite3.connect(path) as conn:
            started = conn.execute("SELECT owner_started FROM trials").fetchone()[0]
            assert "@" in started  # this process's start time and pid space
            conn.execute("UPDATE trials SET owner_pid = ?", (int(dead.stdout),))
            conn.execute("UPDATE trials SET owner_started = '1@another-boot/pid:[1]' WHERE number = ?",
                         (other_space.number,))
        storage = SQLiteStorage(url_of(path), heartbeat_interval=60, grace_period=300)
        again = Study(SPACE, storage=storage, study_name="s")
        assert [t.state for t in again.trials] == [TrialState.RUNNING, TrialState.FAIL]
        assert again.trials[1].error.startswith(f"worker lost: pid {int(dead.stdout)} on host")
        with sqlite3.connect(path) as conn:  # its heartbeat now decides
            conn.execute("UPDATE trials SET heartbeat = ? WHERE number = ?", (time.time() - 1000, other_space.number))
        assert "no heartbeat from pid" in Study(SPACE, storage=storage, study_name="s").trials[0].error

    def test_heartbeat_thread_refreshes_running_trials(self, tmp_path):
        path = tmp_path / "b.db"
        storage = SQLiteStorage(url_of(path), heartbeat_interval=0.05)
        study = Study(SPACE, storage=storage, study_name="s")
        trial = study.ask()
        with sqlite3.connect(path) as conn:
            first = conn.execute("SELECT heartbeat FROM trials").fetchone()[0]
            deadline = time.monotonic() + 30
            while conn.execute("SELECT heartbeat FROM trials").fetchone()[0] == first:
                assert time.monotonic() < deadline, "no heartbeat was written"
                time.sleep(0.02)
        study.tell(trial, 1.0)

    def test_the_heartbeat_ends_with_the_optimize_that_started_it(self, tmp_path):
        # It slept a whole interval (30 s) before seeing no trial ran: a loop of short studies held a thread
        # and three file handles per study.
        storage = SQLiteStorage(url_of(tmp_path / "h.db"))
        study = Study(SPACE, storage=storage, study_name="s", sampler=RandomSampler(seed=0))
        study.optimize(value_of, n_trials=2)
        beat = storage._heartbeat
        assert beat is not None
        beat.join(timeout=10)
        assert not beat.is_alive()
        trial = study.ask()  # a trial asked by hand keeps a heartbeat, an optimize ending or not
        study.optimize(value_of, n_trials=1)
        time.sleep(0.2)
        assert storage._heartbeat is not None and storage._heartbeat.is_alive()
        study.tell(trial, 1.0)

    def test_the_heartbeat_of_a_removed_file_ends_quietly_and_makes_no_new_file(self, tmp_path, caplog):
        import threading

        from tpe_core._storage._owner import this_process
        from tpe_core._storage._sqlite import _beat

        path = tmp_path / "gone.db"
        storage = SQLiteStorage(url_of(path), heartbeat_interval=0.05)
        Study(SPACE, storage=storage, study_name="s")
        for file in tmp_path.iterdir():  # the study's folder cleaned up under a running process
            file.unlink()
        beat = threading.Thread(target=_beat, args=(storage, this_process()), daemon=True)
        beat.start()
        beat.join(timeout=10)
        assert not beat.is_alive() and not path.exists()
        assert not caplog.records  # it said "its running trials may be marked worker lost", long after the study

    def test_writes_after_the_file_was_removed_or_replaced_are_refused_not_lost(self, tmp_path):
        # They went into the removed file, which no one could open again: every later trial was lost unseen.
        path = tmp_path / "r.db"
        study = make_study(path)
        study.optimize(value_of, n_trials=2)
        backup = tmp_path / "backup.db"
        with sqlite3.connect(path) as source, sqlite3.connect(backup) as copy:
            source.backup(copy)
        for replace in (lambda: [f.unlink() for f in tmp_path.glob("r.db*")], lambda: os.replace(backup, path)):
            replace()
            with pytest.raises(StorageError, match=r"r\.db' was removed or replaced while this process had it open"):
                study.optimize(value_of, n_trials=1)
        assert len(study.trials) == 2
        assert [t.state for t in make_study(path).trials] == [TrialState.COMPLETE] * 2  # the copy put back

    def test_a_result_the_storage_refuses_is_kept_and_written_at_the_next_write(self, tmp_path):
        # A lock held past the timeout dropped the objective's value and left its trial RUNNING for good.
        path = tmp_path / "l.db"
        study = Study(SPACE, storage=SQLiteStorage(url_of(path), timeout=0.2), study_name="s")
        holder = sqlite3.connect(path, isolation_level=None)

        def locks_the_file(config):
            holder.execute("BEGIN IMMEDIATE")  # as a database browser writing
            return 0.25

        with pytest.raises(StorageError, match="stayed locked.*trial 0 finished COMPLETE with value 0.25, which this "
                                               "study writes to the file at its next ask, tell or optimize"):
            study.optimize(locks_the_file, n_trials=1)
        assert [(t.state, t.value) for t in study.trials] == [(TrialState.COMPLETE, 0.25)]  # read while locked
        assert [t.state for t in load_study(storage=url_of(path), study_name="s").trials] == [TrialState.RUNNING]
        holder.execute("ROLLBACK")
        study.tell(study.ask(), 0.5)
        stored = load_study(storage=url_of(path), study_name="s").trials
        assert [(t.state, t.value) for t in stored] == [(TrialState.COMPLETE, 0.25), (TrialState.COMPLETE, 0.5)]

    def test_two_processes_recover_a_dead_workers_trial_exactly_once(self, tmp_path):
        path = tmp_path / "race.db"
        finish(run_worker("ask_and_die", url_of(path), "s"))
        start_at = time.time() + 3
        procs = [run_worker("recover", url_of(path), "s", start_at) for _ in range(2)]
        counts = [int(finish(p)) for p in procs]
        assert sorted(counts) == [0, 1]
        (trial,) = load_study(storage=url_of(path), study_name="s").trials
        assert trial.state is TrialState.FAIL and trial.error.startswith("worker lost")

    def test_a_lost_trial_that_another_process_marks_first_is_not_marked_again(self, tmp_path, monkeypatch):
        # The race of the test above, made certain: the other process marks the trial between this
        # process's reading of the running trials and its write.
        from tpe_core._storage._owner import Owner

        study = make_study(tmp_path / "race.db")
        study.ask()
        mine, other = SQLiteStorage(url_of(tmp_path / "race.db")), SQLiteStorage(url_of(tmp_path / "race.db"))
        marked_by_other: list[list[str]] = []

        def gone_once_the_other_has_looked(owner: Owner) -> bool:
            if not marked_by_other:
                marked_by_other.append([])  # the other's own check, inside the call below, comes here too
                marked_by_other[0] = other.fail_lost_trials(study._study_id)
            return False

        monkeypatch.setattr(Owner, "is_alive_here", gone_once_the_other_has_looked)
        assert mine.fail_lost_trials(study._study_id) == []
        assert len(marked_by_other[0]) == 1 and marked_by_other[0][0].startswith("trial 0: worker lost")


# ---------------------------------------------------------------- concurrency
class TestConcurrency:
    def test_four_processes_share_one_study(self, tmp_path):
        path = tmp_path / "c.db"
        make_study(path)  # the file exists before the workers start
        start_at = time.time() + 3
        procs = [run_worker("optimize", url_of(path), "s", 25, start_at) for _ in range(4)]
        for p in procs:
            finish(p)

        trials = load_study(storage=url_of(path), study_name="s").trials
        assert sorted(t.number for t in trials) == list(range(100))
        assert all(t.state is TrialState.COMPLETE for t in trials)
        assert all(t.value == value_of(t.config) for t in trials)

    def test_sixteen_processes_create_one_study(self, tmp_path):
        path = tmp_path / "new.db"
        start_at = time.time() + 5
        procs = [run_worker("create", url_of(path), "same", start_at) for _ in range(16)]
        for p in procs:
            finish(p)
        assert SQLiteStorage(url_of(path)).study_names() == ["same"]

    def test_other_workers_running_trials_are_seen(self, tmp_path):
        path = tmp_path / "l.db"
        first, second = make_study(path), make_study(path)
        running = first.ask()
        other = second.ask()
        assert (running.number, other.number) == (0, 1)
        assert [t.state for t in second.trials] == [TrialState.RUNNING, TrialState.RUNNING]
        first.tell(running, 0.5)
        assert second.trials[0].value == 0.5

    def test_a_finished_trial_never_changes(self, tmp_path):
        path = tmp_path / "f.db"
        first, second = make_study(path), make_study(path)
        trial = first.ask()
        first.tell(trial, 1.0)
        with pytest.raises(ValueError, match="already finished"):
            first.tell(trial, 2.0)
        twin = second.trials[0]
        twin.state = TrialState.RUNNING  # a stale copy, as a retried distributed task holds
        with pytest.raises(TrialFinishedError, match="trial 0: it is already finished as COMPLETE"):
            second.tell(twin, 3.0)
        with pytest.raises(TrialFinishedError):
            twin.report(1.0, step=1)
        assert load_study(storage=url_of(path), study_name="s").trials[0].value == 1.0


# ---------------------------------------------------------------- bad input
class TestBadInput:
    def test_not_an_sqlite_file(self, tmp_path):
        path = tmp_path / "notes.db"
        path.write_text("just some text, not a database\n" * 10)
        before = file_digest(path)
        with pytest.raises(StorageError, match="is not an SQLite file"):
            make_study(path)
        with pytest.raises(StorageError, match="is not an SQLite file"):
            load_study(storage=url_of(path), study_name="s")
        assert file_digest(path) == before

    @pytest.mark.parametrize("theirs, found", [
        (["CREATE TABLE studies (id INTEGER UNIQUE, name TEXT)", "INSERT INTO studies VALUES (1, 'theirs')"],
         r"\(table studies\)"),
        (["CREATE VIEW answer AS SELECT 42"], r"\(view answer\)"),
        (["PRAGMA user_version = 7"], r"\(no table, but application_id 0 and user_version 7\)"),
        (["PRAGMA application_id = 1234"], r"\(no table, but application_id 1234 and user_version 0\)"),
    ])
    def test_sqlite_file_of_another_program(self, tmp_path, theirs, found):
        path = tmp_path / "other.db"
        with sqlite3.connect(path) as conn:
            for statement in theirs:
                conn.execute(statement)
        before = file_digest(path)
        with pytest.raises(StorageError, match="another program " + found):
            make_study(path)
        with pytest.raises(StorageError, match="another program " + found):
            load_study(storage=url_of(path), study_name="s")
        assert file_digest(path) == before

    def test_a_file_that_cannot_be_written_is_a_storage_error_saying_so(self, tmp_path, monkeypatch):
        # As on a read-only file system, or a file one may read only (root reads and writes any file here).
        path = tmp_path / "ro.db"
        make_study(path).optimize(value_of, n_trials=2)
        monkeypatch.setattr(_sqlite, "_uri", lambda path, create: "file:" + str(path) + "?mode=ro")
        with pytest.raises(StorageError, match=r"cannot use .*ro\.db' \(attempt to write a readonly database\): "
                                               r"parzen writes to the study file and, beside it, to its -wal"):
            make_study(path).optimize(value_of, n_trials=1)

    def test_a_file_that_cannot_be_read_is_a_storage_error_saying_so(self, tmp_path, monkeypatch):
        # A file or folder without permission was a bare PermissionError (root reads any file here, so
        # the refusal is the operating system's answer, made by hand).
        path = tmp_path / "g.db"
        make_study(path).optimize(value_of, n_trials=1)
        real_stat = os.stat

        def refused(name, *args, **kwargs):
            if os.fspath(name) == str(path):
                raise PermissionError(13, "Permission denied", os.fspath(name))
            return real_stat(name, *args, **kwargs)

        monkeypatch.setattr(_sqlite.os, "stat", refused)
        for open_it in (lambda: load_study(storage=url_of(path), study_name="s"), lambda: make_study(path)):
            with pytest.raises(StorageError, match=r"cannot use .*g\.db' \(Permission denied\): parzen reads and "
                                                   r"writes the study file"):
                open_it()

    def test_a_corrupted_file_is_a_storage_error_naming_it(self, tmp_path):
        from tpe_core._storage._owner import this_process

        path = tmp_path / "corrupt.db"
        storage = SQLiteStorage(url_of(path), heartbeat_interval=0.01)
        Study(SPACE, storage=storage, study_name="s").optimize(value_of, n_trials=30)
        storage._heartbeat.join(timeout=10)
        storage._connection().execute("PRAGMA wal_checkpoint(TRUNCATE)")
        data = bytearray(path.read_bytes())
        page = 4096
        data[2 * page:] = np.random.default_rng(0).integers(0, 256, len(data) - 2 * page, dtype=np.uint8).tobytes()
        path.write_bytes(bytes(data))  # the header and first page intact: it is still an SQLite file
        with pytest.raises(StorageError, match=r"corrupt\.db' is not a usable SQLite file: .*malformed"):
            load_study(storage=url_of(path), study_name="s").trials
        _sqlite._beat(storage, this_process())  # a heartbeat on the damaged file ends, without an error

    def test_newer_schema_version(self, tmp_path):
        path = tmp_path / "new.db"
        make_study(path).optimize(value_of, n_trials=2)
        with sqlite3.connect(path) as conn:
            conn.execute("PRAGMA user_version = 99")
        before = file_digest(path)
        with pytest.raises(StorageError, match="newer parzen .file layout 99"):
            load_study(storage=url_of(path), study_name="s")
        assert file_digest(path) == before

    def test_unknown_study_name_lists_the_known_ones(self, tmp_path):
        path = tmp_path / "n.db"
        make_study(path, name="alpha").optimize(value_of, n_trials=1)
        before = file_digest(path)
        with pytest.raises(StorageError, match="no study named 'beta'.*holds: 'alpha'"):
            load_study(storage=url_of(path), study_name="beta")
        assert file_digest(path) == before

    def test_missing_file_is_not_created_by_load_study(self, tmp_path):
        path = tmp_path / "missing.db"
        with pytest.raises(StorageError, match="no study file"):
            load_study(storage=url_of(path), study_name="s")
        assert not path.exists()
        with pytest.raises(StorageError, match="no directory"):
            make_study(tmp_path / "nowhere" / "x.db")

    @pytest.mark.parametrize(
        ("change", "message"),
        [
            ({"lr": Float(1e-5, 1e-1, log=True)}, "'lr' was Float.*is Float"),
            ({"dropout": Float(0.0, 0.5)}, "'dropout' is new"),
            ({"units": 64}, r"'units' was Int\(low=8, high=256, log=True, step=1, label=None\), is the constant 64"),
        ],
    )
    def test_another_space_is_refused(self, tmp_path, change, message):
        path = tmp_path / "s.db"
        make_study(path).optimize(value_of, n_trials=2)
        before = file_digest(path)
        with pytest.raises(ValueError, match=message):
            Study({**SPACE, **change}, storage=url_of(path), study_name="s")
        assert file_digest(path) == before

    @pytest.mark.parametrize(
        ("space", "message"),
        [
            (  # the same parameters, listed in another order
                {"a": Float(0.0, 1.0), "opt": Categorical([{"m": Float(0.0, 1.0, label="m")}, {}])},
                "the parameters are in another order: ['opt', 'm', 'a'] before, ['a', 'opt', 'm'] now",
            ),
            (  # the labelled parameter moved to the other branch
                {"opt": Categorical([{}, {"m": Float(0.0, 1.0, label="m")}]), "a": Float(0.0, 1.0)},
                "'m' was at opt/0/m, active under option 0 of 'opt', is at opt/1/m, active under option 1 of 'opt'",
            ),
        ],
        ids=["reordered", "moved"],
    )
    def test_a_reordered_or_moved_parameter_is_named_as_such(self, tmp_path, space, message):
        url = url_of(tmp_path / "o.db")
        Study({"opt": Categorical([{"m": Float(0.0, 1.0, label="m")}, {}]), "a": Float(0.0, 1.0)},
              storage=url, study_name="s")
        with pytest.raises(StudyMismatchError, match=re.escape(message)):
            Study(space, storage=url, study_name="s")

    def test_an_empty_file_is_read_without_writing_and_becomes_a_study_file_when_asked(self, tmp_path):
        path = tmp_path / "empty.db"
        path.touch()
        with pytest.raises(StorageError, match="holds no study: it is an empty file"):
            load_study(storage=url_of(path), study_name="s")
        assert SQLiteStorage(url_of(path)).study_names() == []
        assert path.stat().st_size == 0 and sorted(p.name for p in tmp_path.iterdir()) == ["empty.db"]
        make_study(path).optimize(value_of, n_trials=1)  # a new study may be created in it
        assert len(load_study(storage=url_of(path), study_name="s").trials) == 1

    def test_a_space_with_a_scipy_distribution_or_an_estimator_resumes(self, tmp_path):
        from sklearn.svm import SVC

        def space(high: float = 1e2) -> dict:
            return {"C": scipy.stats.loguniform(1e-2, high), "model": SVC(), "k": Int(1, 3)}

        url = url_of(tmp_path / "scipy.db")
        Study(space(), sampler=RandomSampler(seed=0), storage=url, study_name="s").optimize(
            lambda c: c["C"], n_trials=2
        )
        assert len(Study(space(), storage=url, study_name="s").trials) == 2
        with pytest.raises(StudyMismatchError, match=r"'C' was scipy.stats.loguniform\(0.01, 100.0\), is "):
            Study(space(1e3), storage=url, study_name="s")
        with pytest.raises(StudyMismatchError, match=r"the constant space\['model'\] was SVC\(\), is SVC\(C=2"):
            Study({**space(), "model": SVC(C=2.0)}, storage=url, study_name="s")

    def test_another_direction_or_constant_is_refused(self, tmp_path):
        path = tmp_path / "d.db"
        make_study(path).optimize(value_of, n_trials=1)
        with pytest.raises(ValueError, match="direction='minimize', not 'maximize'"):
            make_study(path, direction="maximize")
        message = r"has another space: the constant space\['epochs'\] is new \(10\); choose a new"
        with pytest.raises(StudyMismatchError, match=message):
            Study({**SPACE, "epochs": 10}, storage=url_of(path), study_name="s")

    @pytest.mark.parametrize(
        "url", ["parzen.db", "sqlite://x.db", "sqlite:///", "sqlite:///:memory:", 3, "sqlite:///x.db?timeout=5"]
    )
    def test_bad_urls(self, url):
        with pytest.raises(StorageError, match="storage"):
            SQLiteStorage(url)

    def test_a_question_mark_quoted_in_a_file_name_is_part_of_it(self, tmp_path):
        url = f"sqlite:///{tmp_path}/what%3F.db"
        make_study(tmp_path / "unused.db")
        Study(SPACE, storage=url, study_name="s").optimize(value_of, n_trials=1)
        assert (tmp_path / "what?.db").exists()

    def test_the_study_file_stays_where_it_was_when_the_objective_changes_directory(self, tmp_path, monkeypatch):
        monkeypatch.chdir(tmp_path)
        (tmp_path / "elsewhere").mkdir()
        storage = SQLiteStorage("sqlite:///relative.db", heartbeat_interval=0.05)
        study = Study(SPACE, storage=storage, study_name="s")

        def objective(config):
            os.chdir(tmp_path / "elsewhere")
            with sqlite3.connect(tmp_path / "relative.db") as db:
                query = "SELECT heartbeat FROM trials WHERE state = 'RUNNING'"
                first, deadline = db.execute(query).fetchone(), time.monotonic() + 30
                while db.execute(query).fetchone() == first and time.monotonic() < deadline:  # the heartbeat goes on
                    time.sleep(0.02)
                return float(db.execute(query).fetchone() != first)

        def pause(study, trial):  # long enough for the heartbeat to end between the trials
            time.sleep(0.3)

        study.optimize(objective, n_trials=2, callbacks=[pause])
        assert [t.value for t in study.trials] == [1.0, 1.0]
        assert not (tmp_path / "elsewhere" / "relative.db").exists()

    def test_unpicklable_space(self, tmp_path):
        with pytest.raises(ValueError, match="cannot be pickled"):
            Study({"f": lambda x: x, "x": Float(0, 1)}, storage=url_of(tmp_path / "p.db"), study_name="s")


def test_failure_reason_is_short_and_stored(tmp_path):
    def objective(config):
        raise RuntimeError("x" * 5000)

    study = make_study(tmp_path / "e.db")
    study.optimize(objective, n_trials=1)
    error = load_study(storage=url_of(tmp_path / "e.db"), study_name="s").trials[0].error
    assert error == study.trials[0].error
    assert error.startswith("RuntimeError: xxx") and error.endswith("...")
    assert len(error) == MAX_ERROR_LENGTH
    assert "Traceback" not in error


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("params", "[0.5,", "Expecting value"),
        ("user_attrs", "{", "Expecting property name"),
        ("datetime_start", "yesterday", "Invalid isoformat"),
        ("state", "WEIRD", "state 'WEIRD' is none of RUNNING, COMPLETE, PRUNED, FAIL"),
    ],
)
def test_a_trial_row_edited_by_hand_is_a_storage_error_naming_the_trial(tmp_path, column, value, message):
    # Each was numpy's, json's or datetime's bare error.
    path = tmp_path / "e.db"
    make_study(path).optimize(value_of, n_trials=2)
    with sqlite3.connect(path) as conn:
        conn.execute(f"UPDATE trials SET {column} = ? WHERE number = 1", (value,))
    with pytest.raises(StorageError, match=rf"trial 1 of the study in .*e\.db' cannot be read \(.*{message}.*\); "
                                           "its row in table 'trials' was changed outside parzen"):
        load_study(storage=url_of(path), study_name="s")


def test_a_trial_row_deleted_by_hand_is_a_storage_error_that_says_so(tmp_path):
    make_study(tmp_path / "g.db").optimize(value_of, n_trials=4)
    with sqlite3.connect(tmp_path / "g.db") as db:
        db.execute("DELETE FROM trials WHERE number = 1")
    with pytest.raises(StorageError, match="has trial 2 but no trial 1: .* row is missing"):
        load_study(storage=url_of(tmp_path / "g.db"), study_name="s")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_child_the_objective_forks_does_not_record_the_trial(tmp_path):
    parent = os.getpid()

    def objective(config):
        if os.fork() == 0:
            sys.exit(0)  # the child leaves through the study's code
        os.wait()
        return 0.25

    study = make_study(tmp_path / "fork.db")
    try:
        study.optimize(objective, n_trials=1)
    except SystemExit:
        if os.getpid() != parent:
            os._exit(0)
        raise
    trial = load_study(storage=url_of(tmp_path / "fork.db"), study_name="s").trials[0]
    assert (trial.state, trial.value) == (TrialState.COMPLETE, 0.25)


def test_delete_study_removes_it_alone_and_refuses_one_with_live_trials(tmp_path):
    url = url_of(tmp_path / "del.db")
    for name in ("a", "b"):
        study = make_study(tmp_path / "del.db", name)
        trial = study.ask()
        trial.report(1.0, 1)
        study.set_user_attr("note", name)
        study.tell(trial, 1.0)
    running = make_study(tmp_path / "del.db", "b").ask()  # this process is alive: the trial is running
    with pytest.raises(StorageError, match=r"study 'b' .* has running trials \[1\]; let them finish"):
        delete_study(storage=url, study_name="b")
    delete_study(storage=url, study_name="a")
    assert SQLiteStorage(url).study_names() == ["b"]
    with pytest.raises(StorageError, match="no study named 'a'"):
        load_study(storage=url, study_name="a")
    with sqlite3.connect(tmp_path / "del.db") as db:  # nothing of 'a' is left behind
        assert db.execute("SELECT count(*) FROM intermediate_values").fetchone() == (1,)
        assert db.execute("SELECT count(*) FROM study_user_attrs").fetchone() == (1,)
    assert running.state is TrialState.RUNNING
    fresh = make_study(tmp_path / "del.db", "a")  # the name can be used again
    assert fresh.trials == [] and fresh.user_attrs == {}


@pytest.mark.parametrize("older_file", [False, True])
def test_a_study_deleted_under_a_running_optimize_is_not_written_into_its_successor(tmp_path, older_file):
    url = url_of(tmp_path / "del.db")
    old = make_study(tmp_path / "del.db", "d")
    old.optimize(value_of, n_trials=2)
    if older_file:  # written before deleted studies were recorded
        with sqlite3.connect(tmp_path / "del.db") as db:
            db.execute("DROP TABLE deleted_studies")
    delete_study(storage=url, study_name="d")  # between two of old's trials: none is running
    new = make_study(tmp_path / "del.db", "d")
    new.optimize(value_of, n_trials=1)
    assert new._study_id != old._study_id  # the deleted study's id is never given again
    with pytest.raises(StorageError, match=r"study 'd' was deleted from .*del\.db' at .* while a Study was using it"):
        old.optimize(value_of, n_trials=1)
    for use in (lambda: old.set_user_attr("k", 1), lambda: old.user_attrs):  # nor its attributes
        with pytest.raises(StorageError, match="while a Study was using it"):
            use()
    assert [t.number for t in load_study(storage=url, study_name="d").trials] == [0]
    with sqlite3.connect(tmp_path / "del.db") as db:
        query = "SELECT count(*) FROM study_user_attrs WHERE study_id = ?"
        assert db.execute(query, (old._study_id,)).fetchone() == (0,)
    delete_study(storage=url, study_name="d")
    assert make_study(tmp_path / "del.db", "d")._study_id not in (old._study_id, new._study_id)


class _AlwaysLocked:
    def __init__(self):
        self.tries = 0

    def execute(self, statement):
        self.tries += 1
        raise sqlite3.OperationalError("database is locked")


@pytest.mark.parametrize(("timeout", "tries"), [(0.0, 1), (3600.0, 8)])
def test_a_lock_is_waited_for_the_timeout_in_all_not_once_per_try(monkeypatch, timeout, tries):
    monkeypatch.setattr(_sqlite.time, "sleep", lambda seconds: None)
    conn = _AlwaysLocked()
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        _sqlite._while_locked(conn, "BEGIN IMMEDIATE", timeout)
    assert conn.tries == tries  # each try waits up to the busy timeout: past the timeout, no more


def test_a_trial_asked_through_one_study_object_is_told_through_another(tmp_path):
    url = url_of(tmp_path / "t.db")
    asker = make_study(tmp_path / "t.db")
    teller = load_study(storage=url, study_name="s")  # opened before the asks: it has not read them
    first, second = asker.ask(), asker.ask()
    teller.tell(0, 0.5)  # by number
    teller.tell(second, 0.7)  # the asker's own Trial object
    assert [(t.state, t.value) for t in asker.trials] == [(TrialState.COMPLETE, 0.5), (TrialState.COMPLETE, 0.7)]
    assert first.state is second.state is TrialState.COMPLETE
    with pytest.raises(ValueError, match="belongs to another study"):
        make_study(tmp_path / "other.db").tell(asker.ask(), 1.0)


def test_delete_study_removes_one_whose_space_cannot_be_unpickled_here(tmp_path, monkeypatch):
    import types

    module = types.ModuleType("parzen_test_gone")
    exec("class Choice:\n    pass", module.__dict__)
    module.Choice.__module__ = "parzen_test_gone"
    monkeypatch.setitem(sys.modules, "parzen_test_gone", module)
    url = url_of(tmp_path / "gone.db")
    Study({"x": Float(0, 1), "c": module.Choice()}, storage=url, study_name="s").optimize(lambda c: c["x"], n_trials=1)
    monkeypatch.delitem(sys.modules, "parzen_test_gone")  # as in a process without that module
    with pytest.raises(StorageError, match="cannot be unpickled here"):
        load_study(storage=url, study_name="s")
    delete_study(storage=url, study_name="s")
    assert SQLiteStorage(url).study_names() == []


def test_storage_survives_pickling_into_a_child_process(tmp_path):
    import pickle

    storage = SQLiteStorage(url_of(tmp_path / "p.db"))
    Study(SPACE, storage=storage, study_name="s").optimize(value_of, n_trials=1)
    copy = pickle.loads(pickle.dumps(storage))
    assert copy.study_names() == ["s"] and copy._conn is not storage._conn


@pytest.mark.skipif(sys.platform == "win32", reason="pids are checked with /proc and signals")
def test_running_trial_of_a_live_process_is_kept(tmp_path):
    path = tmp_path / "live.db"
    make_study(path).ask()  # owned by this (living) process
    assert [t.state for t in make_study(path).trials] == [TrialState.RUNNING]
    assert os.getpid()


class TestTrialTimeout:
    @pytest.mark.parametrize("stored", [True, False], ids=["sqlite", "memory"])
    def test_hung_dead_and_failing_trials_end_and_the_study_goes_on(self, tmp_path, stored):
        storage = url_of(tmp_path / "t.db") if stored else None
        study = Study(SPACE, sampler=RandomSampler(seed=0), storage=storage, study_name="t")
        study.optimize(hangs_dies_or_fails, n_trials=5, trial_timeout=10, catch=(ValueError,))

        trials = study.trials
        assert [t.state for t in trials] == [TrialState.COMPLETE] + [TrialState.FAIL] * 3 + [TrialState.COMPLETE]
        assert trials[1].error == "timeout: the trial ran for more than 10 s and was stopped"
        assert trials[2].error == "worker lost: the trial's process exited with code 3"
        assert trials[3].error == "ValueError: bad trial"
        assert trials[0].value == value_of(trials[0].config)
        for t in trials:  # reports and attributes crossed the process boundary
            assert t.intermediate_values == {1: 1.0}
            assert t.user_attrs["pid"] != os.getpid()
        if stored:
            again = load_study(storage=storage, study_name="t").trials
            assert [(t.state, t.error, t.intermediate_values) for t in again] == [
                (t.state, t.error, t.intermediate_values) for t in trials
            ]

    def test_an_exception_that_does_not_unpickle_fails_its_trial_and_the_study_goes_on(self):
        from .processes import raises_two_arg_error

        study = Study(SPACE, sampler=RandomSampler(seed=0))
        study.optimize(raises_two_arg_error, n_trials=3, n_jobs=2)  # it raised TypeError, trials 'interrupted'
        failed = (TrialState.FAIL, "RuntimeError: TwoArgError: 7: disk full")
        assert [(t.state, t.error) for t in study.trials] == [failed] * 3

    def test_a_result_a_worker_cannot_send_back_is_refused_naming_its_own_type(self):
        from .processes import returns_a_generator

        study = Study(SPACE, sampler=RandomSampler(seed=0))
        study.optimize(returns_a_generator, n_trials=1, n_jobs=2)
        (trial,) = study.trials
        assert re.fullmatch(r"the objective returned <generator object .*> \(generator\), not a number", trial.error)

    @pytest.mark.skipif(not Path("/proc/self").exists(), reason="reads /proc")
    def test_a_timed_out_trial_s_own_processes_end_with_it(self):
        from .processes import starts_a_child_and_hangs

        study = Study(SPACE, sampler=RandomSampler(seed=0))
        study.optimize(starts_a_child_and_hangs, n_trials=1, trial_timeout=3)
        (trial,) = study.trials
        assert trial.error == "timeout: the trial ran for more than 3 s and was stopped"
        status = Path(f"/proc/{trial.user_attrs['child']}/status")
        deadline = time.monotonic() + 30
        while "State:\tZ" not in (status.read_text() if status.exists() else "State:\tZ"):  # gone, or a zombie
            assert time.monotonic() < deadline, "the trial's own process outlived it"
            time.sleep(0.1)

    def test_a_new_workers_start_up_is_not_part_of_the_time_limit(self):
        from .slow_import import quick  # each new worker spends 2 s importing it

        study = Study({"x": Float(0.0, 1.0)}, sampler=RandomSampler(seed=0))
        study.optimize(quick, n_trials=3, n_jobs=2, trial_timeout=1.0)
        assert [(t.state, t.error) for t in study.trials] == [(TrialState.COMPLETE, None)] * 3

    def test_a_worker_that_does_not_start_in_time_is_given_up(self, monkeypatch):
        from tpe_core import _workers

        from .slow_import import quick

        monkeypatch.setattr(_workers, "START_UP", 0.5)
        study = Study({"x": Float(0.0, 1.0)}, sampler=RandomSampler(seed=0))
        study.optimize(quick, n_trials=1, trial_timeout=1.0)
        assert [(t.state, t.error) for t in study.trials] == [
            (TrialState.FAIL, "worker lost: the worker process did not start the trial within 0.5 s")
        ]

    def test_unpicklable_objective_is_refused_with_the_fix(self):
        study = Study(SPACE, sampler=RandomSampler(seed=0))
        with pytest.raises(TypeError, match="must be picklable.*module level"):
            study.optimize(lambda config: 0.0, n_trials=1, trial_timeout=5)
        assert study.trials == []

    def test_bad_trial_timeout(self):
        with pytest.raises(ValueError, match="trial_timeout must be None or a positive number of seconds"):
            Study(SPACE).optimize(value_of, n_trials=1, trial_timeout=0)
