"""Parzen estimators: weighted mixtures of product kernels, vectorized.

An estimator models a group of columns (one scope of the space, or one
column for univariate TPE) with one kernel per observation plus a *prior*
kernel. Each kernel is a product over the group's columns:

* a continuous numeric column: a Gaussian on the unit scale truncated to
  ``[0, 1]``;
* a numeric column on a step grid: the mass that Gaussian puts on the
  value's grid cell (for a grid of few cells, a table of the masses of all
  cells, used like a categorical kernel);
* a categorical column: a probability vector over the options that puts
  most mass on the observed option (an Aitchison-Aitken style kernel).

Shapes: ``m`` kernels (the last one is the prior), ``C`` candidates, and
``dc`` / ``dd`` / ``dg`` / ``dk`` continuous / stepped / few-cell /
categorical columns.

The log-density of the numeric part is a quadratic form (Bergstra et
al., 2011, eq. 3 for the mixture; the product kernel of Falkner et al.,
2018): with ``q = 1 / sigma**2``,

    sum_d ((c_d - mu_kd) / sigma_kd)**2
        = (c**2) @ q.T - 2 * c @ (mu * q).T + sum_d mu_kd**2 q_kd,

a matrix product with ``[c**2, c]`` plus a per-kernel constant. With the
categorical columns one-hot encoded beside them, every log-kernel of every
candidate is one ``(C, 2d + K) x (2d + K, m)`` product (:class:`Candidates`
holds the left factor, shared by ``l`` and ``g``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr, ndtri

__all__ = [
    "Candidates",
    "ParzenMixtures",
    "KernelSpec",
    "PRIOR_MU",
    "PRIOR_SIGMA",
    "encode_candidates",
    "kernel_terms",
    "log_cell_masses",
    "log_gauss_mass",
    "log_unit_mass",
]

_LOG_SQRT_2PI = 0.5 * np.log(2.0 * np.pi)
# The prior kernel: centred, bandwidth 1 (the whole range) on the unit scale.
PRIOR_MU, PRIOR_SIGMA = 0.5, 1.0
_TINY = 1e-300


def log_gauss_mass(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``log(Phi(b) - Phi(a))`` for ``a <= b``, accurate in both tails."""
    flip = a > 0  # in the upper tail use Phi(-a) - Phi(-b), which keeps precision
    lo = np.where(flip, -b, a)
    hi = np.where(flip, -a, b)
    return np.log(np.maximum(ndtr(hi) - ndtr(lo), _TINY))


def log_unit_mass(mu: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """Log of each kernel's mass on ``[0, 1]``."""
    return log_gauss_mass(-mu / sigma, (1.0 - mu) / sigma)


@dataclass(frozen=True)
class Candidates:
    """Points to evaluate, encoded once for every estimator of their group.

    Build it with :func:`encode_candidates`.

    Attributes
    ----------
    z : ndarray (C, dc + dd)
        Continuous and stepped columns on the unit scale; a stepped column
        holds the unit-scale position of the candidate's value.
    cell_low, cell_high : ndarray (C, dd)
        Unit-scale bounds of the grid cells of the stepped columns.
    features : ndarray (C, 2 (dc + dd) + K)
        ``[z**2, z, one-hot indices]``: with an estimator's ``coef`` one
        matrix product gives every log-kernel (``K`` cells and options of
        the few-cell and categorical columns in all).
    log_width : ndarray (C,)
        Summed log widths of the stepped cells (the midpoint rule's factor).
    """

    z: np.ndarray
    cell_low: np.ndarray
    cell_high: np.ndarray
    features: np.ndarray
    log_width: np.ndarray


def encode_candidates(
    z: np.ndarray, cell_low: np.ndarray, cell_high: np.ndarray, indices: np.ndarray, spec: KernelSpec
) -> Candidates:
    """:class:`Candidates` from their columns.

    Parameters
    ----------
    z, cell_low, cell_high : ndarray
        See :class:`Candidates`.
    indices : ndarray of int (C, dg + dk)
        Cell indices of the few-cell columns, then option indices of the
        categorical columns.
    spec : KernelSpec
        The group's kernels, whose coefficients the features will meet.
    """
    q = spec.n_quadratic
    features = np.zeros((len(z), 2 * q + sum(spec.sizes)))
    features[:, :q] = z**2
    features[:, q : 2 * q] = z
    if spec.sizes:
        features[np.arange(len(z))[:, None], indices + spec.offsets] = 1.0
    return Candidates(
        z=z,
        cell_low=cell_low,
        cell_high=cell_high,
        features=features,
        log_width=np.log(cell_high - cell_low).sum(axis=1),
    )


@dataclass(frozen=True)
class KernelSpec:
    """What the kernels of one group are: its column kinds and priors.

    Attributes
    ----------
    n_continuous, n_stepped : int
        ``dc`` and ``dd``.
    grid_edges : tuple of ndarray
        Cell edges of each few-cell column (``dg`` of them), from 0 to 1.
    prior_choice_weights : tuple of ndarray
        Prior probabilities of each categorical column's options.
    categorical_smoothing : float
        Mass an observation kernel spreads over all options by their prior
        (``0``: all on the observed option).
    """

    n_continuous: int
    n_stepped: int
    grid_edges: tuple[np.ndarray, ...]
    prior_choice_weights: tuple[np.ndarray, ...]
    categorical_smoothing: float

    @property
    def n_quadratic(self) -> int:
        """Columns of the quadratic form: ``dc + dd``."""
        return self.n_continuous + self.n_stepped

    @functools.cached_property
    def sizes(self) -> list[int]:
        """Cells of each few-cell column, then options of each categorical one."""
        return [len(e) - 1 for e in self.grid_edges] + [len(w) for w in self.prior_choice_weights]

    @functools.cached_property
    def offsets(self) -> list[int]:
        """Where the block of each few-cell, then categorical, column starts in
        a kernel's coefficients (and in :attr:`Candidates.features`)."""
        return [2 * self.n_quadratic + at for at in np.cumsum([0, *self.sizes[:-1]]).tolist()]

    @functools.cached_property
    def choice_tables(self) -> tuple[np.ndarray, ...]:
        """Log option probabilities of each categorical column's kernels:
        row ``h`` of a ``(K + 1, K)`` table for an observation of option
        ``h``, the last row for the prior kernel.

        An observation kernel puts ``(smoothing * prior + [observed]) / (1 + smoothing)``
        on each option.
        """
        s = self.categorical_smoothing
        return tuple(
            np.log(np.maximum(np.vstack([(s * prior + np.eye(len(prior))) / (1.0 + s), prior]), _TINY))
            for prior in self.prior_choice_weights
        )

    @functools.cached_property
    def prior_terms(self) -> tuple[np.ndarray, np.ndarray]:
        """:func:`kernel_terms` of the prior kernel, whose option
        probabilities are the prior's."""
        d = self.n_quadratic + len(self.grid_edges)
        return kernel_terms(np.full((1, d), PRIOR_MU), np.full((1, d), PRIOR_SIGMA), None, self)


def kernel_terms(
    mu: np.ndarray, sigma: np.ndarray, choices: np.ndarray | None, spec: KernelSpec
) -> tuple[np.ndarray, np.ndarray]:
    """Each kernel's coefficients of :attr:`Candidates.features` and its constant.

    The terms of a kernel depend on its own centre, bandwidths and choices
    only, so a caller may keep them from one fit to the next.

    Parameters
    ----------
    mu, sigma : ndarray (n, dc + dd + dg)
        Centres and bandwidths on the unit scale.
    choices : ndarray of int (n, dk), or None
        Observed option indices; None for the prior kernel, whose
        categorical probabilities are the prior's.
    spec : KernelSpec

    Returns
    -------
    coef : ndarray (n, 2 (dc + dd) + K)
        ``[-1 / (2 sigma**2), mu / sigma**2, cell log-masses..., option log-probabilities...]``.
    const : ndarray (n,)
        The quadratic form's constant: normalisation, truncation to
        ``[0, 1]`` and ``-mu**2 / (2 sigma**2)``.
    """
    n, q, dg = len(mu), spec.n_quadratic, len(spec.grid_edges)
    coef = np.empty((n, 2 * q + sum(spec.sizes)))
    inv_var = 1.0 / sigma[:, :q] ** 2
    coef[:, :q] = -0.5 * inv_var
    coef[:, q : 2 * q] = mu[:, :q] * inv_var
    const = (mu[:, :q] * coef[:, q : 2 * q]).sum(axis=1) * -0.5
    const -= (np.log(sigma[:, :q]) + log_unit_mass(mu[:, :q], sigma[:, :q])).sum(axis=1) + q * _LOG_SQRT_2PI
    for j, edges in enumerate(spec.grid_edges):
        at = spec.offsets[j]
        coef[:, at : at + len(edges) - 1] = log_cell_masses(edges, mu[:, q + j], sigma[:, q + j])
    for j, table in enumerate(spec.choice_tables):
        at = spec.offsets[dg + j]
        coef[:, at : at + table.shape[1]] = table[-1] if choices is None else table[choices[:, j]]
    return coef, const


@dataclass(frozen=True)
class ParzenMixtures:
    """Parzen estimators that share one array of kernels, each a weighted
    mixture of some of them; build them with :meth:`from_kernels`.

    TPE's ``l(x)`` and ``g(x)`` are two such mixtures: evaluated together,
    every kernel of both costs one matrix product.

    Attributes
    ----------
    weights : ndarray (S, m)
        Weight of each kernel in each mixture (each row sums to one).
    mu, sigma : ndarray (m, dc + dd + dg)
        Kernel centres and bandwidths: continuous, stepped, then few-cell columns.
    coef : ndarray (m, 2 (dc + dd) + K)
        The kernels' coefficients of :attr:`Candidates.features` (see
        :func:`kernel_terms`).
    bias : ndarray (m,)
        The kernels' constants; ``-inf`` for a kernel in no mixture, which
        then adds nothing anywhere.
    spec : KernelSpec
    """

    weights: np.ndarray
    mu: np.ndarray
    sigma: np.ndarray
    coef: np.ndarray
    bias: np.ndarray
    spec: KernelSpec

    @classmethod
    def from_kernels(
        cls,
        mu: np.ndarray,
        sigma: np.ndarray,
        terms: tuple[np.ndarray, np.ndarray],
        weights: np.ndarray,
        spec: KernelSpec,
    ) -> ParzenMixtures:
        """Mixtures of the given kernels (observations and priors alike).

        Parameters
        ----------
        mu, sigma : ndarray (m, dc + dd + dg)
            Centres and bandwidths on the unit scale; a prior kernel's are
            ``PRIOR_MU`` and ``PRIOR_SIGMA``.
        terms : (coef, const)
            The kernels' :func:`kernel_terms` (a prior's:
            :attr:`KernelSpec.prior_terms`).
        weights : ndarray (S, m)
            Weight of each kernel in each mixture, 0 where it has no part;
            need not sum to one. Kernel 0 (the prior) must have a part in
            every mixture.
        spec : KernelSpec
        """
        if not (weights[:, 0] > 0).all():
            raise ValueError("kernel 0 (the prior) must have a positive weight in every mixture")
        weights = weights / weights.sum(axis=1, keepdims=True)
        return cls(weights, mu, sigma, terms[0], np.where(weights.any(axis=0), terms[1], -np.inf), spec)

    def sample(self, rng: np.random.Generator, size: int, mixture: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Draw ``size`` points from one mixture.

        Returns
        -------
        z : ndarray (size, dc + dd + dg)
            Numeric columns on the unit scale (grid columns not yet on their grid).
        choices : ndarray of int (size, dk)
            Option indices of the categorical columns.
        """
        kernels = np.flatnonzero(self.weights[mixture])
        cdf = self.weights[mixture, kernels].cumsum()
        k = kernels[np.minimum(cdf.searchsorted(rng.random(size) * cdf[-1], side="right"), len(cdf) - 1)]
        mu, sigma = self.mu[k], self.sigma[k]
        # Inverse-CDF sampling of the truncated Gaussian.
        lo, hi = ndtr((0.0 - mu) / sigma), ndtr((1.0 - mu) / sigma)
        u = lo + rng.random(mu.shape) * (hi - lo)
        z = np.minimum(np.maximum(mu + sigma * ndtri(np.minimum(np.maximum(u, _TINY), 1.0 - 1e-16)), 0.0), 1.0)
        spec = self.spec
        choices = np.empty((size, len(spec.prior_choice_weights)), dtype=np.intp)
        dg = len(spec.grid_edges)
        for j, prior in enumerate(spec.prior_choice_weights):
            at = spec.offsets[dg + j]
            cdf = np.exp(self.coef[k, at : at + len(prior)]).cumsum(axis=1)
            draws = rng.random((size, 1)) * cdf[:, -1:]
            choices[:, j] = (draws > cdf).sum(axis=1)
        return z, choices

    def log_pdf(self, candidates: Candidates) -> np.ndarray:
        """Log-density (log-mass for stepped and categorical columns) of
        candidates under each mixture: shape (S, C).

        Few-cell columns take each kernel's exact mass on the cell. On a
        stepped column the mass is taken by the midpoint rule,
        ``width * pdf(z)``, when the cell is at most half the smallest
        bandwidth of the column among the kernels, ``h = width / sigma <= 1/2``
        (relative error about ``h**2 (t**2 - 1) / 24`` for a kernel ``t``
        bandwidths away), which lets stepped columns join the quadratic
        form; wider cells get the exact Gaussian mass.

        Each mixture's sum is at least its prior term (kernel 0), and a
        term more than ``_NEGLIGIBLE`` below every mixture's prior term is
        left out: most terms are, so the sums are taken over the few
        others, listed by their flat index ``candidate * m + kernel``.
        """
        log_kernel = candidates.features @ self.coef.T
        log_kernel += self.bias
        floor = log_kernel[:, 0] + np.log(self.weights[:, 0].min()) - _NEGLIGIBLE
        wide, reach = self._wide_cells(candidates)
        terms = np.flatnonzero(log_kernel > (floor - reach)[:, None])  # those that may count
        rows, kernels = np.divmod(terms, log_kernel.shape[1])
        values = log_kernel.take(terms)
        for j in np.flatnonzero(wide.any(axis=0)):
            at = np.flatnonzero(wide[rows, j])
            values[at] += self._wide_cell_correction(candidates, j, rows[at], kernels[at])
        kept = values > floor[rows]
        sums = _log_mixture_sums(values[kept], rows[kept], kernels[kept], self.weights, len(log_kernel))
        return sums + candidates.log_width

    def _wide_cells(self, candidates: Candidates) -> tuple[np.ndarray, np.ndarray]:
        """Where the exact mass of a stepped cell replaces the midpoint rule,
        and how much it may raise a candidate's log-terms at most.

        Returns
        -------
        wide : ndarray of bool (C, dd)
            The cells wider than half the smallest bandwidth of their column.
        reach : ndarray (C,)
            With ``h = width / (2 sigma)``, a kernel ``t`` bandwidths from a
            cell's midpoint has an exact mass of at most its midpoint value
            times ``exp(h |t|)``, and ``h |t| = width |z - mu| / (2 sigma**2)``
            is at most ``width max(z, 1 - z) / (2 min(sigma)**2)``: the sum
            of that bound over the candidate's wide cells.
        """
        dc = self.spec.n_continuous
        width = candidates.cell_high - candidates.cell_low
        smallest = self.sigma[np.isfinite(self.bias), dc : dc + width.shape[1]].min(axis=0, initial=np.inf)
        wide = width > 0.5 * smallest
        z = candidates.z[:, dc:]
        reach = (np.where(wide, width, 0.0) * np.maximum(z, 1.0 - z) / (2.0 * smallest**2)).sum(axis=1)
        return wide, reach

    def _wide_cell_correction(
        self, candidates: Candidates, j: int, rows: np.ndarray, kernels: np.ndarray
    ) -> np.ndarray:
        """Exact minus midpoint log-mass of stepped column ``j``'s cell, for
        the terms ``(rows, kernels)``."""
        column = self.spec.n_continuous + j
        mu, sigma = self.mu[kernels, column], self.sigma[kernels, column]
        low = candidates.cell_low[rows, j]
        width = candidates.cell_high[rows, j] - low
        t = (candidates.z[rows, column] - mu) / sigma
        exact = log_gauss_mass((low - mu) / sigma, (low + width - mu) / sigma)
        midpoint = np.log(width) - 0.5 * t**2 - np.log(sigma) - _LOG_SQRT_2PI
        return exact - midpoint


# A term more than this far below every mixture's prior term is left out of
# the sums: together (even thousands of such terms) they change none of them
# by more than 1e-13 of itself.
_NEGLIGIBLE = 40.0
# Prior terms further than this below a row's largest term could underflow
# once shifted by it.
_UNDERFLOW = 600.0


def _log_mixture_sums(
    terms: np.ndarray, rows: np.ndarray, kernels: np.ndarray, weights: np.ndarray, n_rows: int
) -> np.ndarray:
    """``log(sum_k weights[s, k] exp(term))`` over the terms of each row, for
    each mixture ``s``: shape (S, n_rows).

    ``rows`` is sorted, and the first term of each row is its prior term
    (kernel 0), which is in every mixture. The terms are shifted by the
    row's largest, which serves every mixture unless some prior term lies
    so far below it that it would underflow; then each mixture is shifted
    by its own largest term.
    """
    starts = rows.searchsorted(np.arange(n_rows))
    top = np.maximum.reduceat(terms, starts)
    weights = weights.take(kernels, axis=1)  # (S, terms)
    if (terms[starts] - top > -_UNDERFLOW).all():
        return top + np.log(np.add.reduceat(weights * np.exp(terms - top[rows]), starts, axis=1))
    own = np.where(weights > 0, terms, -np.inf)
    top = np.maximum.reduceat(own, starts, axis=1)
    return top + np.log(np.add.reduceat(weights * np.exp(own - top[:, rows]), starts, axis=1))


def log_cell_masses(edges: np.ndarray, mu: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """Log-mass of Gaussian kernels (m,) truncated to ``[0, 1]`` on each cell
    of a grid whose ``edges`` run from 0 to 1: shape (m, n_cells).

    The CDF is evaluated once per edge, always in its lower tail
    (``Phi(-|t|)``), which keeps the precision of masses far out in either
    tail.
    """
    t = (edges[:, None] - mu) / sigma
    tail = ndtr(-np.abs(t))  # Phi(t) below the centre, 1 - Phi(t) above it
    a, b, ta, tb = t[:-1], t[1:], tail[:-1], tail[1:]
    mass = np.maximum(np.where(b <= 0, tb - ta, np.where(a >= 0, ta - tb, 1.0 - ta - tb)), _TINY)
    # The cells cover [0, 1], which holds the centre: their total mass is
    # at least Phi(1) - 1/2 (about 0.34) and needs no log-sum-exp.
    return (np.log(mass) - np.log(mass.sum(axis=0))).T
