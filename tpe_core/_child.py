"""Running one trial in a child process, under a time limit.

The child gets the configuration and a stand-in trial whose ``report``,
``set_user_attr`` and ``should_prune`` travel over a pipe to the parent,
which applies them to the real trial (and so to the storage) in order. A
child that outlives its limit is terminated; one that dies leaves its trial
FAIL "worker lost". Children are started by spawning, so the objective must
be picklable and a script that optimizes must guard its entry point with
``if __name__ == "__main__":``.
"""

from __future__ import annotations

import multiprocessing
import pickle
import time
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any, Callable

from tpe_core._trial import describe_exception

if TYPE_CHECKING:
    from tpe_core._trial import Trial

__all__ = ["ChildFailure", "check_picklable", "run_in_child"]

# Seconds a terminated child gets to exit before it is killed.
_GRACE = 5.0


class ChildFailure(Exception):
    """The trial's process timed out or died; the message is the trial's error."""


def check_picklable(objective: Callable[..., Any]) -> None:
    """Raise a :class:`TypeError` with the fix when ``objective`` cannot go to a child process."""
    try:
        pickle.dumps(objective)
    except Exception as e:
        raise TypeError(
            f"trial_timeout runs each trial in a child process, so the objective must be picklable, "
            f"and {objective!r} is not ({type(e).__name__}: {e}); define it at module level (not a "
            "lambda or a nested function), or use functools.partial for its extra arguments"
        ) from e


class _ChildTrial:
    """The trial as the objective sees it in the child process."""

    def __init__(self, conn: Connection, number: int, config: Any, params: dict[str, Any]) -> None:
        self._conn = conn
        self.number = number
        self.config = config
        self.params = params
        self.intermediate_values: dict[int, float] = {}
        self.user_attrs: dict[str, Any] = {}

    def report(self, value: float, step: int) -> None:
        self._conn.send(("report", value, step))
        self.intermediate_values[step] = float(value)

    def set_user_attr(self, key: str, value: Any) -> None:
        self._conn.send(("set_user_attr", key, value))
        self.user_attrs[key] = value

    def should_prune(self) -> bool:
        self._conn.send(("should_prune",))
        return bool(self._conn.recv())


def _child_main(
    conn: Connection, objective: Callable[..., Any], trial: _ChildTrial, with_trial: bool
) -> None:
    trial._conn = conn
    try:
        result = objective(trial.config, trial) if with_trial else objective(trial.config)
    except BaseException as e:
        try:
            conn.send(("raise", e))
        except Exception:  # an exception that does not pickle: send its description
            conn.send(("raise", RuntimeError(describe_exception(e))))
        return
    try:
        conn.send(("result", result))
    except Exception:
        conn.send(("result", repr(result)))  # refused as "not a number" by the parent


def run_in_child(objective: Callable[..., Any], trial: Trial, with_trial: bool, timeout: float) -> Any:
    """Evaluate ``objective`` on ``trial`` in a spawned process; return its result.

    Raises what the objective raised, or :class:`ChildFailure` on timeout
    or when the process dies.
    """
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    stand_in = _ChildTrial(None, trial.number, trial.config, trial.params)  # type: ignore[arg-type]
    process = context.Process(
        target=_child_main, args=(child, objective, stand_in, with_trial), name=f"parzen-trial-{trial.number}",
        daemon=True,
    )
    process.start()
    child.close()
    deadline = time.monotonic() + timeout
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ChildFailure(f"timeout: the trial ran for more than {timeout:g} s and was stopped")
            if not parent.poll(min(remaining, 1.0)):
                continue
            try:
                message = parent.recv()
            except EOFError:
                process.join(_GRACE)
                raise ChildFailure(
                    f"worker lost: the trial's process exited with code {process.exitcode}"
                ) from None
            kind, *args = message
            if kind == "result":
                return args[0]
            if kind == "raise":
                raise args[0]
            if kind == "should_prune":
                parent.send(trial.should_prune())
            else:  # "report" or "set_user_attr"
                getattr(trial, kind)(*args)
    finally:
        _stop(process)
        parent.close()


def _stop(process: multiprocessing.process.BaseProcess) -> None:
    if process.is_alive():
        process.terminate()
        process.join(_GRACE)
    if process.is_alive():
        process.kill()
    process.join()
