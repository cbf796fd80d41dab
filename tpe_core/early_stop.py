"""hyperopt's ``early_stop`` module: ready-made ``fmin(early_stop_fn=...)`` rules.

Port ``from hyperopt.early_stop import no_progress_loss`` as
``from tpe_core.early_stop import no_progress_loss``.

Examples
--------
>>> from tpe_core import Trials, fmin, hp
>>> from tpe_core.early_stop import no_progress_loss
>>> trials = Trials()
>>> best = fmin(lambda x: 1.0, hp.uniform("x", 0, 1), max_evals=100, trials=trials,
...             early_stop_fn=no_progress_loss(5), show_progressbar=False)
>>> len(trials)  # the first trial counts as one without progress, as in hyperopt
5
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from tpe_core._hyperopt import STATUS_OK, Trials
from tpe_core._validation import check_int

__all__ = ["no_progress_loss"]


def no_progress_loss(
    iteration_stop_count: int = 20, percent_increase: float = 0.0
) -> Callable[..., tuple[bool, list[Any]]]:
    """Stop a search after ``iteration_stop_count`` trials in a row that did
    not improve on the best loss by more than ``percent_increase`` percent
    of it.

    A trial without a loss (a failure) makes no progress, so a search whose
    trials all fail stops too. As in hyperopt, the first trial of each
    ``fmin`` call counts as one without progress (it has no best to improve
    on), and never stops the search.

    Parameters
    ----------
    iteration_stop_count : int, default=20
        Trials without progress that stop the search.
    percent_increase : float, default=0.0
        The improvement, in percent of ``|best loss|``, that counts as progress.

    Returns
    -------
    callable
        ``early_stop_fn(trials, *args) -> (stop, args)`` for :func:`tpe_core.fmin`.
    """
    check_int("iteration_stop_count", iteration_stop_count, minimum=1)
    if isinstance(percent_increase, bool) or not isinstance(percent_increase, (int, float)) or not (
        percent_increase >= 0 and math.isfinite(percent_increase)
    ):
        raise ValueError(f"percent_increase must be a number >= 0, got percent_increase={percent_increase!r}")

    def early_stop_fn(trials: Trials, best: float | None = None, stale: int = 0) -> tuple[bool, list[Any]]:
        result = trials.results[-1]
        loss = result.get("loss") if result.get("status") == STATUS_OK else None
        if best is None:  # nothing to improve on yet; a failure makes no progress either
            stale += 1
            return loss is None and 1 < stale and iteration_stop_count <= stale, [loss, stale]
        improved = loss is not None and loss < best - abs(best) * percent_increase / 100
        best, stale = (loss, 0) if improved else (best, stale + 1)
        return stale >= iteration_stop_count, [best, stale]

    return early_stop_fn
