"""hyperopt's ``rand`` module: ``fmin(..., algo=rand.suggest)`` runs random search."""

from tpe_core._hyperopt import Suggest
from tpe_core._samplers import RandomSampler

__all__ = ["suggest"]

suggest = Suggest("rand.suggest", RandomSampler, {})
