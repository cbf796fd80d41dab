"""models: the PyTorch networks and skorch estimators that parzen tunes.

Depends on torch and skorch, and on :mod:`tpe_core` for trials.

Examples
--------
>>> from sklearn.datasets import load_digits
>>> from models import MLPClassifier
>>> X, y = load_digits(return_X_y=True)
>>> clf = MLPClassifier(n_layers=1, hidden_units=64, max_epochs=10, random_state=0)
>>> clf.fit(X / 16, y).score(X / 16, y) > 0.8
True
"""

from models._callbacks import ReportToTrial
from models._estimators import (
    OPTIMIZERS,
    ConvNetClassifier,
    MLPClassifier,
    MLPRegressor,
    TrainingInterrupted,
    resolve_device,
)
from models._modules import ACTIVATIONS, MLP, ConvNet
from models._objective import estimator_params, make_objective

__all__ = [
    "ACTIVATIONS",
    "ConvNet",
    "ConvNetClassifier",
    "MLP",
    "MLPClassifier",
    "MLPRegressor",
    "OPTIMIZERS",
    "ReportToTrial",
    "TrainingInterrupted",
    "estimator_params",
    "make_objective",
    "resolve_device",
]
