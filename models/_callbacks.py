"""The skorch callback that reports epochs to a parzen trial."""

from __future__ import annotations

from typing import Any

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
        maximizing one: a loss reported as it is to a maximizing study is
        refused, as its pruner would stop the best trainings).

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
        if self.monitor.endswith("loss") and self.sign > 0 and getattr(self.trial, "direction", None) == "maximize":
            raise ValueError(
                f"ReportToTrial(monitor={self.monitor!r}) reports a loss, lower is better, to a study that "
                "maximizes: its pruner would stop the best trainings; pass sign=-1, or monitor a score "
                "(e.g. 'valid_acc')"
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
