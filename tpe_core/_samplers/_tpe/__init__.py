"""The Tree-structured Parzen Estimator."""

from tpe_core._samplers._tpe._sampler import TPESampler

__all__ = ["TPESampler"]
