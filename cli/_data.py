"""Data for ``parzen tune``: scikit-learn's bundled datasets or a CSV file."""

from __future__ import annotations

import csv
import hashlib
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cli._errors import CliError, did_you_mean

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


def check_task(task: str) -> None:
    """Refuse a ``--task`` that is none of :data:`TASKS`."""
    if task not in TASKS:
        raise CliError(f"--task must be {' or '.join(TASKS)}, got {task!r}")


@dataclass
class Data:
    """Features, target and task of a tuning job."""

    X: np.ndarray
    y: np.ndarray
    task: str
    name: str
    note: str = ""
    #: The target as the file gives it, when ``y`` converts it (integer class labels); the digest reads it.
    labels: np.ndarray | None = None

    def digest(self) -> str:
        """A short hash of the features and target: the same for the same data, whatever its file is called."""
        h = hashlib.sha256(np.ascontiguousarray(self.X).tobytes())
        h.update(np.ascontiguousarray(self.y if self.labels is None else self.labels).tobytes())
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
    classification, unless ``task`` says which. The file is read as UTF-8
    (a byte-order mark, as Excel writes, is dropped); blank lines are
    skipped, and messages give the file's own line numbers.
    """
    if target is None:
        raise CliError("--csv needs --target COLUMN, the column to predict")
    file = Path(path)
    if not file.is_file():
        hint = "" if file.is_absolute() else f" (a relative path starts from {str(Path.cwd())!r})"
        raise CliError(f"no CSV file at {path!r}{hint}")
    rows = _read_rows(file, path)
    if len(rows) < 3:
        raise CliError(f"{path!r} needs a header row and at least 2 data rows")
    (_, header), body = rows[0], rows[1:]
    header = [name.strip() for name in header]  # "a, b" names a column "b"
    unnamed = [j + 1 for j, name in enumerate(header) if not name]
    if unnamed:
        last = unnamed[-1] == len(header)
        trailing = " (a comma at the end of the header line, as Excel may write, adds one)" * last
        raise CliError(f"{path!r}: column {unnamed[0]} of the header has no name{trailing}; name every column, "
                       "or remove the empty ones")
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise CliError(f"{path!r}: the header names {', '.join(map(repr, repeated))} more than once; "
                       "give every column its own name")
    if target not in header:
        separator = next((sep for sep in (";", "\t", "|") if len(header) == 1 and sep in header[0]), None)
        if separator is not None:
            raise CliError(f"{path!r} has one column, {header[0]!r}: its fields seem separated by {separator!r}, "
                           "and parzen reads comma-separated files; save it with commas")
        raise CliError(f"{path!r} has no column {target!r}" + did_you_mean(target, header, always_list=True))
    if len(header) == 1:
        raise CliError(f"{path!r} has only the target column {target!r}: no feature to learn from")
    t = header.index(target)
    for line, row in body:
        if len(row) != len(header):
            raise CliError(f"{path!r} line {line}: {len(row)} fields, the header has {len(header)}")
    features = [j for j in range(len(header)) if j != t]
    X = np.array([[_feature(row[j], path, line, header[j]) for j in features] for line, row in body], np.float32)
    X = X.reshape(len(body), len(features))
    targets = [(line, _target_cell(row[t].strip(), path, line, target)) for line, row in body]
    return _with_target(X, targets, task, path, target)


def _read_rows(file: Path, path: str) -> list[tuple[int, list[str]]]:
    """The file's non-blank rows, each with the number of the line it starts on."""
    rows, line = [], 1
    try:
        with file.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            for row in reader:
                if row and not (len(row) == 1 and not row[0].strip()):
                    rows.append((line, row))
                line = reader.line_num + 1
    except UnicodeDecodeError as e:
        raise CliError(f"{path!r} is not UTF-8 text ({e.reason} at byte {e.start}); save it as UTF-8 CSV") from None
    except csv.Error as e:
        raise CliError(f"{path!r} line {line}: {e}") from None
    return rows


def _feature(cell: str, path: str, line: int, column: str) -> float:
    """One feature cell as a finite float32 value."""
    where = f"{path!r} line {line}, column {column!r}: {cell!r}"
    try:
        value = float(cell)
    except ValueError:
        raise CliError(f"{where} is not a number; feature columns must be numeric") from None
    if not math.isfinite(value):
        raise CliError(f"{where} is not a finite number; feature columns must be finite (fill in missing values)")
    with np.errstate(over="ignore"):
        single = np.float32(value)
    if not np.isfinite(single):
        raise CliError(f"{where} is beyond float32's range (about 3.4e38); rescale the column")
    return value


#: Target cells that stand for a missing value (as pandas reads them), compared in lower case.
MISSING = frozenset({"na", "n/a", "nan", "-nan", "null", "#n/a", "#na", "<na>", "#n/a n/a"})


def _target_cell(cell: str, path: str, line: int, target: str) -> str:
    """A target cell, refused when empty or missing ("NA", "NaN", "null", ...): it would become a class of its own,
    or turn a regression into labels."""
    where = f"{path!r} line {line}, column {target!r}"
    if not cell.strip():
        raise CliError(f"{where}: the target is empty; fill it in or drop the row")
    if cell.strip().lower() in MISSING:
        raise CliError(f"{where}: the target is {cell!r}, a missing value; fill it in or drop the row (a class of "
                       "that name: rename it)")
    return cell


def _as_int(value: float) -> str:
    return str(int(value))


def _as_float(value: float) -> str:
    return repr(float(value))


def _with_target(X: np.ndarray, targets: list[tuple[int, str]], task: str | None, path: str, target: str) -> Data:
    """``Data`` with the target column as a regression (numbers) or a classification (labels)."""
    labels = [cell for _, cell in targets]
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
    else:
        check_task(task)
        note = ""
    if task == "regression":
        if numeric is None:
            raise CliError(f"--task regression needs a numeric target; column {target!r} has non-numbers")
        _check_finite(numeric, targets, path, target)
        if np.ptp(numeric) == 0:
            raise CliError(f"{path!r}: column {target!r} is {labels[0]} on every row: there is nothing to regress")
        return Data(X, numeric.astype(np.float32), task, Path(path).stem, note)
    # integer labels as integers, so that a metric's pos_label=1 finds its class: written as integers ("1"),
    # or all as whole floats ("1.0", as pandas writes an integer column with gaps); "01" or "1" beside "2.0"
    # stay labels, as they may not be the same class as "1" and "2"
    whole = numeric is not None and bool(np.all(np.isfinite(numeric) & (numeric == np.round(numeric))))
    spelled = whole and any(all(label == form(v) for label, v in zip(labels, numeric)) for form in (_as_int, _as_float))
    y = numeric.astype(np.int64) if spelled else np.array(labels)
    classes = np.unique(y)
    if len(classes) == 1:
        raise CliError(
            f"{path!r}: column {target!r} has one class, {labels[0]!r}: there is nothing to classify; "
            "use a target with 2 or more classes"
        )
    return Data(X, y, task, Path(path).stem, note, labels=np.array(labels) if y.dtype == np.int64 else None)


def _check_finite(numeric: np.ndarray, targets: list[tuple[int, str]], path: str, target: str) -> None:
    """Refuse a regression target with NaN, an infinity or a value beyond float32's range."""
    with np.errstate(over="ignore"):
        bad = np.flatnonzero(~np.isfinite(numeric.astype(np.float32)))
    if bad.size:
        line, cell = targets[bad[0]]
        raise CliError(
            f"{path!r} line {line}, column {target!r}: {cell!r} is not a finite float32 number; "
            "a regression target must be finite (fill or drop the row)"
        )
