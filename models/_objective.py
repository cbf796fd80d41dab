"""Objectives for Study.optimize built from a parzen estimator and data."""

from __future__ import annotations

import gc
import math
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch
from sklearn.base import clone, is_classifier
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.metrics import check_scoring, get_scorer_names
from sklearn.model_selection import check_cv, cross_val_score
from skorch.callbacks import EpochScoring
from skorch.dataset import ValidSplit

from models._callbacks import ReportToTrial
from models._estimators import _NetSeededSplit, _TunableNet
from tpe_core import Trial

__all__ = ["make_objective"]

_SCORE = "valid_score"


def _release_memory() -> None:
    """Free what a finished trial left behind (GPU memory included)."""
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def make_objective(
    estimator: Any,
    X: Any,
    y: Any,
    *,
    cv: Any = None,
    validation_fraction: float = 0.2,
    scoring: str | Callable[..., float] | None = None,
    direction: str = "maximize",
) -> Callable[[dict[str, Any], Trial], float]:
    """An objective ``objective(config, trial)`` that trains ``estimator``.

    Each trial clones the estimator, sets the configuration (a flat dict of
    its parameters: ``{"lr": ..., "n_layers": ...}``; the chosen branch of a
    conditional choice, a dict of parameters, counts as its parameters:
    :func:`estimator_params`) and trains it. With
    ``cv=None`` it holds out ``validation_fraction`` of the data (stratified
    for a classifier, the same split for every trial, made by the net's
    ``train_split``), scores the held-out
    part after every epoch, reports that score to the trial (epochs counted
    from 1, so a pruner's rungs fall on the intended epochs; a pruner of the
    study may stop the training) and returns the score of the best epoch,
    which it records as the trial's user attribute ``"best_epoch"``: refit
    the best configuration on all the data with
    ``max_epochs=study.best_trial.user_attrs["best_epoch"]`` and
    ``train_split=None`` (the estimators hold out a fifth by default).
    With ``cv`` it returns the mean cross-validated score and reports
    nothing; each fold trains on the whole of its training part
    (``train_split=None``).

    Parameters
    ----------
    estimator : skorch estimator
        E.g. :class:`models.MLPClassifier`; its ``random_state`` (0 when
        unset) seeds every trial, so a trial is reproducible.
    X, y : array-like
        The data.
    cv : int, cross-validation generator, iterable of splits or None
        Cross-validate instead of holding out (an int: stratified folds
        for a classifier, as in ``cross_val_score``).
    validation_fraction : float, default=0.2
        Held-out share when ``cv`` is None.
    scoring : str or callable, optional
        A scikit-learn scorer (higher is better); the estimator's ``score``
        (accuracy, R^2) by default.
    direction : {"maximize", "minimize"}, default="maximize"
        The study's direction: with "minimize" the objective returns (and
        reports) the negated score.

    Returns
    -------
    callable
        ``objective(config, trial) -> float`` for :meth:`tpe_core.Study.optimize`.

    Raises
    ------
    TypeError
        When ``estimator`` is not a network of this package (a Pipeline).
    ValueError
        When ``cv`` or ``validation_fraction`` cannot split ``y`` (more
        folds than a class has rows, a held-out part smaller than the
        number of classes, ...), or ``scoring`` names no scikit-learn
        scorer: before any trial, not in each of them.
    """
    if not isinstance(estimator, _TunableNet):
        raise TypeError(
            f"make_objective tunes a network of this package (MLPClassifier, MLPRegressor, ConvNetClassifier), "
            f"got {type(estimator).__name__}; give it the network and scale X beforehand (for a Pipeline, "
            "tune it with tpe_core.TPESearchCV)"
        )
    if direction not in ("maximize", "minimize"):
        raise ValueError(f"direction must be 'maximize' or 'minimize', got direction={direction!r}")
    if not 0.0 < validation_fraction < 1.0:
        raise ValueError(f"validation_fraction must be in (0, 1), got validation_fraction={validation_fraction!r}")
    sign = 1.0 if direction == "maximize" else -1.0
    seed = estimator.random_state if getattr(estimator, "random_state", None) is not None else 0
    holdout = ValidSplit(validation_fraction, stratified=is_classifier(estimator), random_state=seed)
    if isinstance(scoring, str) and scoring not in get_scorer_names():  # here, not in every trial
        raise ValueError(
            f"scoring={scoring!r} is not a scikit-learn scorer; sklearn.metrics.get_scorer_names() lists them"
        )
    try:
        scorer = check_scoring(estimator, scoring)  # a metric function given for a scorer, say
    except (TypeError, ValueError) as e:
        raise ValueError(f"scoring={scoring!r}: {e}") from None
    if isinstance(scoring, str):
        _check_scorer_fits(scorer, scoring, estimator, y)
    if not (estimator.train_split is None or isinstance(estimator.train_split, _NetSeededSplit)):
        raise ValueError(
            f"make_objective holds out validation_fraction={validation_fraction!r} of the data (or cross-validates, "
            f"with cv) in every trial, and would replace the estimator's train_split={estimator.train_split!r}: "
            "leave train_split at its default, and give validation_fraction or cv"
        )
    if cv is None:
        what = f"validation_fraction={validation_fraction!r}"
        split = _check_split(holdout, np.arange(len(y)), np.asarray(y), what)
    else:  # resolved once: a generator of splits then serves every trial
        given, cv = cv, check_cv(cv, y, classifier=is_classifier(estimator))
        what = f"cv={given!r}"
        split = _check_split(lambda X, y: next(iter(cv.split(X, y))), X, y, what)
    if not is_classifier(estimator) and scoring in (None, "r2") and len(split[1]) < 2:
        raise ValueError(
            f"{what} holds out {len(split[1])} row{'s' * (len(split[1]) != 1)} of the {len(y)} rows of y, and r2 "
            "needs 2 or more (it is undefined, every trial would score NaN): hold out more rows, or give more data"
        )
    return _NetObjective(estimator, X, y, cv, scoring, sign, seed, holdout)


def _check_scorer_fits(scorer: Any, scoring: str, estimator: Any, y: Any) -> None:
    """Refuse, before any trial, a named scorer that cannot score this estimator on ``y`` (a class
    probability scorer for a regressor, accuracy of a continuous target, roc_auc of three classes): it is
    tried once on a constant prediction of ``y``."""
    dummy = DummyClassifier() if is_classifier(estimator) else DummyRegressor()
    rows = np.zeros((len(y), 1))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a constant prediction's ill-defined precision, say
            scorer(dummy.fit(rows, y), rows, y)
    except (AttributeError, TypeError, ValueError) as e:
        kind = "classifier" if is_classifier(estimator) else "regressor"
        raise ValueError(
            f"scoring={scoring!r} cannot score {type(estimator).__name__} (a {kind}) on this y: "
            f"{type(e).__name__}: {e}"
        ) from None


def estimator_params(config: Mapping[str, Any]) -> dict[str, Any]:
    """The estimator parameters of a configuration: the chosen branch of a
    conditional choice (a dict of parameters) merged in, as its own parameters.

    >>> estimator_params({"lr": 0.01, "optimizer": {"optimizer": "sgd", "momentum": 0.9}})
    {'lr': 0.01, 'optimizer': 'sgd', 'momentum': 0.9}
    """
    params: dict[str, Any] = {}
    for name, value in config.items():
        params.update(estimator_params(value) if isinstance(value, Mapping) else {name: value})
    return params


def _check_split(split: Callable[[Any, Any], Any], X: Any, y: Any, what: str) -> tuple[Any, Any]:
    """Split once, so that a split that cannot work fails here, naming the setting; the first split's
    ``(train, held out)``."""
    try:
        return split(X, y)
    except ValueError as e:
        raise ValueError(f"{what} cannot split the {len(y)} rows of y: {e}") from None


class _NetObjective:
    """What :func:`make_objective` returns: picklable, so trials can run in
    worker processes (``optimize(n_jobs=...)``, Dask)."""

    def __init__(
        self, estimator: Any, X: Any, y: Any, cv: Any, scoring: Any, sign: float, seed: int, holdout: ValidSplit
    ) -> None:
        self.estimator, self.X, self.y, self.cv, self.scoring = estimator, X, y, cv, scoring
        self.sign, self.seed, self.holdout = sign, seed, holdout

    def __call__(self, config: dict[str, Any], trial: Trial) -> float:
        direction = "maximize" if self.sign > 0 else "minimize"
        if getattr(trial, "direction", direction) != direction:
            raise ValueError(
                f"make_objective(direction={direction!r}) scores for a study that {direction}s, and "
                f"this study has direction={trial.direction!r}: its best trials would be its worst (and a pruner "
                f"would stop the good ones); create the study with direction={direction!r}, or pass "
                f"direction={trial.direction!r} to make_objective"
            )
        net = clone(self.estimator).set_params(**{"random_state": self.seed, **estimator_params(config)})
        try:
            if self.cv is not None:  # each fold trains on all of its training part
                net.set_params(train_split=None)
                # a fold that fails fails the trial with its own error (as NaN it read as diverged)
                scorer = _nan_when_diverged(check_scoring(net, self.scoring))
                scores = cross_val_score(net, self.X, self.y, cv=self.cv, scoring=scorer, error_score="raise")
                return self.sign * float(np.mean(scores))
            net.set_params(train_split=self.holdout)
            return self.sign * _train_and_score(net, self.X, self.y, self.scoring, trial, self.sign)
        except torch.OutOfMemoryError as e:
            raise RuntimeError(
                f"CUDA out of memory in trial {trial.number} with {config}; try a smaller "
                "batch_size or network"
            ) from e
        finally:
            del net
            _release_memory()


def _train_and_score(net: Any, X: Any, y: Any, scoring: Any, trial: Trial, sign: float) -> float:
    """Train ``net``, scoring its held-out part after every epoch.

    Returns the best epoch's score, NaN when every epoch diverged.
    """
    # Scored and reported first, so that every trained epoch counts and the
    # user's callbacks (an EarlyStopping on "valid_score") see the score.
    callbacks = [
        (_SCORE, EpochScoring(_nan_when_diverged(check_scoring(net, scoring)), lower_is_better=False,
                              name=_SCORE, target_extractor=net.decode_targets)),
        ("report_to_trial", ReportToTrial(trial, monitor=_SCORE, sign=sign)),
    ] + ([] if net.callbacks in (None, "disable") else list(net.callbacks))
    net.callbacks = callbacks  # the net is a fresh clone, not initialized yet ("disable" refuses set_params)
    try:
        net.fit(X, y)
    finally:  # also when pruned: the trial keeps the epoch it did best at
        scores = np.array([row[_SCORE] for row in getattr(net, "history", None) or [] if _SCORE in row], dtype=float)
        if np.isfinite(scores).any():
            trial.set_user_attr("best_epoch", int(np.nanargmax(scores)) + 1)
    return float(np.nanmax(scores)) if np.isfinite(scores).any() else math.nan


def _nan_when_diverged(scorer: Callable[[Any, Any, Any], float]) -> Callable[[Any, Any, Any], float]:
    """``scorer``, scoring NaN an epoch whose validation loss (a cv fold's
    net, which holds out nothing: its training loss) is not finite.

    A diverged network predicts NaN, on which scikit-learn's regression
    metrics raise; as NaN the epoch is the worst there is, and a trial
    that diverged at every epoch ends FAIL as diverged, which TPE ranks
    last instead of leaving it out. (Being a plain function, it also keeps
    skorch from reading a scorer as a metric function.)
    """

    def score(net: Any, X: Any, y: Any) -> float:
        last = net.history[-1]
        if not math.isfinite(last.get("valid_loss", last.get("train_loss", 0.0))):
            return math.nan
        return scorer(net, X, y)

    return score
