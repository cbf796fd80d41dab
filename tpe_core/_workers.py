"""Trials evaluated in worker processes, for ``n_jobs`` and ``trial_timeout``.

The study (the driver) keeps the sampler and the storage; each worker is a
spawned process that receives the objective once, then configurations one
at a time. The objective gets a stand-in trial whose ``report``,
``set_user_attr`` and ``should_prune`` travel over the worker's pipe to the
driver, which applies them to the real trial (and so to the storage and the
pruner) in order; every report arrives, none is lost to a closure.

A worker that outlives a trial's time limit is killed and replaced (the
trial becomes FAIL "timeout"); one that dies leaves its trial FAIL "worker
lost". Workers are spawned, not forked: the objective must be picklable,
and a script that optimizes must guard its entry point with
``if __name__ == "__main__":``.
"""

from __future__ import annotations

import contextlib
import datetime
import multiprocessing
import os
import pickle
import signal
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection, wait
from typing import TYPE_CHECKING, Any

from tpe_core._storage import TrialFinishedError
from tpe_core._trial import (
    RESERVED_USER_ATTRS,
    TrialHandle,
    TrialState,
    UnsentResult,
    check_report,
    describe_exception,
)
from tpe_core._validation import as_stored_user_attr

if TYPE_CHECKING:
    from tpe_core._trial import Trial

__all__ = ["Outcome", "RemoteTrial", "WorkerPool", "check_picklable", "picklable_exception"]

# What became of a trial in a worker: ("result", returned value),
# ("raise", exception), or ("failure", reason) when the worker timed out or died.
Outcome = tuple[str, Any]

# Seconds a stopped worker gets to exit before it is killed.
_GRACE = 5.0
# Seconds a new worker may take to start (Python, the objective's imports) before a
# trial's time limit starts counting; a worker that takes longer is given up.
START_UP = 120.0


def check_picklable(objective: Callable[..., Any], why: str) -> None:
    """Raise a :class:`TypeError` with the fix when ``objective`` cannot go to a worker."""
    try:
        pickle.dumps(objective)
    except Exception as e:
        raise TypeError(
            f"{why} runs trials in worker processes, so the objective must be picklable, and "
            f"{objective!r} is not ({type(e).__name__}: {e}); define it at module level (not a "
            "lambda or a nested function), or use functools.partial for its extra arguments"
        ) from e


def trial_task(trial: Trial) -> tuple[Any, ...]:
    """What a worker needs of a trial to make its :class:`RemoteTrial` (the arguments before ``send``)."""
    return trial.number, trial.config, trial.params, trial.direction, dict(trial.user_attrs)


def start_trial(
    task: tuple[Any, ...], send: Callable[[tuple[Any, ...]], None], ask_prune: Callable[[], bool]
) -> RemoteTrial:
    """Tell the driver that the trial of ``task`` starts now (its duration and time limit count from here),
    and make the trial its objective gets."""
    started = datetime.datetime.now()
    send(("started", started))
    return RemoteTrial(*task, send=send, ask_prune=ask_prune, datetime_start=started)


class RemoteTrial(TrialHandle):
    """The trial as the objective sees it in a worker: what it reports goes to
    the driver through ``send``, and ``ask_prune`` gets the driver's answer.
    It has the running trial's attributes (``source``, ``user_attrs`` as
    the driver's trial had them, ``state`` RUNNING, ``datetime_start``)."""

    def __init__(
        self,
        number: int,
        config: Any,
        params: dict[str, Any],
        direction: str,
        user_attrs: dict[str, Any],
        send: Callable[[tuple[Any, ...]], None],
        ask_prune: Callable[[], bool],
        datetime_start: datetime.datetime | None = None,
    ) -> None:
        self.number = number
        self.config = config
        self.params = params
        self.direction = direction
        self.intermediate_values: dict[int, float] = {}
        self.user_attrs = user_attrs
        self.state = TrialState.RUNNING
        self.value: float | None = None
        self.error: str | None = None
        self.datetime_start = datetime_start
        self.datetime_complete: datetime.datetime | None = None
        self._send = send
        self._ask_prune = ask_prune

    @property
    def last_step(self) -> int | None:
        return max(self.intermediate_values) if self.intermediate_values else None

    def report(self, value: float, step: int) -> None:
        value, step = check_report(value, step)  # a mistake fails this trial here, as in the driver
        self._send(("report", value, step))
        self.intermediate_values[step] = value

    def set_user_attr(self, key: str, value: Any) -> None:
        value = as_stored_user_attr(key, value, RESERVED_USER_ATTRS)
        self._send(("set_user_attr", key, value))
        self.user_attrs[key] = value

    def should_prune(self) -> bool:
        self._send(("should_prune",))
        return bool(self._ask_prune())


def apply_message(trial: Trial, kind: str, args: list[Any]) -> None:
    """Apply a worker's ``"started"``, ``"report"`` or ``"set_user_attr"`` to the driver's trial.

    When another process has given the trial up (:class:`TrialFinishedError`),
    the message is dropped: the trial's outcome, when it comes, is logged as
    not stored.
    """
    if trial.state.is_finished():
        return
    try:
        if kind == "started":
            trial._study._record_start(trial, *args)
        else:
            getattr(trial, kind)(*args)
    except TrialFinishedError:
        pass


def picklable_exception(e: BaseException) -> BaseException:
    """``e`` itself when it goes through pickle and back (an exception whose ``__init__`` takes other
    arguments than its message does not come back), else a RuntimeError with its description."""
    try:
        pickle.loads(pickle.dumps(e))
    except Exception:
        return RuntimeError(describe_exception(e))
    return e


def picklable_result(result: Any) -> Any:
    """What a worker sends back for what its objective returned: a tensor
    detached (a loss that requires grad does not pickle), anything else that
    does not pickle as its repr and type (:class:`UnsentResult`), which the
    driver refuses as "not a number" as a serial run refuses the object itself."""
    detach = getattr(result, "detach", None)
    if callable(detach):
        result = detach()
    try:
        pickle.loads(pickle.dumps(result))
    except Exception:
        unsent = UnsentResult(repr(result))
        unsent.type_name = type(result).__name__
        return unsent
    return result


def _exit_with_the_driver() -> None:
    """End this worker as soon as the driver's process ends, even killed
    (SIGKILL) while an objective hangs here: no orphan keeps running."""
    driver = multiprocessing.parent_process()
    if driver is None:
        return

    def watch() -> None:
        wait([driver.sentinel])
        _kill_group()
        os._exit(1)

    threading.Thread(target=watch, name="parzen-driver-watch", daemon=True).start()


def _kill_group(pid: int | None = None) -> None:
    """Kill the process group of worker ``pid`` (this worker's own by default): the worker and what its
    objective started (a subprocess, a joblib pool), which would otherwise outlive a stopped trial."""
    if hasattr(os, "killpg"):
        with contextlib.suppress(OSError):  # no such group: nothing is left of it
            os.killpg(os.getpgrp() if pid is None else pid, signal.SIGKILL)


def _worker_main(conn: Connection, objective: Callable[..., Any], with_trial: bool) -> None:
    """Evaluate configurations sent by the driver until it sends None or goes away."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's to handle
    if hasattr(os, "setpgrp"):
        os.setpgrp()  # a group of its own, which _kill_group ends with what the objective started
    _exit_with_the_driver()
    while True:
        try:
            task = conn.recv()
        except EOFError:
            return
        if task is None:
            return
        trial = start_trial(task, conn.send, conn.recv)
        try:
            result = objective(trial.config, trial) if with_trial else objective(trial.config)
        except BaseException as e:
            conn.send(("raise", picklable_exception(e)))
            continue
        conn.send(("result", picklable_result(result)))


class _Worker:
    """One worker process, seen from the driver."""

    def __init__(self, context: Any, objective: Callable[..., Any], with_trial: bool, number: int) -> None:
        self.conn, child = context.Pipe()
        self.process = context.Process(
            target=_worker_main, args=(child, objective, with_trial), name=f"parzen-worker-{number}", daemon=True
        )
        self.process.start()
        child.close()
        self.trial: Trial | None = None
        self.timeout: float | None = None
        self.deadline: float | None = None
        self.running = False  # whether the trial has started in the process

    def start(self, trial: Trial, timeout: float | None) -> None:
        self.trial, self.timeout, self.running = trial, timeout, False
        self.deadline = None if timeout is None else time.monotonic() + START_UP + timeout
        try:
            self.conn.send(trial_task(trial))
        except OSError:
            pass  # the worker is gone: the next read says so

    def handle(self) -> Outcome | None:
        """Act on one message of the running trial; return its outcome when it is over."""
        assert self.trial is not None
        try:
            kind, *args = self.conn.recv()
        except (EOFError, OSError):
            self.process.join(_GRACE)
            return "failure", f"worker lost: the trial's process exited with code {self.process.exitcode}"
        except Exception as e:  # a message that does not unpickle here: the trial's outcome is lost with it
            return "failure", f"worker lost: a message of the trial could not be read ({describe_exception(e)})"
        if kind in ("result", "raise"):
            return kind, args[0]
        if kind == "started":
            self.running = True
            if self.timeout is not None:
                self.deadline = time.monotonic() + self.timeout
            apply_message(self.trial, kind, args)
        elif kind == "should_prune":
            self.conn.send(self.trial.should_prune())
        else:
            apply_message(self.trial, kind, args)
        return None

    def stop(self) -> None:
        """End the process: politely when idle, by terminate then kill otherwise."""
        if self.trial is None and self.process.is_alive():
            try:
                self.conn.send(None)
            except OSError:
                pass
            self.process.join(_GRACE)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(_GRACE)
            _kill_group(self.process.pid)  # and what its trial started
        if self.process.is_alive():
            self.process.kill()
        self.process.join()
        self.conn.close()


class WorkerPool:
    """Up to ``n_workers`` spawned worker processes evaluating trials.

    Parameters
    ----------
    objective : callable
        Picklable; sent to each worker once.
    with_trial : bool
        Whether the objective takes ``(config, trial)``.
    n_workers : int
        Most trials running at once.
    timeout : float, optional
        Seconds a trial may run before its worker is killed and replaced,
        counted from the moment the worker starts the trial: a new
        worker's start-up (Python, the objective's imports) has its own
        allowance of :data:`START_UP` seconds.
    """

    def __init__(
        self, objective: Callable[..., Any], with_trial: bool, n_workers: int, timeout: float | None
    ) -> None:
        self._context = multiprocessing.get_context("spawn")
        self._objective = objective
        self._with_trial = with_trial
        self._n_workers = n_workers
        self._timeout = timeout
        self._idle: list[_Worker] = []
        self._busy: list[_Worker] = []
        self._started = 0

    @property
    def n_free(self) -> int:
        """How many more trials may start now."""
        return self._n_workers - len(self._busy)

    @property
    def running(self) -> list[Trial]:
        """The trials being evaluated."""
        return [w.trial for w in self._busy if w.trial is not None]

    def submit(self, trial: Trial) -> None:
        """Start evaluating ``trial`` on an idle worker (a new one when none is idle)."""
        if self._idle:
            worker = self._idle.pop()
        else:
            worker = _Worker(self._context, self._objective, self._with_trial, self._started)
            self._started += 1
        worker.start(trial, self._timeout)
        self._busy.append(worker)

    def wait(self, timeout: float) -> list[tuple[Trial, Outcome]]:
        """Serve the running trials for up to ``timeout`` seconds; return those that ended."""
        now = time.monotonic()
        deadlines = [w.deadline - now for w in self._busy if w.deadline is not None]
        ready = wait([w.conn for w in self._busy], timeout=max(0.0, min([timeout, *deadlines])))
        ended = []
        for worker in [w for w in self._busy if w.conn in ready]:
            outcome = worker.handle()
            if outcome is not None:
                ended.append(self._release(worker, outcome, keep=outcome[0] != "failure"))
        now = time.monotonic()
        for worker in [w for w in self._busy if w.deadline is not None and now >= w.deadline]:
            reason = (f"timeout: the trial ran for more than {self._timeout:g} s and was stopped" if worker.running
                      else f"worker lost: the worker process did not start the trial within {START_UP:g} s")
            ended.append(self._release(worker, ("failure", reason), keep=False))
        return ended

    def _release(self, worker: _Worker, outcome: Outcome, *, keep: bool) -> tuple[Trial, Outcome]:
        trial = worker.trial
        assert trial is not None
        self._busy.remove(worker)
        if keep:
            worker.trial = None
            self._idle.append(worker)
        else:
            worker.stop()
        return trial, outcome

    def close(self) -> None:
        """Stop every worker, killing those still running a trial."""
        for worker in self._busy + self._idle:
            worker.stop()
        self._busy, self._idle = [], []
