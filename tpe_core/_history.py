"""The encoded history of a study: what samplers read.

Samplers never see :class:`Trial` objects; they see this record of arrays,
grown in place as trials are asked and told, so that a sampler never
re-encodes the history from dicts at every ask.
"""

from __future__ import annotations

import numpy as np

__all__ = ["History", "STATE_CODES"]

# Integer codes of trial states in ``History.states``, in TrialState order.
STATE_CODES = {"RUNNING": 0, "COMPLETE": 1, "PRUNED": 2, "FAIL": 3}


class History:
    """Encoded trials of one study, in trial-number order.

    Parameters
    ----------
    n_params : int
        Number of columns of an encoded row.

    Attributes
    ----------
    rows : ndarray of shape (n_trials, n_params)
        Encoded configurations, NaN for inactive parameters.
    values : ndarray of shape (n_trials,)
        Objective values, NaN where there is none (running, failed).
    states : ndarray of shape (n_trials,), int8
        State codes, see ``STATE_CODES``.
    """

    def __init__(self, n_params: int) -> None:
        self._rows = np.empty((8, n_params))
        self._values = np.empty(8)
        self._states = np.empty(8, dtype=np.int8)
        self._n = 0

    def __len__(self) -> int:
        return self._n

    @property
    def rows(self) -> np.ndarray:
        return self._rows[: self._n]

    @property
    def values(self) -> np.ndarray:
        return self._values[: self._n]

    @property
    def states(self) -> np.ndarray:
        return self._states[: self._n]

    def append(self, row: np.ndarray) -> int:
        """Add a running trial's row; return its index (its trial number)."""
        if self._n == len(self._values):
            self._grow()
        index = self._n
        self._rows[index] = row
        self._values[index] = np.nan
        self._states[index] = STATE_CODES["RUNNING"]
        self._n += 1
        return index

    def finish(self, index: int, state: str, value: float | None) -> None:
        """Record the final state (and value) of trial ``index``."""
        self._states[index] = STATE_CODES[state]
        self._values[index] = np.nan if value is None else value

    def _grow(self) -> None:
        capacity = 2 * len(self._values)
        rows = np.empty((capacity, self._rows.shape[1]))
        rows[: self._n] = self._rows[: self._n]
        values = np.empty(capacity)
        values[: self._n] = self._values[: self._n]
        states = np.empty(capacity, dtype=np.int8)
        states[: self._n] = self._states[: self._n]
        self._rows, self._values, self._states = rows, values, states
