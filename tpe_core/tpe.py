"""hyperopt's ``tpe`` module: ``fmin(..., algo=tpe.suggest)`` runs parzen's TPE.

``functools.partial(tpe.suggest, n_startup_jobs=..., n_EI_candidates=...,
gamma=..., prior_weight=...)`` takes hyperopt's option names with their
hyperopt meanings (``gamma`` sizes the good group as
``ceil(gamma * sqrt(n))``, at most 25).
"""

from __future__ import annotations

import math

from tpe_core._hyperopt import Suggest
from tpe_core._samplers import TPESampler

__all__ = ["suggest"]


class HyperoptGamma:
    """hyperopt's good-group size: ``min(ceil(gamma * sqrt(n)), 25)``."""

    def __init__(self, gamma: float) -> None:
        if isinstance(gamma, bool) or not isinstance(gamma, (int, float)) or not gamma > 0:
            raise ValueError(f"tpe.suggest: gamma must be a positive number, got gamma={gamma!r}")
        self.gamma = float(gamma)

    def __call__(self, n: int) -> int:
        return min(math.ceil(self.gamma * math.sqrt(n)), 25)

    def __repr__(self) -> str:
        return f"HyperoptGamma({self.gamma!r})"


suggest = Suggest(
    "tpe.suggest",
    TPESampler,
    {
        "n_startup_jobs": ("n_startup_trials", None),
        "n_EI_candidates": ("n_ei_candidates", None),
        "gamma": ("gamma", HyperoptGamma),
        "prior_weight": ("prior_weight", None),
    },
)
