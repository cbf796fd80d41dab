"""Random search."""

from __future__ import annotations

import numpy as np

from tpe_core._history import History
from tpe_core._samplers._base import BaseSampler
from tpe_core._space import SearchSpace

__all__ = ["RandomSampler"]


def sample_prior(space: SearchSpace, rng: np.random.Generator, size: int) -> np.ndarray:
    """Draw ``size`` configurations from the space's prior.

    Returns
    -------
    ndarray of shape (size, n_params)
        Encoded rows, NaN for the parameters of branches not chosen.
    """
    rows = np.empty((size, len(space)))
    for j, p in enumerate(space.params):
        rows[:, j] = p.distribution._draw(rng, size)
    rows[~space.active_mask(rows)] = np.nan
    return rows


class RandomSampler(BaseSampler):
    """Draws every configuration independently from the space's prior.

    Log-scaled parameters are drawn uniformly in log space, stepped ones on
    their grid, Categoricals by their weights, scipy.stats distributions by
    their own ``rvs``.

    Parameters
    ----------
    seed : int, optional
        Seed; the same seed gives the same sequence of configurations.

    Examples
    --------
    >>> from tpe_core import Float, Study
    >>> study = Study({"x": Float(-5.0, 5.0)}, sampler=RandomSampler(seed=0))
    >>> study.optimize(lambda c: c["x"] ** 2, n_trials=20)
    >>> study.best_value < 1.0
    True
    """

    def sample(self, space: SearchSpace, history: History, number: int) -> np.ndarray:
        return sample_prior(space, self._rng(number), 1)[0]
