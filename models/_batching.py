"""On-device batching: move a small dataset to the device once, slice batches."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

__all__ = ["TensorBatches", "as_device_tensors"]

# Datasets up to this many bytes are moved to the device whole.
MAX_DEVICE_BYTES = 512 * 2**20


def as_device_tensors(dataset: Any, device: str) -> tuple[torch.Tensor, torch.Tensor | None] | None:
    """The ``(X, y)`` of a skorch Dataset as tensors on ``device``, or None
    when the data are not plain arrays or are too large to move whole."""
    indices = None
    if isinstance(dataset, torch.utils.data.Subset):  # what skorch's train_split gives
        dataset, indices = dataset.dataset, np.asarray(dataset.indices)
    X, y = getattr(dataset, "X", None), getattr(dataset, "y", None)
    if indices is not None:
        X, y = (None if a is None or not hasattr(a, "shape") else a[indices] for a in (X, y))
    arrays = [a for a in (X, y) if a is not None]
    if not arrays or not all(isinstance(a, (np.ndarray, torch.Tensor)) for a in arrays):
        return None
    size = sum(a.nbytes if isinstance(a, np.ndarray) else a.element_size() * a.nelement() for a in arrays)
    if size > MAX_DEVICE_BYTES:
        return None
    tensors = tuple(None if a is None else torch.as_tensor(a).to(device) for a in (X, y))
    return tensors  # type: ignore[return-value]


class TensorBatches:
    """Batches sliced from tensors already on the device.

    Iterates like a DataLoader with ``batch_size``, ``shuffle`` and
    ``drop_last=False``: every sample once per epoch, a last partial batch,
    a new permutation per epoch when shuffling.

    Parameters
    ----------
    X, y : torch.Tensor
        The whole dataset, on the device (``y`` may be None).
    batch_size : int
        Samples per batch; -1 for the whole dataset.
    shuffle : bool
        Permute the samples at the start of every epoch.
    generator : torch.Generator, optional
        Source of the permutations (seeded for reproducible training).
    no_single_last : bool, default=False
        Give a last batch of one sample to the batch before it (batch
        normalisation cannot train on a batch of one).
    """

    def __init__(
        self,
        X: torch.Tensor,
        y: torch.Tensor | None,
        batch_size: int,
        shuffle: bool,
        generator: torch.Generator | None = None,
        no_single_last: bool = False,
    ) -> None:
        self.X, self.y = X, y
        self.batch_size = max(1, len(X)) if batch_size == -1 else batch_size
        self.shuffle = shuffle
        self.generator = generator
        self.no_single_last = no_single_last

    def _starts(self) -> list[int]:
        """Where the batches start; the end of the data closes the last one."""
        starts = list(range(0, len(self.X), self.batch_size))
        if self.no_single_last and len(starts) > 1 and len(self.X) - starts[-1] == 1:
            starts.pop()
        return starts

    def __len__(self) -> int:
        return len(self._starts())

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor | None]]:
        n = len(self.X)
        if self.shuffle:
            order = torch.randperm(n, generator=self.generator).to(self.X.device)
            X, y = self.X[order], None if self.y is None else self.y[order]
        else:
            X, y = self.X, self.y
        starts = self._starts()
        for start, stop in zip(starts, starts[1:] + [n]):
            yield X[start:stop], None if y is None else y[start:stop]
