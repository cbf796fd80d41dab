"""The encoded history of a study: what samplers read.

Samplers never see :class:`Trial` objects; they see this record of arrays,
grown in place as trials are asked and told, so that a sampler never
re-encodes the history from dicts at every ask.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

__all__ = ["History", "STATE_CODES", "canonical", "grown", "row_keys"]

# Integer codes of trial states in ``History.states``, in TrialState order.
STATE_CODES = {"RUNNING": 0, "COMPLETE": 1, "PRUNED": 2, "FAIL": 3}


def canonical(rows: np.ndarray) -> np.ndarray:
    """Encoded rows with NaN (an inactive parameter) as inf and -0.0 as 0.0,
    so that ``==`` tells the same configuration."""
    return np.where(np.isnan(rows), np.inf, rows + 0.0)


def row_keys(rows: np.ndarray) -> list[bytes]:
    """Hashable keys of encoded rows: equal keys, the same configuration."""
    return [r.tobytes() for r in canonical(rows)]


class History:
    """Encoded trials of one study, in trial-number order.

    Parameters
    ----------
    n_params : int
        Number of columns of an encoded row.
    direction : {"minimize", "maximize"}
        Whether lower or higher values are better.

    Attributes
    ----------
    rows : ndarray of shape (n_trials, n_params)
        Encoded configurations, NaN for inactive parameters.
    values : ndarray of shape (n_trials,)
        Objective values, NaN where there is none (running, failed).
    states : ndarray of shape (n_trials,), int8
        State codes, see ``STATE_CODES``.
    steps : ndarray of shape (n_trials,)
        Last reported step of a PRUNED trial (its ``values`` entry is the
        value reported at that step), NaN otherwise.
    diverged : ndarray of shape (n_trials,), bool
        FAIL trials whose objective returned NaN or an infinity (a diverged
        training run), as opposed to raising an exception.
    finished : ndarray of shape (n_finished,), int
        Numbers of the finished trials, in the order they finished (so a
        reader can take in only those finished since it last looked).
    reports : tuple of three ndarrays of shape (n_reports,)
        The intermediate values of the finished trials, one entry per
        reported step: trial numbers, steps and values, in the order the
        trials finished.
    """

    def __init__(self, n_params: int, direction: str = "minimize") -> None:
        self.direction = direction
        self._rows = np.empty((8, n_params))
        self._values = np.empty(8)
        self._states = np.empty(8, dtype=np.int8)
        self._steps = np.empty(8)
        self._diverged = np.empty(8, dtype=bool)
        self._finished = np.empty(8, dtype=np.intp)
        self._report_trials = np.empty(8, dtype=np.intp)
        self._report_steps = np.empty(8, dtype=np.int64)
        self._report_values = np.empty(8)
        self._n = 0
        self._n_finished = 0
        self._n_reports = 0

    def __len__(self) -> int:
        return self._n

    @property
    def rows(self) -> np.ndarray:
        return self._rows[: self._n]

    @property
    def values(self) -> np.ndarray:
        return self._values[: self._n]

    @property
    def losses(self) -> np.ndarray:
        """``values`` oriented so that lower is better."""
        return self.values if self.direction == "minimize" else -self.values

    @property
    def states(self) -> np.ndarray:
        return self._states[: self._n]

    @property
    def steps(self) -> np.ndarray:
        return self._steps[: self._n]

    @property
    def diverged(self) -> np.ndarray:
        return self._diverged[: self._n]

    @property
    def finished(self) -> np.ndarray:
        return self._finished[: self._n_finished]

    @property
    def reports(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        n = self._n_reports
        return self._report_trials[:n], self._report_steps[:n], self._report_values[:n]

    def append(self, row: np.ndarray) -> int:
        """Add a running trial's row; return its index (its trial number)."""
        if self._n == len(self._values):
            self._grow()
        index = self._n
        self._rows[index] = row
        self._values[index] = np.nan
        self._states[index] = STATE_CODES["RUNNING"]
        self._steps[index] = np.nan
        self._diverged[index] = False
        self._n += 1
        return index

    def finish(
        self,
        index: int,
        state: str,
        value: float | None,
        *,
        step: int | None = None,
        diverged: bool = False,
        reports: Mapping[int, float] | None = None,
    ) -> None:
        """Record the final state, value, last step, divergence and
        intermediate values (``reports``, step to value) of trial ``index``.

        Raises
        ------
        IndexError
            If there is no trial ``index``.
        ValueError
            If the trial has finished already (a finished trial is final).
        """
        if not 0 <= index < self._n:
            raise IndexError(f"there is no trial {index} in a history of {self._n} trials")
        if self._states[index] != STATE_CODES["RUNNING"]:
            raise ValueError(f"trial {index} has finished already; a finished trial cannot finish again")
        self._finished[self._n_finished] = index
        self._n_finished += 1
        self._states[index] = STATE_CODES[state]
        self._values[index] = np.nan if value is None else value
        self._steps[index] = np.nan if step is None else step
        self._diverged[index] = diverged
        if reports:
            self._add_reports(index, reports)

    def _add_reports(self, index: int, reports: Mapping[int, float]) -> None:
        start, end = self._n_reports, self._n_reports + len(reports)
        if end > len(self._report_values):
            capacity = max(end, 2 * len(self._report_values))
            for name in ("_report_trials", "_report_steps", "_report_values"):
                setattr(self, name, grown(getattr(self, name), capacity))
        self._report_trials[start:end] = index
        self._report_steps[start:end] = list(reports.keys())
        self._report_values[start:end] = list(reports.values())
        self._n_reports = end

    def _grow(self) -> None:
        capacity = 2 * len(self._values)
        for name in ("_rows", "_values", "_states", "_steps", "_diverged", "_finished"):
            setattr(self, name, grown(getattr(self, name), capacity))


def grown(array: np.ndarray, length: int, axis: int = 0) -> np.ndarray:
    """A copy of ``array`` made ``length`` long along ``axis``: the old entries
    first, zeros after (for buffers grown by doubling)."""
    shape = list(array.shape)
    shape[axis] = length
    out = np.zeros(shape, dtype=array.dtype)
    out[(slice(None),) * axis + (slice(array.shape[axis]),)] = array
    return out
