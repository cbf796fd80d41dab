"""The sampler interface."""

from __future__ import annotations

import abc

import numpy as np

from tpe_core._history import History
from tpe_core._space import SearchSpace
from tpe_core._validation import check_int

__all__ = ["BaseSampler", "SamplerExhausted"]


class SamplerExhausted(RuntimeError):
    """A sampler has nothing left to propose: every point of a grid was asked
    (perhaps by another process sharing the study, just before this ask).
    ``optimize`` stops when it meets it, as when it sees a finished grid."""


def check_seed(seed: object) -> int | None:
    """Validate a ``seed`` argument: None or a non-negative integer."""
    return check_int("seed", seed, minimum=0, allow_none=True)


class BaseSampler(abc.ABC):
    """Proposes configurations; pure strategy.

    A sampler never runs an objective and never touches storage: given the
    compiled space and the encoded history of the study, it returns the
    encoded row of the next configuration. The randomness for trial
    ``number`` is derived from ``(seed, number)`` alone, so the same seed and
    the same history give the same proposal, also after a study is resumed.

    Parameters
    ----------
    seed : int, optional
        Seed of the sampler's randomness; a fresh random one when omitted.
    """

    def __init__(self, seed: int | None = None) -> None:
        self.seed = check_seed(seed)
        self._entropy = (
            self.seed if self.seed is not None else int(np.random.SeedSequence().entropy)
        )

    def _rng(self, number: int) -> np.random.Generator:
        """The random generator for the proposal of trial ``number``."""
        return np.random.default_rng(np.random.SeedSequence([self._entropy, number]))

    @abc.abstractmethod
    def sample(self, space: SearchSpace, history: History, number: int) -> np.ndarray:
        """Propose the configuration of trial ``number``.

        Parameters
        ----------
        space : SearchSpace
            The study's compiled space.
        history : History
            Every trial asked so far, running ones included.
        number : int
            Number of the trial being asked.

        Returns
        -------
        ndarray of shape (n_params,)
            The encoded configuration, NaN for inactive parameters.
        """

    def sample_given(self, space: SearchSpace, history: History, number: int, given: np.ndarray) -> np.ndarray:
        """Propose trial ``number`` with some values given (``Study.ask(fixed=...)``, a partial enqueue).

        Parameters
        ----------
        given : ndarray of shape (n_params,)
            The given values, encoded (:meth:`SearchSpace.encode_partial`),
            NaN for those to propose.

        Returns
        -------
        ndarray of shape (n_params,)
            By default :meth:`sample`'s proposal with the given values put
            in (:meth:`SearchSpace.complete`).
        """
        return space.complete(given, np.asarray(self.sample(space, history, number), dtype=float), self._rng(number))

    def check_space(self, space: SearchSpace) -> None:
        """Refuse a space this sampler cannot sample, before any trial runs
        (a study calls it when it is made or given this sampler).

        Raises
        ------
        SpaceError
            Naming the parameter and the fix; by default nothing is refused.
        """

    def is_exhausted(self, space: SearchSpace, history: History, given: np.ndarray | None = None) -> bool:
        """Whether the sampler has nothing left to propose (a finished grid), with ``given``
        values held when they are given."""
        return False

    def __repr__(self) -> str:
        return f"{type(self).__name__}(seed={self.seed!r})"
