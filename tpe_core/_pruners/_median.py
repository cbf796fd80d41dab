"""The median stopping rule."""

from __future__ import annotations

import math
import statistics
from typing import TYPE_CHECKING

from tpe_core._pruners._base import BasePruner, last_judged_step, loss
from tpe_core._trial import Trial, TrialState
from tpe_core._validation import check_int

if TYPE_CHECKING:
    from tpe_core._study import Study

__all__ = ["MedianPruner"]


class MedianPruner(BasePruner):
    """Stop a trial whose best value so far is worse than the median of the
    COMPLETE trials' values at the same step (Golovin et al., 2017).

    Parameters
    ----------
    n_startup_trials : int, default=5
        No pruning until this many trials are COMPLETE.
    n_warmup_steps : int, default=0
        No pruning at steps below this one.
    interval_steps : int, default=1
        Decide once per interval of ``interval_steps`` steps from
        ``n_warmup_steps``, at the first step the trial reported in it.
        Asked less often than it reports, the pruner judges the steps
        reported since it was last asked, so a trial asking every other
        step is judged as one asking at every step.
    n_min_trials : int, default=1
        No pruning at a step that fewer COMPLETE trials reported.

    Notes
    -----
    The trial's best value over its steps up to the current one is
    compared, so one noisy epoch does not stop a good run. A trial whose
    values are all NaN (a diverged training) is pruned, however few
    COMPLETE trials reported that step.

    Examples
    --------
    >>> from tpe_core import Float, Study, TrialPruned
    >>> study = Study({"lr": Float(1e-4, 1.0, log=True)}, pruner=MedianPruner(n_startup_trials=2))
    >>> def objective(config, trial):
    ...     for epoch in range(1, 11):
    ...         trial.report(config["lr"] / epoch, step=epoch)
    ...         if trial.should_prune():
    ...             raise TrialPruned()
    ...     return config["lr"] / 10
    >>> study.optimize(objective, n_trials=10)
    """

    def __init__(
        self,
        n_startup_trials: int = 5,
        n_warmup_steps: int = 0,
        interval_steps: int = 1,
        n_min_trials: int = 1,
    ) -> None:
        self.n_startup_trials = check_int("n_startup_trials", n_startup_trials, minimum=0)
        self.n_warmup_steps = check_int("n_warmup_steps", n_warmup_steps, minimum=0)
        self.interval_steps = check_int("interval_steps", interval_steps, minimum=1)
        self.n_min_trials = check_int("n_min_trials", n_min_trials, minimum=1)

    def prune(self, study: Study, trial: Trial) -> bool:
        step = trial.last_step
        if step is None:
            return False
        complete = study.get_trials([TrialState.COMPLETE])
        if len(complete) < self.n_startup_trials:
            return False
        previous = last_judged_step(trial)
        decided = self._interval(previous)  # the interval an earlier ask decided, if any
        for reported in sorted(s for s in trial.intermediate_values if previous < s <= step):
            interval = self._interval(reported)
            if interval is None or interval == decided:
                continue
            decided = interval  # decided at its first reported step
            if self._worse_than_median(study, complete, trial, reported):
                return True
        return False

    def _interval(self, step: int) -> int | None:
        """The interval ``step`` falls in, None within the warm-up."""
        return None if step < self.n_warmup_steps else (step - self.n_warmup_steps) // self.interval_steps

    def _worse_than_median(self, study: Study, complete: list[Trial], trial: Trial, step: int) -> bool:
        """Whether the trial's best value up to ``step`` is worse than the COMPLETE trials' median there (a
        trial that reported only NaN up to it is)."""
        so_far = [loss(v, study.direction) for s, v in trial.intermediate_values.items() if s <= step]
        so_far = [v for v in so_far if not math.isnan(v)]
        if not so_far:
            return True
        others = [
            loss(t.intermediate_values[step], study.direction)
            for t in complete
            if step in t.intermediate_values and not math.isnan(t.intermediate_values[step])
        ]
        if len(others) < self.n_min_trials:
            return False
        return min(so_far) > statistics.median(others)
