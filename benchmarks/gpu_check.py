"""A self-contained check for a machine with a CUDA GPU (under 3 minutes).

1. asserts that ``device="auto"`` really trains on CUDA (parameters and
   batches on the GPU);
2. reports epochs/s of the same model on the CPU and on the GPU (digits,
   MLP 2 x 128, batch 32, warm);
3. runs a 10-trial TPE study of the MLP on the GPU.

Run from the repository root: ``python benchmarks/gpu_check.py``; it prints
a markdown report (also written to ``$OUT/gpu_check.md`` when ``OUT`` is set).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_digits
from skorch.callbacks import Callback

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models import MLPClassifier, make_objective  # noqa: E402
from tpe_core import Categorical, Float, Int, Study, TPESampler  # noqa: E402


class _BatchDevices(Callback):
    """Records the device of every training batch."""

    def __init__(self) -> None:
        self.devices: set[str] = set()

    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        if training:
            self.devices.add(batch[0].device.type)


def epochs_per_second(X: np.ndarray, y: np.ndarray, device: str, epochs: int = 20) -> float:
    def fit(n: int) -> None:
        MLPClassifier(
            n_layers=2, hidden_units=128, batch_size=32, max_epochs=n, device=device, random_state=0
        ).fit(X, y)

    fit(1)  # warm-up
    start = time.perf_counter()
    fit(epochs)
    return epochs / (time.perf_counter() - start)


def main() -> None:
    assert torch.cuda.is_available(), "no CUDA GPU visible to torch"
    X, y = load_digits(return_X_y=True)
    X = (X / 16).astype(np.float32)
    lines = [f"# GPU check: {torch.cuda.get_device_name(0)}, torch {torch.__version__}", ""]

    probe = _BatchDevices()
    net = MLPClassifier(max_epochs=2, callbacks=[("probe", probe)], random_state=0).fit(X, y)
    on_gpu = {p.device.type for p in net.module_.parameters()}
    assert on_gpu == {"cuda"}, f"parameters on {on_gpu}"
    assert probe.devices == {"cuda"}, f"batches on {probe.devices}"
    lines.append("- device='auto' trains on CUDA: parameters and every training batch on `cuda`.")

    cpu, gpu = epochs_per_second(X, y, "cpu"), epochs_per_second(X, y, "cuda")
    lines.append(f"- epochs/s, digits, MLP 2 x 128, batch 32: CPU {cpu:.1f}, GPU {gpu:.1f} ({gpu / cpu:.2f}x)")

    space = {"lr": Float(1e-4, 1e-1, log=True), "n_layers": Int(1, 3), "hidden_units": Categorical([64, 128, 256])}
    study = Study(space, sampler=TPESampler(seed=0, n_startup_trials=5), direction="maximize")
    start = time.perf_counter()
    study.optimize(make_objective(MLPClassifier(max_epochs=10, device="auto"), X, y), n_trials=10)
    states = [t.state.value for t in study.trials]
    lines.append(
        f"- 10-trial TPE study on the GPU: {time.perf_counter() - start:.1f} s, states {states}, "
        f"best accuracy {study.best_value:.4f} with {study.best_params}"
    )
    report = "\n".join(lines) + "\n"
    print(report)
    if os.environ.get("OUT"):
        Path(os.environ["OUT"], "gpu_check.md").write_text(report)


if __name__ == "__main__":
    main()
