"""The skorch callback that reports epochs to a parzen trial."""

from __future__ import annotations

from typing import Any

from sklearn.metrics import get_scorer_names
from skorch.callbacks import Callback

from tpe_core import Trial, TrialPruned

__all__ = ["ReportToTrial"]


class ReportToTrial(Callback):
    """After each epoch, report a history entry to a trial; stop training
    with :class:`tpe_core.TrialPruned` when the trial's pruner says so.

    Epochs are reported from 1. The pruner is not asked after the last
    epoch of a training (``max_epochs`` of them): stopping then saves
    nothing, and the trial that trained to its end completes. A net
    cloned by scikit-learn (``cross_val_score``, ``GridSearchCV``) reports
    to the same trial, not to a copy.

    Parameters
    ----------
    trial : tpe_core.Trial
        The running trial.
    monitor : str, default="valid_loss"
        The history key to report (e.g. ``"valid_acc"`` or a scoring name);
        the net needs a validation split for a ``valid_`` key.
    sign : float, default=1.0
        Multiplies the reported value, to orient it like the study
        (``-1`` reports a score to a minimizing study, or a loss to a
        maximizing one). A key whose sense is known (a ``loss``, an
        ``acc``, a scikit-learn scorer's name) reported against the study's
        direction is refused, as its pruner would stop the best trainings.

    Examples
    --------
    >>> from models import MLPClassifier
    >>> def objective(config, trial):
    ...     net = MLPClassifier(callbacks=[ReportToTrial(trial, monitor="valid_acc")], **config)
    ...     ...
    """

    def __init__(self, trial: Trial, monitor: str = "valid_loss", sign: float = 1.0) -> None:
        self.trial = trial
        self.monitor = monitor
        self.sign = sign

    def on_train_begin(self, net: Any, **kwargs: Any) -> None:
        higher_is_better = _higher_is_better(self.monitor)
        direction = getattr(self.trial, "direction", None)
        if higher_is_better is not None and direction in ("maximize", "minimize"):
            reported_higher = higher_is_better == (self.sign > 0)
            if reported_higher != (direction == "maximize"):
                what = "a loss, lower is better," if not higher_is_better else "a score, higher is better,"
                fix = "monitor a score (e.g. 'valid_acc')" if not higher_is_better else "monitor a loss"
                raise ValueError(
                    f"ReportToTrial(monitor={self.monitor!r}) reports {what}{' negated,' * (self.sign < 0)} to a "
                    f"study that {direction}s: its pruner would stop the best trainings; pass sign={-self.sign!r}, "
                    f"or {fix}"
                )
        self.last_epoch_ = len(net.history) + net.max_epochs

    def on_epoch_end(self, net: Any, **kwargs: Any) -> None:
        epoch, row = len(net.history), net.history[-1]
        if self.monitor not in row:
            found = ", ".join(repr(k) for k in row if k not in ("batches", "epoch", "dur")) or "none"
            valid = "; a net without a validation split (train_split=None) records no valid_ key" * (
                self.monitor.startswith("valid_")
            )
            raise ValueError(
                f"ReportToTrial(monitor={self.monitor!r}): epoch {epoch} recorded no {self.monitor!r} (its keys: "
                f"{found}){valid}"
            )
        self.trial.report(self.sign * float(row[self.monitor]), step=epoch)
        if epoch < self.last_epoch_ and self.trial.should_prune():
            raise TrialPruned(f"pruned after epoch {epoch} ({self.monitor}={row[self.monitor]:.6g})")


def _higher_is_better(monitor: str) -> bool | None:
    """Whether a history key is better higher (an accuracy, a scikit-learn score) or lower (a loss);
    None for a key of unknown sense."""
    if monitor.endswith("loss"):
        return False
    name = monitor.removeprefix("valid_").removeprefix("train_")
    if name == "acc" or name in get_scorer_names():
        return True
    return None
