"""Parzen estimators: weighted mixtures of product kernels, vectorized.

An estimator models a group of columns (one scope of the space, or one
column for univariate TPE) with one kernel per observation plus a *prior*
kernel. Each kernel is a product over the group's columns:

* a continuous numeric column: a Gaussian on the unit scale truncated to
  ``[0, 1]``;
* a numeric column on a step grid: the mass that Gaussian puts on the
  value's grid cell;
* a categorical column: a probability vector over the options that puts
  most mass on the observed option (an Aitchison-Aitken style kernel).

Shapes: ``m`` kernels (the last one is the prior), ``C`` candidates, and
``dc`` / ``dd`` / ``dk`` continuous / stepped / categorical columns.

The log-density of the numeric part is a quadratic form (Bergstra et
al., 2011, eq. 3 for the mixture; the product kernel of Falkner et al.,
2018): with ``q = 1 / sigma**2``,

    sum_d ((c_d - mu_kd) / sigma_kd)**2
        = (c**2) @ q.T - 2 * c @ (mu * q).T + sum_d mu_kd**2 q_kd,

two ``(C, d) x (d, m)`` matrix products plus a per-kernel constant.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr, ndtri

__all__ = ["ParzenEstimator", "fit_parzen", "log_gauss_mass", "neighbour_gaps"]

_LOG_SQRT_2PI = 0.5 * np.log(2.0 * np.pi)
_TINY = 1e-300


def log_gauss_mass(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``log(Phi(b) - Phi(a))`` for ``a <= b``, accurate in both tails."""
    flip = a > 0  # in the upper tail use Phi(-a) - Phi(-b), which keeps precision
    lo = np.where(flip, -b, a)
    hi = np.where(flip, -a, b)
    return np.log(np.maximum(ndtr(hi) - ndtr(lo), _TINY))


def _log_unit_mass(mu: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """Log of each kernel's mass on ``[0, 1]``; exactly 0 for kernels more
    than 9 bandwidths from both ends (the mass then differs from 1 by less
    than 1e-18), so only kernels near an end cost a CDF evaluation."""
    out = np.zeros_like(mu)
    near = (mu < 9.0 * sigma) | (1.0 - mu < 9.0 * sigma)
    out[near] = log_gauss_mass(-mu[near] / sigma[near], (1.0 - mu[near]) / sigma[near])
    return out


def neighbour_gaps(mu: np.ndarray, *, consider_endpoints: bool = False) -> np.ndarray:
    """Per kernel and column, the larger gap to its neighbours (hyperopt's
    bandwidth rule).

    The ends of ``[0, 1]`` count as the neighbours of the smallest and the
    largest centre when ``consider_endpoints`` is true, or when there is a
    single centre; otherwise those two take their one inner gap.

    Parameters
    ----------
    mu : ndarray (n, d)
        Kernel centres on the unit scale.

    Returns
    -------
    ndarray (n, d)
    """
    n, d = mu.shape
    order = np.argsort(mu, axis=0)
    padded = np.vstack([np.zeros((1, d)), np.take_along_axis(mu, order, axis=0), np.ones((1, d))])
    left, right = padded[1:-1] - padded[:-2], padded[2:] - padded[1:-1]
    if not consider_endpoints and n >= 2:
        left[0], right[-1] = 0.0, 0.0
    out = np.empty_like(mu)
    np.put_along_axis(out, order, np.maximum(left, right), axis=0)
    return out


@dataclass(frozen=True)
class ParzenEstimator:
    """A fitted mixture; build it with :func:`fit_parzen`.

    Attributes
    ----------
    log_weights : ndarray (m,)
        Log mixture weights, summing to one.
    mu, sigma, log_sigma : ndarray (m, dc + dd)
        Kernel centres, bandwidths and their logs, continuous columns first.
    log_mass : ndarray (m, dc + dd)
        Log of each kernel's mass on ``[0, 1]`` (its truncation constant).
    n_continuous : int
        ``dc``.
    inv_var, mu_inv_var : ndarray (m, dc + dd)
        ``1 / sigma**2`` and ``mu / sigma**2``.
    const : ndarray (m,)
        Per-kernel constant of the numeric log-density.
    log_probs : list of ndarray (m, n_choices)
        Log kernel probabilities of each categorical column.
    """

    log_weights: np.ndarray
    mu: np.ndarray
    sigma: np.ndarray
    log_sigma: np.ndarray
    log_mass: np.ndarray
    n_continuous: int
    inv_var: np.ndarray
    mu_inv_var: np.ndarray
    const: np.ndarray
    log_probs: list[np.ndarray]

    def sample(self, rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray]:
        """Draw ``size`` points.

        Returns
        -------
        z : ndarray (size, dc + dd)
            Numeric columns on the unit scale (stepped ones not yet on their grid).
        choices : ndarray of int (size, dk)
            Option indices of the categorical columns.
        """
        k = rng.choice(len(self.log_weights), size=size, p=np.exp(self.log_weights))
        mu, sigma = self.mu[k], self.sigma[k]
        # Inverse-CDF sampling of the truncated Gaussian.
        lo, hi = ndtr((0.0 - mu) / sigma), ndtr((1.0 - mu) / sigma)
        u = lo + rng.random(mu.shape) * (hi - lo)
        z = np.clip(mu + sigma * ndtri(np.clip(u, _TINY, 1.0 - 1e-16)), 0.0, 1.0)
        choices = np.empty((size, len(self.log_probs)), dtype=np.intp)
        for j, log_p in enumerate(self.log_probs):
            cdf = np.cumsum(np.exp(log_p[k]), axis=1)
            draws = rng.random((size, 1)) * cdf[:, -1:]
            choices[:, j] = (draws > cdf).sum(axis=1)
        return z, choices

    def log_pdf(
        self,
        z: np.ndarray,
        cell_low: np.ndarray,
        cell_high: np.ndarray,
        choices: np.ndarray,
    ) -> np.ndarray:
        """Log-density (log-mass for stepped and categorical columns) of candidates.

        The mass a kernel puts on a grid cell is taken by the midpoint rule,
        ``width * pdf(z)``, when the cell is at most half the column's
        smallest bandwidth ``h = width / sigma <= 1/2`` (relative error about
        ``h**2 (t**2 - 1) / 24`` for a kernel ``t`` bandwidths away), which
        lets stepped columns join the quadratic form; wider cells get the
        exact Gaussian mass.

        Parameters
        ----------
        z : ndarray (C, dc + dd)
            Numeric columns on the unit scale, continuous first; a stepped
            column holds the unit-scale position of the candidate's value.
        cell_low, cell_high : ndarray (C, dd)
            Unit-scale bounds of the grid cells of the stepped columns.
        choices : ndarray of int (C, dk)
            Option indices of the categorical columns.

        Returns
        -------
        ndarray (C,)
        """
        quad = (z**2) @ self.inv_var.T - 2.0 * z @ self.mu_inv_var.T
        log_kernel = (self.log_weights + self.const) - 0.5 * quad
        if cell_low.shape[1]:
            width = cell_high - cell_low
            log_kernel += np.log(width).sum(axis=1, keepdims=True)
            self._correct_wide_cells(log_kernel, z[:, self.n_continuous :], cell_low, cell_high)
        for j, log_p in enumerate(self.log_probs):
            log_kernel += log_p.T[choices[:, j]]
        return _logsumexp_rows(log_kernel)

    def _correct_wide_cells(
        self, log_kernel: np.ndarray, z: np.ndarray, cell_low: np.ndarray, cell_high: np.ndarray
    ) -> None:
        """Replace the midpoint rule by the exact mass for cells wider than
        half the smallest bandwidth of their column (in place)."""
        dc = self.n_continuous
        for j in range(cell_low.shape[1]):
            mu, sigma = self.mu[:, dc + j], self.sigma[:, dc + j]
            wide = np.flatnonzero(cell_high[:, j] - cell_low[:, j] > 0.5 * sigma.min())
            if not wide.size:
                continue
            # Candidates share few cells: work once per distinct cell.
            low, first, inverse = np.unique(cell_low[wide, j], return_index=True, return_inverse=True)
            high, at = cell_high[wide, j][first], z[wide, j][first]
            exact = _log_cell_mass(low, high, mu, sigma)
            t = (at[:, None] - mu) / sigma
            midpoint = np.log(high - low)[:, None] - 0.5 * t**2 - self.log_sigma[:, dc + j] - _LOG_SQRT_2PI
            log_kernel[wide] += (exact - midpoint)[inverse]


def _log_cell_mass(low: np.ndarray, high: np.ndarray, mu: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """Log-mass of Gaussian kernels (m,) on cells ``[low, high]`` (U,): shape (U, m).

    The CDF is evaluated once per distinct cell edge, always in its lower
    tail (``Phi(-|t|)``), which keeps the precision of masses far out in
    either tail.
    """
    edges, index = np.unique(np.concatenate([low, high]), return_inverse=True)
    t = (edges[:, None] - mu) / sigma
    tail = ndtr(-np.abs(t))  # Phi(t) below the centre, 1 - Phi(t) above it
    a, b = t[index[: len(low)]], t[index[len(low) :]]
    ta, tb = tail[index[: len(low)]], tail[index[len(low) :]]
    mass = np.where(b <= 0, tb - ta, np.where(a >= 0, ta - tb, 1.0 - ta - tb))
    return np.log(np.maximum(mass, _TINY))


# Terms more than this far below a row's largest are left out of its sum:
# together (even thousands of them) they change it by less than 1e-13.
_NEGLIGIBLE = 40.0


def _logsumexp_rows(x: np.ndarray) -> np.ndarray:
    """``log(sum(exp(x), axis=1))``, stably, exponentiating only the terms
    that can matter (most kernels are far from any one candidate)."""
    shifted = x - x.max(axis=1, keepdims=True)
    rows, cols = np.nonzero(shifted > -_NEGLIGIBLE)
    sums = np.bincount(rows, weights=np.exp(shifted[rows, cols]), minlength=len(x))
    return x.max(axis=1) + np.log(sums)


def fit_parzen(
    numeric: np.ndarray,
    n_continuous: int,
    choices: np.ndarray,
    prior_choice_weights: list[np.ndarray],
    weights: np.ndarray,
    *,
    prior_weight: float,
    bandwidth: Callable[[np.ndarray], np.ndarray],
    categorical_smoothing: float,
) -> ParzenEstimator:
    """Fit the estimator of one group to its observations.

    Parameters
    ----------
    numeric : ndarray (n, dc + dd)
        Observed numeric columns on the unit scale, continuous first.
    n_continuous : int
        ``dc``.
    choices : ndarray of int (n, dk)
        Observed option indices.
    prior_choice_weights : list of ndarray (n_choices,)
        Prior probabilities of each categorical column's options.
    weights : ndarray (n,)
        Observation weights (need not sum to one).
    prior_weight : float
        Weight of the prior kernel, relative to an observation of weight 1.
    bandwidth : callable
        Maps the observed numeric columns (n, dc + dd) to the bandwidths of
        their kernels (n, dc + dd), on the unit scale.
    categorical_smoothing : float
        Mass an observation kernel spreads over all options by their prior
        (``0``: all on the observed option).
    """
    n, d = numeric.shape
    mu = np.vstack([numeric, np.full((1, d), 0.5)])
    sigma = np.vstack([bandwidth(numeric), np.ones((1, d))])
    all_weights = np.append(weights, prior_weight)
    log_weights = np.log(all_weights) - np.log(all_weights.sum())
    log_mass = _log_unit_mass(mu, sigma)
    log_sigma = np.log(sigma)
    inv_var = 1.0 / sigma**2
    const = -np.sum(0.5 * mu**2 * inv_var + log_sigma + _LOG_SQRT_2PI + log_mass, axis=1)

    log_probs = []
    for j, prior in enumerate(prior_choice_weights):
        # An observation kernel puts (smoothing * prior + [observed]) / (1 + smoothing)
        # on each option: two possible values per option, so two logs of size K.
        spread = categorical_smoothing * prior
        log_other = np.log(np.maximum(spread, _TINY)) - np.log1p(categorical_smoothing)
        log_hit = np.log(spread + 1.0) - np.log1p(categorical_smoothing)
        table = np.empty((n + 1, len(prior)))
        table[:n] = log_other
        table[np.arange(n), choices[:, j]] = log_hit[choices[:, j]]
        table[n] = np.log(np.maximum(prior, _TINY))
        log_probs.append(table)

    return ParzenEstimator(
        log_weights=log_weights,
        mu=mu,
        sigma=sigma,
        log_sigma=log_sigma,
        log_mass=log_mass,
        n_continuous=n_continuous,
        inv_var=inv_var,
        mu_inv_var=mu * inv_var,
        const=const,
        log_probs=log_probs,
    )
