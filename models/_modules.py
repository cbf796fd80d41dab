"""PyTorch modules whose constructor arguments are the tunable hyperparameters."""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from tpe_core._validation import check_bool, is_integer

__all__ = ["ACTIVATIONS", "ConvNet", "MLP", "make_activation"]

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
    "selu": nn.SELU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
}


def make_activation(name: str) -> nn.Module:
    """The activation module called ``name``.

    Raises
    ------
    ValueError
        For an unknown name; the message lists the valid ones.
    """
    if name not in ACTIVATIONS:
        raise ValueError(f"activation={name!r} is not one of {sorted(ACTIVATIONS)}")
    return ACTIVATIONS[name]()


def _widths(hidden_units: int | Sequence[int], n_layers: int, name: str = "hidden_units") -> list[int]:
    """Per-layer widths: an int repeats ``n_layers`` times; a sequence gives one per layer. ``name`` is
    the parameter the widths come from, for the messages."""
    if not is_integer(n_layers) or n_layers < 0:
        raise ValueError(f"n_layers must be an integer >= 0, got n_layers={n_layers!r}")
    n_layers = int(n_layers)
    if is_integer(hidden_units):
        widths = [int(hidden_units)] * n_layers
    elif (isinstance(hidden_units, Sequence) and not isinstance(hidden_units, str)) or (
        isinstance(hidden_units, np.ndarray) and hidden_units.ndim == 1
    ):
        widths = list(hidden_units)
        if len(widths) != n_layers:
            raise ValueError(
                f"{name}={hidden_units!r} gives {len(widths)} widths but n_layers={n_layers}; "
                "pass one width per layer or a single int"
            )
    else:
        raise ValueError(f"{name} must be an int or a sequence of ints, got {hidden_units!r}")
    if any(not is_integer(w) or w < 1 for w in widths):
        raise ValueError(f"{name} must be positive integers, got {hidden_units!r}")
    return [int(w) for w in widths]


def _check_dropout(dropout: float) -> None:
    if isinstance(dropout, bool) or not isinstance(dropout, numbers.Real) or not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be a number in [0, 1), got dropout={dropout!r}")


class MLP(nn.Module):
    """A multi-layer perceptron: ``n_layers`` blocks of Linear, [BatchNorm],
    activation, [Dropout], then a Linear output layer.

    Parameters
    ----------
    n_features : int
        Input width.
    n_outputs : int
        Output width (classes, or regression targets).
    n_layers : int, default=2
        Number of hidden layers (0 gives a linear model).
    hidden_units : int or sequence of int, default=128
        Width of every hidden layer, or one width per layer.
    activation : str, default="relu"
        One of :data:`ACTIVATIONS`.
    dropout : float, default=0.0
        Dropout probability after each hidden activation.
    batch_norm : bool, default=False
        Batch normalisation after each hidden Linear layer.

    Examples
    --------
    >>> net = MLP(64, 10, n_layers=3, hidden_units=32)
    >>> sum(isinstance(m, nn.Linear) for m in net.modules())
    4
    """

    def __init__(
        self,
        n_features: int,
        n_outputs: int,
        n_layers: int = 2,
        hidden_units: int | Sequence[int] = 128,
        activation: str = "relu",
        dropout: float = 0.0,
        batch_norm: bool = False,
    ) -> None:
        super().__init__()
        _check_dropout(dropout)
        batch_norm = check_bool("batch_norm", batch_norm)
        layers: list[nn.Module] = []
        width = n_features
        for out in _widths(hidden_units, n_layers):
            layers.append(nn.Linear(width, out))
            if batch_norm:
                layers.append(nn.BatchNorm1d(out))
            layers.append(make_activation(activation))
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = out
        layers.append(nn.Linear(width, n_outputs))
        self.layers = nn.Sequential(*layers)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return self.layers(X)


class ConvNet(nn.Module):
    """A small convolutional network for square single-channel images.

    ``n_layers`` blocks of Conv2d (same padding), [BatchNorm2d], activation,
    then [Dropout] and a Linear output layer over the flattened feature maps. The
    input may be flat ``(n, side * side)`` (as scikit-learn's digits) or
    ``(n, 1, side, side)``.

    Parameters
    ----------
    n_features : int
        Pixels per image (``side * side``, a square number), whether the
        input comes flat or as (n, 1, side, side) images.
    n_outputs : int
        Number of classes.
    n_layers : int, default=2
        Convolutional blocks.
    channels : int or sequence of int, default=16
        Channels of every convolution, or one count per layer.
    kernel_size : int, default=3
        Odd kernel size.
    activation : str, default="relu"
    dropout : float, default=0.0
    batch_norm : bool, default=False

    Examples
    --------
    >>> net = ConvNet(64, 10, n_layers=2, channels=8)
    >>> net(torch.zeros(5, 64)).shape
    torch.Size([5, 10])
    """

    def __init__(
        self,
        n_features: int,
        n_outputs: int,
        n_layers: int = 2,
        channels: int | Sequence[int] = 16,
        kernel_size: int = 3,
        activation: str = "relu",
        dropout: float = 0.0,
        batch_norm: bool = False,
    ) -> None:
        super().__init__()
        _check_dropout(dropout)
        batch_norm = check_bool("batch_norm", batch_norm)
        if not is_integer(kernel_size) or kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be a positive odd integer, got kernel_size={kernel_size!r}")
        side = int(round(n_features**0.5))
        if side * side != n_features:
            raise ValueError(f"ConvNet needs square images: {n_features} features is not a square")
        self.side = side
        blocks: list[nn.Module] = []
        width = 1
        for out in _widths(channels, n_layers, "channels"):
            blocks.append(nn.Conv2d(width, out, kernel_size, padding=kernel_size // 2))
            if batch_norm:
                blocks.append(nn.BatchNorm2d(out))
            blocks.append(make_activation(activation))
            width = out
        blocks.append(nn.Flatten())
        if dropout > 0:
            blocks.append(nn.Dropout(dropout))
        blocks.append(nn.Linear(width * side * side, n_outputs))
        self.layers = nn.Sequential(*blocks)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        if X.dim() == 2:
            X = X.view(-1, 1, self.side, self.side)
        return self.layers(X)
