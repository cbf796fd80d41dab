"""Samplers: given a space and the history, propose the next configuration."""

from tpe_core._samplers._base import BaseSampler, SamplerExhausted
from tpe_core._samplers._grid import GridSampler
from tpe_core._samplers._random import RandomSampler
from tpe_core._samplers._tpe import TPESampler

__all__ = ["BaseSampler", "GridSampler", "RandomSampler", "SamplerExhausted", "TPESampler"]
