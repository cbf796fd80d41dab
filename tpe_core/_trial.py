"""Trials: one evaluation of the objective at one configuration."""

from __future__ import annotations

import datetime
import enum
import math
import reprlib
from typing import TYPE_CHECKING, Any

import numpy as np

from tpe_core._validation import as_stored_user_attr, check_int

if TYPE_CHECKING:
    from tpe_core._study import Study

__all__ = [
    "MAX_ERROR_LENGTH",
    "RESERVED_USER_ATTRS",
    "SOURCE_ATTR",
    "Trial",
    "TrialFailed",
    "TrialHandle",
    "TrialPruned",
    "TrialState",
    "UnsentResult",
    "describe_exception",
]

#: Longest failure reason kept in ``Trial.error`` (and in storage); longer
#: ones are cut and end with "...".
MAX_ERROR_LENGTH = 1000

_MAX_STEP = 2**63 - 1  # the largest step SQLite's INTEGER and the history's int64 hold

# The user attribute that marks a trial made from Study.enqueue, and the keys a user may not set.
SOURCE_ATTR = "source"
RESERVED_USER_ATTRS = {SOURCE_ATTR: 'parzen marks an enqueued trial with it (trial.source == "manual")'}


class TrialState(enum.Enum):
    """Life cycle of a trial: RUNNING, then COMPLETE, PRUNED or FAIL."""

    RUNNING = "RUNNING"
    COMPLETE = "COMPLETE"
    PRUNED = "PRUNED"
    FAIL = "FAIL"

    def is_finished(self) -> bool:
        return self is not TrialState.RUNNING

    @classmethod
    def parse(cls, state: TrialState | str, name: str = "state") -> TrialState:
        """``state`` as a :class:`TrialState`; a name such as ``"PRUNED"``
        (any case) is accepted.

        Raises
        ------
        ValueError
            When ``state`` names no state; the message names ``name``.
        """
        if isinstance(state, cls):
            return state
        if isinstance(state, str) and state.upper() in cls.__members__:
            return cls[state.upper()]
        names = ", ".join(repr(s.value) for s in cls)
        raise ValueError(f"{name}: {state!r} is not a trial state; use a TrialState or one of {names}")


class TrialPruned(Exception):
    """Raise from an objective to end its trial as PRUNED.

    Examples
    --------
    >>> def objective(config, trial):
    ...     for epoch in range(10):
    ...         trial.report(1.0 / (epoch + 1), step=epoch)
    ...         if trial.should_prune():
    ...             raise TrialPruned()
    ...     return 0.1
    """


class TrialFailed(Exception):
    """Raise from an objective to end its trial as FAIL with this reason, and go on.

    For a configuration the objective knows it cannot evaluate (a network
    too large for the memory, an invalid combination): the trial is FAIL
    with ``trial.error`` the message, no traceback is logged, and the study
    goes on whatever ``catch`` says. TPE leaves such a trial out, as it does
    a trial that raised; a NaN or inf returned instead would rank it with
    the diverged trials, the worst of all.

    Examples
    --------
    >>> def objective(config):
    ...     if config["units"] * config["layers"] > 4096:
    ...         raise TrialFailed("too large for the GPU")
    ...     return 0.1
    """


def _is_number_like(x: Any) -> bool:
    if not hasattr(x, "__float__") or isinstance(x, (bool, np.bool_, str, bytes, complex)):
        return False
    try:
        return not np.iscomplexobj(x)
    except Exception:  # numpy cannot read it (a tensor that requires grad): float() decides
        return True


def _to_float(x: Any) -> float:
    """``float(x)``; a torch tensor is read detached (a loss that requires grad)."""
    detach = getattr(x, "detach", None)
    return float(detach() if callable(detach) else x)


def is_nonfinite_number(x: Any) -> bool:
    """Whether ``x`` is a NaN or an infinity, as a diverged training returns."""
    if not _is_number_like(x):
        return False
    try:
        return not math.isfinite(_to_float(x))
    except Exception:
        return False


def short_reason(text: str) -> str:
    """``text`` cut to :data:`MAX_ERROR_LENGTH` characters."""
    if len(text) <= MAX_ERROR_LENGTH:
        return text
    return text[: MAX_ERROR_LENGTH - 3] + "..."


def describe_exception(e: BaseException) -> str:
    """Why a trial failed: ``"ValueError: message"``, cut to :data:`MAX_ERROR_LENGTH`."""
    return short_reason(f"{type(e).__name__}: {e}" if str(e) else type(e).__name__)


class UnsentResult(str):
    """What a worker sends back for a result that does not pickle: its repr, and its type's name."""

    type_name = "object"

    def __repr__(self) -> str:
        return str(self)


def as_objective_value(result: Any) -> tuple[float | None, str | None]:
    """Check what an objective returned: ``(value, None)`` or ``(None, reason)``."""
    if not _is_number_like(result):
        kind = result.type_name if isinstance(result, UnsentResult) else type(result).__name__
        return None, f"the objective returned {result!r} ({kind}), not a number"
    try:
        value = _to_float(result)
    except Exception as e:  # an array of several numbers, an int too large for a float, ...
        reason = describe_exception(e)
        return None, f"the objective returned {reprlib.repr(result)}, which is not a single float ({reason})"
    if not math.isfinite(value):
        return None, (f"the objective returned {value!r}; a value must be finite (the run is taken as diverged, "
                      "which TPE ranks last)")
    return value, None


def check_report(value: Any, step: Any) -> tuple[float, int]:
    """``(value, step)`` of :meth:`Trial.report` as stored, if they are a number
    and a step number.

    Raises
    ------
    ValueError
        For a step that is not an integer from 0 to ``2**63 - 1`` (what
        storage and the history hold).
    TypeError
        For a value that is not a number.
    """
    check_int("step", step, minimum=0)
    if step > _MAX_STEP:
        raise ValueError(f"step must be at most 2**63 - 1 = {_MAX_STEP}, got step={step!r}")
    if not _is_number_like(value):
        raise TypeError(f"report: value must be a number, got {value!r}")
    try:
        return _to_float(value), int(step)
    except Exception as e:
        raise TypeError(f"report: value must be a single float, got {value!r} ({describe_exception(e)})") from e


class TrialHandle:
    """A trial as an objective holds it: a handle on one trial of a study.

    Copying a handle (``copy.copy``, ``copy.deepcopy``, and so scikit-learn's
    ``clone`` of an estimator whose callback holds it) gives the handle
    itself: a copy would take reports and pruning decisions away from the
    study's trial.
    """

    user_attrs: dict[str, Any]
    datetime_start: datetime.datetime | None
    datetime_complete: datetime.datetime | None

    @property
    def source(self) -> str:
        """``"manual"`` for a trial made from :meth:`Study.enqueue`, ``"sampler"`` otherwise."""
        return "manual" if self.user_attrs.get(SOURCE_ATTR) == "manual" else "sampler"

    @property
    def duration(self) -> datetime.timedelta | None:
        """Time from start to completion, None while running."""
        if self.datetime_complete is None or self.datetime_start is None:
            return None
        return self.datetime_complete - self.datetime_start

    def __copy__(self) -> TrialHandle:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> TrialHandle:
        return self


class Trial(TrialHandle):
    """One evaluation of the objective.

    Trials are created by :meth:`Study.ask` (or inside
    :meth:`Study.optimize`), never directly.

    Attributes
    ----------
    number : int
        Position of the trial in its study, from 0.
    state : TrialState
        RUNNING until told, then COMPLETE, PRUNED or FAIL.
    value : float or None
        The objective's value (for a PRUNED trial: the value it reported at
        its highest step).
    intermediate_values : dict of int to float
        Values reported with :meth:`report`, by step.
    datetime_start, datetime_complete : datetime.datetime or None
        When the trial was asked and when it finished.
    error : str or None
        Why a FAIL trial failed: the exception type and message (or the
        reason a value was refused), at most :data:`MAX_ERROR_LENGTH`
        characters. The traceback goes to the ``"tpe_core"`` logger.
    user_attrs : dict
        Values attached with :meth:`set_user_attr`.
    """

    def __init__(self, study: Study, number: int, row: np.ndarray) -> None:
        self._study = study
        self._row = row
        self.number = number
        self.state = TrialState.RUNNING
        self.value: float | None = None
        self.intermediate_values: dict[int, float] = {}
        self.datetime_start = datetime.datetime.now()
        self.datetime_complete: datetime.datetime | None = None
        self.error: str | None = None
        self.user_attrs: dict[str, Any] = {}
        self._judged_steps: set[int] = set()  # the steps should_prune was asked at (see BasePruner)

    @property
    def config(self) -> Any:
        """The configuration in the shape of the space, as the objective gets it
        (a new copy at each access)."""
        return self._study.search_space.decode_config(self._row)

    @property
    def params(self) -> dict[str, Any]:
        """The active parameters, flat, by name (see :class:`SearchSpace`)."""
        return self._study.search_space.decode_params(self._row)

    @property
    def direction(self) -> str:
        """The direction of the trial's study, ``"minimize"`` or ``"maximize"``
        (an objective that scores either way can check it)."""
        return self._study.direction

    def report(self, value: float, step: int) -> None:
        """Report an intermediate objective value, e.g. a validation loss per epoch.

        Parameters
        ----------
        value : float
            The value at this step.
        step : int
            A non-negative step number, such as the epoch. Reporting a step
            twice keeps the latest value.
        """
        if self.state.is_finished():
            raise RuntimeError(
                f"trial {self.number} is {self.state.value}; report() is for running trials"
            )
        value, step = check_report(value, step)
        self._study._record_report(self, step, value)
        self.intermediate_values[step] = value

    def set_user_attr(self, key: str, value: Any) -> None:
        """Attach a value to the trial, e.g. the epoch that scored best.

        Parameters
        ----------
        key : str
            The attribute's name.
        value : JSON-serialisable object
            Numbers, strings, booleans, None, and lists or dicts of them, so
            that a persistent study can store it. It is kept as storage
            gives it back: a tuple becomes a list, a dict's keys strings.

        Raises
        ------
        ValueError
            For a value that is not JSON-serialisable, and for the key
            ``"source"``, with which parzen marks an enqueued trial
            (:attr:`source`).
        """
        if self.state.is_finished():
            raise RuntimeError(
                f"trial {self.number} is {self.state.value}; set_user_attr() is for running trials"
            )
        self._store_user_attr(key, as_stored_user_attr(key, value, RESERVED_USER_ATTRS))

    def _store_user_attr(self, key: str, value: Any) -> None:
        self._study._record_user_attr(self, key, value)
        self.user_attrs[key] = value

    @property
    def last_step(self) -> int | None:
        """The highest step reported so far, or None."""
        return max(self.intermediate_values) if self.intermediate_values else None

    def should_prune(self) -> bool:
        """Whether the study's pruner says to stop this trial now.

        Call it after :meth:`report`; when it is True, stop and raise
        :class:`TrialPruned`. Without a pruner this is always False. The
        pruner judges the steps reported since the last call, so it may be
        asked less often than reports are made (every epoch reported, asked
        every other epoch: a rung passed in between is judged at the next call).
        Asked again with nothing new reported, it gives the same answer,
        whatever other trials did meanwhile (a rung is judged once).
        """
        if self.state.is_finished():
            return False
        asked = (self.last_step, self.intermediate_values.get(self.last_step))  # type: ignore[arg-type]
        answered = getattr(self, "_answer", None)  # (a Trial pickled by an older parzen has none)
        if answered is not None and answered[0] == asked:
            return answered[1]  # asked again with nothing new reported: the same answer, whatever others did
        decision = self._study._should_prune(self)
        if self.last_step is not None:
            self.__dict__.setdefault("_judged_steps", set()).add(self.last_step)
        self._answer = (asked, decision)
        return decision

    def __repr__(self) -> str:
        value = "" if self.value is None else f", value={self.value!r}"
        return f"Trial(number={self.number}, state={self.state.value}{value}, params={self.params!r})"
