"""Data for ``parzen tune``: scikit-learn's bundled datasets or a CSV file."""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cli._errors import CliError

__all__ = ["DATASETS", "Data", "load_csv", "load_dataset"]

#: Bundled datasets: name -> (scikit-learn loader name, task).
DATASETS = {
    "iris": ("load_iris", "classification"),
    "digits": ("load_digits", "classification"),
    "wine": ("load_wine", "classification"),
    "breast_cancer": ("load_breast_cancer", "classification"),
    "diabetes": ("load_diabetes", "regression"),
}
TASKS = ("classification", "regression")


@dataclass
class Data:
    """Features, target and task of a tuning job."""

    X: np.ndarray
    y: np.ndarray
    task: str
    name: str
    note: str = ""

    def digest(self) -> str:
        """A short hash of the features and target: the same for the same data, whatever its file is called."""
        h = hashlib.sha256(np.ascontiguousarray(self.X).tobytes())
        h.update(np.ascontiguousarray(self.y).tobytes())
        return h.hexdigest()[:16]


def load_dataset(name: str) -> Data:
    """One of :data:`DATASETS`, features as float32."""
    if name not in DATASETS:
        raise CliError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)} or use --csv FILE --target COL")
    import sklearn.datasets

    loader, task = DATASETS[name]
    X, y = getattr(sklearn.datasets, loader)(return_X_y=True)
    return Data(X.astype(np.float32), y, task, name)


def load_csv(path: str, target: str | None, task: str | None) -> Data:
    """A CSV file with a header row: numeric feature columns and a target column.

    A target whose values are all numbers makes a regression, otherwise a
    classification, unless ``task`` says which.
    """
    if target is None:
        raise CliError("--csv needs --target COLUMN, the column to predict")
    file = Path(path)
    if not file.is_file():
        raise CliError(f"no CSV file at {path!r}")
    with file.open(newline="") as f:
        rows = list(csv.reader(f))
    if len(rows) < 3:
        raise CliError(f"{path!r} needs a header row and at least 2 data rows")
    header, body = rows[0], [r for r in rows[1:] if r]
    if target not in header:
        raise CliError(f"{path!r} has no column {target!r}; its columns are: {', '.join(header)}")
    t = header.index(target)
    features = [j for j in range(len(header)) if j != t]
    X = np.empty((len(body), len(features)), dtype=np.float32)
    for i, row in enumerate(body):
        if len(row) != len(header):
            raise CliError(f"{path!r} line {i + 2}: {len(row)} fields, the header has {len(header)}")
        for k, j in enumerate(features):
            try:
                X[i, k] = float(row[j])
            except ValueError:
                raise CliError(
                    f"{path!r} line {i + 2}, column {header[j]!r}: {row[j]!r} is not a number; "
                    "feature columns must be numeric"
                ) from None
    labels = [row[t] for row in body]
    return _with_target(X, labels, task, path, target)


def _with_target(X: np.ndarray, labels: list[str], task: str | None, path: str, target: str) -> Data:
    try:
        numeric = np.array([float(v) for v in labels])
    except ValueError:
        numeric = None
    if task is None:
        task = "regression" if numeric is not None else "classification"
        note = (
            f"target {target!r} is numeric: regression (use --task classification to classify)"
            if numeric is not None
            else f"target {target!r} has labels: classification"
        )
    elif task not in TASKS:
        raise CliError(f"--task must be classification or regression, got {task!r}")
    else:
        note = ""
    if task == "regression":
        if numeric is None:
            raise CliError(f"--task regression needs a numeric target; column {target!r} has non-numbers")
        return Data(X, numeric.astype(np.float32), task, Path(path).stem, note)
    return Data(X, np.array(labels), task, Path(path).stem, note)
