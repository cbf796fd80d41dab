"""A prototype TPE that ranks trials by the deepest step that enough of them reached (BOHB's rule).

Under a pruner, :class:`tpe_core.TPESampler` ranks COMPLETE trials first
and PRUNED ones after them (further along first), so its good group is
drawn from the few trials that went to the end. BOHB (Falkner et al., 2018)
instead models the deepest budget at which enough trials were observed and
compares all of them there. This prototype does the same from the trials'
reported values: it finds the deepest rung (27, 9, 3 or 1 epochs) that at
least ``n_min`` finished trials reached, ranks those by their value there
(a COMPLETE trial at 27 by its objective value), then the others as the
stock sampler does. ``bench_pruning.py`` runs it as the ``parzen-rung``
library (``--configs parzen-rung/asha``).

It reads the study's trials, which the sampler interface does not hand
over, hence a prototype for the benchmark, not part of parzen: a built-in
version needs each trial's reported values in the sampler's history.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tpe_core import TPESampler
from tpe_core._history import STATE_CODES, History

RUNGS = (27, 9, 3, 1)


class RungTPESampler(TPESampler):
    """:class:`tpe_core.TPESampler` ranking by the deepest well-reached rung; set ``study`` before use."""

    def __init__(self, seed: int | None = None, n_min: int = 10) -> None:
        super().__init__(seed=seed)
        self.n_min = n_min
        self.study: Any = None

    def _value_at(self, number: int, rung: int, complete: bool) -> float | None:
        trial = self.study.trials[number]
        if rung == RUNGS[0]:
            return trial.value if complete else None
        return trial.intermediate_values.get(rung)

    def _rank(self, history: History) -> tuple[np.ndarray, np.ndarray]:
        states = history.states
        if not (states == STATE_CODES["PRUNED"]).any():
            return super()._rank(history)
        finished = np.flatnonzero((states == STATE_CODES["COMPLETE"]) | (states == STATE_CODES["PRUNED"]))
        complete = states == STATE_CODES["COMPLETE"]
        for rung in RUNGS:
            values = {i: v for i in finished if (v := self._value_at(i, rung, complete[i])) is not None}
            if len(values) >= self.n_min:
                break
        top = sorted(values, key=lambda i: (-values[i] if self.study.direction == "maximize" else values[i], i))
        rest = np.array([i for i in finished if i not in values], dtype=np.intp)  # all PRUNED
        ranked = np.concatenate([np.array(top, dtype=np.intp), self._below_complete(history, rest)])
        return ranked, np.flatnonzero(states == STATE_CODES["RUNNING"])
