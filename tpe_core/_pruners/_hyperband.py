"""Hyperband: successive halving in several brackets of aggressiveness."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from tpe_core._pruners._base import BasePruner, reported_trials
from tpe_core._pruners._successive_halving import prune_at_rungs, rung_resources
from tpe_core._trial import Trial
from tpe_core._validation import check_int

if TYPE_CHECKING:
    from tpe_core._study import Study

__all__ = ["HyperbandPruner"]

_GOLDEN = (math.sqrt(5) - 1) / 2


class HyperbandPruner(BasePruner):
    """Hyperband (Li et al., 2018) run asynchronously, as successive halving
    in ``s_max + 1`` brackets.

    With ``s_max = floor(log_eta(max_resource / min_resource))``, bracket
    ``s`` (from ``s_max``, the most aggressive, to 0, no early stopping)
    starts ``ceil((s_max + 1) / (s + 1) * eta ** s)`` configurations at
    ``min_resource * eta ** (s_max - s)`` steps, the published schedule
    (which writes it ``max_resource * eta ** -s`` when ``max_resource`` is
    ``min_resource * eta ** s_max``); bracket 0 trains every trial to the
    end. Each trial
    joins one bracket, chosen from its number in proportion to those counts
    (a golden-ratio sequence, so brackets interleave evenly), and competes
    only with the trials of its bracket, at that bracket's rungs.

    Parameters
    ----------
    min_resource : int, default=1
        Steps of the smallest rung.
    max_resource : int, default=100
        Steps of a full training (e.g. ``max_epochs``, epochs reported 1-based).
    reduction_factor : int, default=3
        The ``eta`` of the paper.

    Examples
    --------
    >>> HyperbandPruner(min_resource=1, max_resource=27).brackets()
    [(27, 1), (12, 3), (6, 9), (4, 27)]
    """

    def __init__(self, min_resource: int = 1, max_resource: int = 100, reduction_factor: int = 3) -> None:
        self.min_resource = check_int("min_resource", min_resource, minimum=1)
        self.max_resource = check_int("max_resource", max_resource, minimum=1)
        self.reduction_factor = check_int("reduction_factor", reduction_factor, minimum=2)
        if self.max_resource <= self.min_resource:
            raise ValueError(
                f"HyperbandPruner needs max_resource > min_resource, got min_resource={min_resource!r}, "
                f"max_resource={max_resource!r}"
            )
        if self.min_resource * self.reduction_factor > self.max_resource:
            raise ValueError(
                "HyperbandPruner would have a single bracket, one that never stops a trial: it needs "
                f"min_resource * reduction_factor <= max_resource, and that is "
                f"{self.min_resource * self.reduction_factor}; got "
                f"min_resource={min_resource!r}, reduction_factor={reduction_factor!r}, max_resource={max_resource!r}"
            )

    @property
    def s_max(self) -> int:
        """The most aggressive bracket's index: rungs fit ``s_max`` times below max_resource."""
        s, resource = 0, self.min_resource * self.reduction_factor
        while resource <= self.max_resource:
            s, resource = s + 1, resource * self.reduction_factor
        return s

    def brackets(self) -> list[tuple[int, int]]:
        """``(n_configurations, min_resource)`` of each bracket, from ``s = s_max`` down to 0."""
        s_max, eta = self.s_max, self.reduction_factor
        return [
            (
                math.ceil((s_max + 1) * eta**s / (s + 1)),
                self.min_resource * eta ** (s_max - s) if s > 0 else self.max_resource,
            )
            for s in range(s_max, -1, -1)
        ]

    def bracket_of(self, number: int) -> int:
        """Index in :meth:`brackets` of the bracket that trial ``number`` joins."""
        counts = [n for n, _ in self.brackets()]
        u = (number * _GOLDEN) % 1.0
        cumulative = 0
        for index, n in enumerate(counts):
            cumulative += n
            if u * sum(counts) < cumulative:
                return index
        return len(counts) - 1

    def prune(self, study: Study, trial: Trial) -> bool:
        step = trial.last_step
        if step is None:
            return False
        bracket = self.bracket_of(trial.number)
        if bracket == self.s_max:  # the bracket that trains every trial to the end
            return False
        others = [t for t in reported_trials(study, trial) if self.bracket_of(t.number) == bracket]
        rungs = rung_resources(self.min_resource, self.reduction_factor, bracket, min(step + 1, self.max_resource))
        return prune_at_rungs(study, trial, rungs, self.reduction_factor, others, 1)
