"""Trials: one evaluation of the objective at one configuration."""

from __future__ import annotations

import datetime
import enum
import math
from typing import TYPE_CHECKING, Any

import numpy as np

from tpe_core._validation import check_int, check_user_attr

if TYPE_CHECKING:
    from tpe_core._study import Study

__all__ = ["MAX_ERROR_LENGTH", "Trial", "TrialPruned", "TrialState", "describe_exception"]

#: Longest failure reason kept in ``Trial.error`` (and in storage); longer
#: ones are cut and end with "...".
MAX_ERROR_LENGTH = 1000


class TrialState(enum.Enum):
    """Life cycle of a trial: RUNNING, then COMPLETE, PRUNED or FAIL."""

    RUNNING = "RUNNING"
    COMPLETE = "COMPLETE"
    PRUNED = "PRUNED"
    FAIL = "FAIL"

    def is_finished(self) -> bool:
        return self is not TrialState.RUNNING


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


def _is_number_like(x: Any) -> bool:
    return (
        hasattr(x, "__float__")
        and not isinstance(x, (bool, np.bool_, str, bytes, complex))
        and not np.iscomplexobj(x)
    )


def is_nonfinite_number(x: Any) -> bool:
    """Whether ``x`` is a NaN or an infinity, as a diverged training returns."""
    if not _is_number_like(x):
        return False
    try:
        return not math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def short_reason(text: str) -> str:
    """``text`` cut to :data:`MAX_ERROR_LENGTH` characters."""
    if len(text) <= MAX_ERROR_LENGTH:
        return text
    return text[: MAX_ERROR_LENGTH - 3] + "..."


def describe_exception(e: BaseException) -> str:
    """Why a trial failed: ``"ValueError: message"``, cut to :data:`MAX_ERROR_LENGTH`."""
    return short_reason(f"{type(e).__name__}: {e}" if str(e) else type(e).__name__)


def as_objective_value(result: Any) -> tuple[float | None, str | None]:
    """Check what an objective returned: ``(value, None)`` or ``(None, reason)``."""
    if not _is_number_like(result):
        return None, f"the objective returned {result!r} ({type(result).__name__}), not a number"
    try:
        value = float(result)
    except (TypeError, ValueError) as e:
        return None, f"the objective returned {result!r}, which is not a single number ({e})"
    if not math.isfinite(value):
        return None, f"the objective returned {value!r}; a value must be finite"
    return value, None


class Trial:
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
    def source(self) -> str:
        """``"manual"`` for a trial made from :meth:`Study.enqueue`, ``"sampler"`` otherwise."""
        return "manual" if self.user_attrs.get("source") == "manual" else "sampler"

    @property
    def duration(self) -> datetime.timedelta | None:
        """Time from start to completion, None while running."""
        if self.datetime_complete is None:
            return None
        return self.datetime_complete - self.datetime_start

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
        check_int("step", step, minimum=0)
        if not _is_number_like(value):
            raise TypeError(f"report: value must be a number, got {value!r}")
        self._study._record_report(self, int(step), float(value))
        self.intermediate_values[int(step)] = float(value)

    def set_user_attr(self, key: str, value: Any) -> None:
        """Attach a value to the trial, e.g. the epoch that scored best.

        Parameters
        ----------
        key : str
            The attribute's name.
        value : JSON-serialisable object
            Numbers, strings, booleans, None, and lists or dicts of them, so
            that a persistent study can store it.
        """
        check_user_attr(key, value)
        self._study._record_user_attr(self, key, value)
        self.user_attrs[key] = value

    @property
    def last_step(self) -> int | None:
        """The highest step reported so far, or None."""
        return max(self.intermediate_values) if self.intermediate_values else None

    def should_prune(self) -> bool:
        """Whether the study's pruner says to stop this trial now.

        Call it after :meth:`report`; when it is True, stop and raise
        :class:`TrialPruned`. Without a pruner this is always False.
        """
        if self.state.is_finished():
            return False
        return self._study._should_prune(self)

    def __repr__(self) -> str:
        value = "" if self.value is None else f", value={self.value!r}"
        return f"Trial(number={self.number}, state={self.state.value}{value}, params={self.params!r})"
