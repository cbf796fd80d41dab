"""A real Ctrl-C (SIGINT) or SIGTERM during training ends the trial as FAIL
and stops the study; it is not swallowed into a COMPLETE trial."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

CHILD = textwrap.dedent(
    """
    import json
    from sklearn.datasets import load_iris
    from skorch.callbacks import Callback
    from models import MLPClassifier, make_objective
    from tpe_core import Float, RandomSampler, Study

    class Announce(Callback):
        def on_epoch_end(self, net, **kwargs):
            print("EPOCH", len(net.history), flush=True)

    X, y = load_iris(return_X_y=True)
    base = make_objective(MLPClassifier(callbacks=[("announce", Announce())]), X, y)

    def objective(config, trial):
        # trial 0 trains one epoch; trial 1 trains until it is interrupted
        return base({**config, "max_epochs": 1 if trial.number == 0 else 10**6}, trial)

    study = Study({"lr": Float(1e-3, 1e-2)}, sampler=RandomSampler(seed=0), direction="maximize")
    try:
        study.optimize(objective, n_trials=5)
        outcome = "returned"
    except KeyboardInterrupt as e:
        outcome = type(e).__name__
    print("RESULT", json.dumps({
        "outcome": outcome,
        "trials": [[t.state.value, (t.error or "").splitlines()[0] if t.error else None] for t in study.trials],
    }), flush=True)
    """
)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_during_training_fails_the_trial_and_stops_the_study(tmp_path: Path, signum: int) -> None:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    with subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as child:
        try:
            epochs_of_trial_1 = 0
            for line in child.stdout:  # type: ignore[union-attr]
                if line.startswith("EPOCH"):
                    epochs_of_trial_1 += 1
                    if epochs_of_trial_1 == 3:  # trial 0's one epoch, then two of trial 1
                        child.send_signal(signum)
                if line.startswith("RESULT"):
                    result = json.loads(line.split(" ", 1)[1])
                    break
            else:
                pytest.fail(f"the child ended without a result: {child.stderr.read()}")  # type: ignore[union-attr]
            child.communicate(timeout=60)
        finally:
            child.kill()
    assert result["outcome"] == "TrainingInterrupted"
    assert result["trials"] == [
        ["COMPLETE", None],
        ["FAIL", f"TrainingInterrupted: training interrupted by {signal.Signals(signum).name}"],
    ]
