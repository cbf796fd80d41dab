"""The skorch callback that reports epochs to a parzen trial."""

from __future__ import annotations

from typing import Any

from skorch.callbacks import Callback

from tpe_core import Trial, TrialPruned

__all__ = ["ReportToTrial"]


class ReportToTrial(Callback):
    """After each epoch, report a history entry to a trial; stop training
    with :class:`tpe_core.TrialPruned` when the trial's pruner says so.

    Parameters
    ----------
    trial : tpe_core.Trial
        The running trial.
    monitor : str, default="valid_loss"
        The history key to report (e.g. ``"valid_acc"`` or a scoring name).
    sign : float, default=1.0
        Multiplies the reported value, to orient it like the study
        (``-1`` reports a score to a minimizing study).

    Examples
    --------
    >>> from models import MLPClassifier
    >>> def objective(config, trial):
    ...     net = MLPClassifier(callbacks=[ReportToTrial(trial)], **config)
    ...     ...
    """

    def __init__(self, trial: Trial, monitor: str = "valid_loss", sign: float = 1.0) -> None:
        self.trial = trial
        self.monitor = monitor
        self.sign = sign

    def on_epoch_end(self, net: Any, **kwargs: Any) -> None:
        epoch = len(net.history)
        self.trial.report(self.sign * float(net.history[-1, self.monitor]), step=epoch)
        if self.trial.should_prune():
            raise TrialPruned(f"pruned after epoch {epoch} ({self.monitor}={net.history[-1, self.monitor]:.6g})")
