"""Epoch throughput: parzen's skorch estimator vs plain skorch vs a hand-written loop.

Digits (1,797 x 64), an MLP with 2 x 128 ReLU units, Adam, 20 % held out
and scored every epoch, warm (one untimed fit first), one thread::

    python benchmarks/bench_training.py --epochs 20 --repeats 15 --out benchmarks/training.md

* ``parzen``: :class:`models.MLPClassifier` (batches sliced from tensors on
  the device, skorch callbacks, history and scoring as usual);
* ``skorch``: the same module in a plain ``NeuralNetClassifier`` with its
  default DataLoader;
* ``torch loop``: a hand-written loop that slices tensors and computes the
  validation loss and accuracy every epoch: the floor.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from skorch import NeuralNetClassifier
from skorch.dataset import ValidSplit
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models import MLP, MLPClassifier  # noqa: E402


def data() -> tuple[np.ndarray, np.ndarray]:
    X, y = load_digits(return_X_y=True)
    return (X / 16).astype(np.float32), y.astype(np.int64)


def parzen_fit(X: np.ndarray, y: np.ndarray, batch_size: int, epochs: int, device: str) -> None:
    MLPClassifier(
        n_layers=2, hidden_units=128, batch_size=batch_size, max_epochs=epochs, device=device, random_state=0
    ).fit(X, y)


def skorch_fit(X: np.ndarray, y: np.ndarray, batch_size: int, epochs: int, device: str) -> None:
    NeuralNetClassifier(
        MLP, module__n_features=64, module__n_outputs=10, module__n_layers=2, module__hidden_units=128,
        criterion=nn.CrossEntropyLoss, optimizer=torch.optim.Adam, lr=1e-3, batch_size=batch_size,
        max_epochs=epochs, train_split=ValidSplit(0.2, stratified=True, random_state=0), device=device,
        verbose=0,
    ).fit(X, y)


def torch_fit(X: np.ndarray, y: np.ndarray, batch_size: int, epochs: int, device: str) -> None:
    X_train, X_valid, y_train, y_valid = train_test_split(X, y, test_size=0.2, stratify=y, random_state=0)
    X_train, y_train = torch.as_tensor(X_train, device=device), torch.as_tensor(y_train, device=device)
    X_valid, y_valid = torch.as_tensor(X_valid, device=device), torch.as_tensor(y_valid, device=device)
    torch.manual_seed(0)
    module = MLP(64, 10, n_layers=2, hidden_units=128).to(device)
    optimizer = torch.optim.Adam(module.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(epochs):
        module.train()
        order = torch.randperm(len(X_train), device=device)
        for start in range(0, len(X_train), batch_size):
            index = order[start : start + batch_size]
            optimizer.zero_grad()
            loss = loss_fn(module(X_train[index]), y_train[index])
            loss.backward()
            optimizer.step()
        module.eval()
        with torch.no_grad():
            logits = module(X_valid)
            loss_fn(logits, y_valid).item()
            (logits.argmax(1) == y_valid).float().mean().item()


CONTENDERS = {"parzen": parzen_fit, "skorch": skorch_fit, "torch loop": torch_fit}


def timed_fits(X, y, batch_size: int, epochs: int, repeats: int, device: str) -> dict[str, np.ndarray]:
    """Seconds per fit of each contender, one per repeat; the contenders take
    turns within each repeat, so a slow spell of a shared machine hits them alike."""
    for fit in CONTENDERS.values():
        fit(X, y, batch_size, 1, device)  # warm-up, untimed
    times: dict[str, list[float]] = {name: [] for name in CONTENDERS}
    for repeat in range(repeats):
        names = list(CONTENDERS)
        for name in names[repeat % len(names):] + names[: repeat % len(names)]:
            start = time.perf_counter()
            CONTENDERS[name](X, y, batch_size, epochs, device)
            times[name].append(time.perf_counter() - start)
    return {name: np.array(t) for name, t in times.items()}


def paired_ratio(parzen: np.ndarray, other: np.ndarray) -> tuple[float, float, float]:
    """Median and quartiles over repeats of the speed ratio within each repeat
    (``other``'s time over parzen's): pairing cancels the machine's drift."""
    q25, q50, q75 = np.percentile(other / parzen, [25, 50, 75])
    return float(q50), float(q25), float(q75)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[16, 32, 128])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    X, y = data()
    rows = []
    for batch_size in args.batch_sizes:
        times = timed_fits(X, y, batch_size, args.epochs, args.repeats, args.device)
        rows.append((batch_size, times))
        print(batch_size, {k: round(args.epochs / float(np.median(t)), 1) for k, t in times.items()}, flush=True)
    lines = [
        f"Epoch throughput on digits, MLP 2 x 128, device {args.device}, {args.threads} thread(s), "
        f"{args.epochs} epochs, {args.repeats} warm runs each, contenders taking turns within a run "
        f"(torch {torch.__version__}, {platform.machine()}). Epochs/s: median over runs; ratios: median "
        "[quartiles] over runs of the ratio within each run.",
        "",
        "| batch size | parzen (epochs/s) | plain skorch | torch loop (floor) "
        "| parzen / torch loop | parzen / skorch |",
        "|---|---|---|---|---|---|",
    ]
    for batch_size, t in rows:
        rate = {name: args.epochs / float(np.median(v)) for name, v in t.items()}
        loop = "{:.2f} [{:.2f}-{:.2f}]".format(*paired_ratio(t["parzen"], t["torch loop"]))
        skorch = "{:.2f} [{:.2f}-{:.2f}]".format(*paired_ratio(t["parzen"], t["skorch"]))
        lines.append(
            f"| {batch_size} | {rate['parzen']:.1f} | {rate['skorch']:.1f} | {rate['torch loop']:.1f} | "
            f"{loop} | {skorch} |"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
