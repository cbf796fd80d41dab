"""Shared set-up of the guide's examples: the Iris data, scaled, with a held-out test split."""

from __future__ import annotations

import argparse

import numpy as np
from sklearn.datasets import load_iris
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler


def iris_split(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Iris, standardised on the training part, 25 % held out (stratified).

    The searches tune on the training part by cross-validation; the held-out
    part gives an honest final score (scoring on the training data, as a
    tutorial often does, rewards overfitting).
    """
    X, y = load_iris(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, stratify=y, random_state=seed)
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


def parse_quick(doc: str) -> bool:
    """``--quick`` from the command line; ``--help`` shows the first paragraph of the example's ``doc``."""
    parser = argparse.ArgumentParser(description=" ".join(doc.split("\n\n")[0].split()))
    parser.add_argument("--quick", action="store_true", help="a small budget (used by the tests)")
    return parser.parse_args().quick
