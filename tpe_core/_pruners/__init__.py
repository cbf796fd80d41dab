"""Pruners: stop unpromising trials from the values they report."""

from tpe_core._pruners._base import BasePruner
from tpe_core._pruners._hyperband import HyperbandPruner
from tpe_core._pruners._median import MedianPruner
from tpe_core._pruners._successive_halving import SuccessiveHalvingPruner

__all__ = ["BasePruner", "HyperbandPruner", "MedianPruner", "SuccessiveHalvingPruner"]
