"""The pruner interface, and what every pruner reads from a study."""

from __future__ import annotations

import abc
import math
from typing import TYPE_CHECKING

from tpe_core._trial import Trial

if TYPE_CHECKING:
    from tpe_core._study import Study

__all__ = ["BasePruner"]


class BasePruner(abc.ABC):
    """Decides, from the values trials reported, whether to stop a trial early.

    A pruner is pure: the same trials give the same decision, so processes
    sharing a stored study agree. :meth:`Trial.should_prune` asks the
    study's pruner, normally after each :meth:`Trial.report`; a pruner
    judges the steps reported since it was last asked
    (:func:`last_judged_step`), so that asking less often skips no rung.
    """

    @abc.abstractmethod
    def prune(self, study: Study, trial: Trial) -> bool:
        """Whether ``trial`` (running, with its latest report) should stop now."""

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({args})"


def loss(value: float, direction: str) -> float:
    """``value`` oriented so that lower is better; NaN stays NaN (the worst)."""
    return value if direction == "minimize" else -value


def first_value_from(trial: Trial, step: int, direction: str) -> float | None:
    """The trial's oriented value at its first reported step ``>= step``, or None.

    A NaN (a diverged run) counts as +inf, the worst value.
    """
    reached = [s for s in trial.intermediate_values if s >= step]
    if not reached:
        return None
    value = loss(trial.intermediate_values[min(reached)], direction)
    return math.inf if math.isnan(value) else value


def last_judged_step(trial: Trial) -> int:
    """The highest step below the trial's latest at which its pruner was asked, or -1: the steps after it
    and up to the latest are the ones to judge now (asked again at the same step, the same ones)."""
    step = trial.last_step
    judged = [s for s in getattr(trial, "_judged_steps", ()) if step is not None and s < step]
    return max(judged, default=-1)


def reported_trials(study: Study, exclude: Trial) -> list[Trial]:
    """Every other trial that reported something, whatever its state."""
    return [t for t in study.trials if t.number != exclude.number and t.intermediate_values]
