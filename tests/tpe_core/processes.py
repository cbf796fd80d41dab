"""What the tests that use processes run: module-level objectives (picklable,
for ``n_jobs`` and ``trial_timeout``) and a worker script for the storage
tests: ``python processes.py MODE URL NAME [ARGS]``.

Modes
-----
optimize N [START_AT]
    Run N trials of a TPE study on ``SPACE`` (waiting until the Unix time
    START_AT first, so that several workers start together).
hang_at K MARKER
    Run trials; trial K writes MARKER and then sleeps until killed.
hang_in_worker MARKER
    Run one trial in a worker process (``trial_timeout``), which writes its
    pid to MARKER and hangs.
ask_and_die
    Ask one trial and exit at once without telling it (a dead worker).
stop_while_asking_on_threads
    On a thread pool, trial 0 raises while another trial waits for a
    ``should_prune`` answer; print "raised", then "left the pool" once the
    pool's threads have ended.
recover START_AT
    Open the study at START_AT and print how many trials it marked "worker lost".
create START_AT
    Create (or join) the study at START_AT.
"""

from __future__ import annotations

import datetime
import logging
import os
import sys
import time
from pathlib import Path

from tpe_core import Categorical, Float, Int, Study, TPESampler, load_study

SPACE = {
    "lr": Float(1e-4, 1e-1, log=True),
    "units": Int(8, 256, log=True),
    "act": Categorical(["relu", "tanh", "gelu"]),
}


def value_of(config: dict) -> float:
    """The objective: a deterministic function of the configuration."""
    return abs(config["lr"] - 0.01) + config["units"] / 1000 + ("relu", "tanh", "gelu").index(config["act"])


def hangs_dies_or_fails(config: dict, trial) -> float:
    """For the trial_timeout tests: trial 1 hangs, 2 dies, 3 raises, the others succeed."""
    trial.report(1.0, step=1)
    trial.set_user_attr("pid", os.getpid())
    if trial.number == 1:
        time.sleep(600)
    elif trial.number == 2:
        os._exit(3)
    elif trial.number == 3:
        raise ValueError("bad trial")
    return value_of(config)


_IMPORTED = datetime.datetime.now()  # in a worker process: once it has started and unpickled its objective


def stamps_its_start(config: dict, trial) -> float:
    """Record when this module was imported in the trial's process, and when the objective began."""
    trial.set_user_attr("imported", _IMPORTED.isoformat())
    trial.set_user_attr("began", datetime.datetime.now().isoformat())
    return 0.0


def slow(config: dict) -> float:
    """A 0.2-second objective."""
    time.sleep(0.2)
    return value_of(config)


def fifteen_epochs(config: dict, trial) -> float:
    """Reports 15 epochs, 1-based, and stops when the pruner says so."""
    from tpe_core import TrialPruned

    for epoch in range(1, 16):
        trial.report(value_of(config) + 1.0 / epoch, step=epoch)
        if trial.should_prune():
            raise TrialPruned()
    return value_of(config)


def raises_on_trial_2(config: dict, trial) -> float:
    if trial.number == 2:
        raise KeyError("not caught")
    time.sleep(0.5)
    return value_of(config)


def raises_on_trial_0(config: dict, trial) -> float:
    if trial.number == 0:
        raise KeyError("not caught")
    return value_of(config)


def torch_loss(config: dict) -> object:
    """A loss tensor that requires grad, as a training step has it."""
    import torch

    weight = torch.tensor(config["lr"], requires_grad=True)
    return (weight * 2) ** 2


def misuses_the_trial(config: dict, trial) -> float:
    """Trials 1, 3, 5 and 7 make a mistake with their trial object; the others run."""
    mistakes = {1: lambda: trial.report(1.0, -1), 3: lambda: trial.report(1.0, 2.7),
                5: lambda: trial.set_user_attr("k", float("nan")), 7: lambda: trial.report(1.0, 2**63)}
    mistakes.get(trial.number, lambda: trial.report(value_of(config), 1))()
    return value_of(config)


def is_maximizing(config: dict, trial) -> float:
    """1.0 when the trial says its study maximizes (as the trial in a worker tells it)."""
    return float(trial.direction == "maximize")


def describes_its_trial(config: dict, trial) -> float:
    """Records what the objective reads of its running trial (an enqueued trial's source, its state, ...)."""
    started = trial.datetime_start is not None
    trial.set_user_attr("seen", [trial.source, trial.state.value, started, trial.value, trial.error, trial.duration,
                                 sorted(trial.user_attrs)])
    return value_of(config)


def kills_its_worker_on_trial_3(config: dict, trial) -> float:
    """Trial 3 kills the process it runs in, as an out-of-memory kill would."""
    import signal

    if trial.number == 3:
        os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(0.2)
    return value_of(config)


def hangs_in_its_worker(config: dict) -> float:
    """Writes its worker's pid to the file named by $PARZEN_TEST_MARKER, then hangs."""
    Path(os.environ["PARZEN_TEST_MARKER"]).write_text(str(os.getpid()))
    time.sleep(600)
    return 0.0


class TwoArgError(Exception):
    """An exception whose ``__init__`` takes other arguments than its message: pickled, it does not come back."""

    def __init__(self, code: int, detail: str) -> None:
        super().__init__(f"{code}: {detail}")


def returns_a_generator(config: dict) -> object:
    return (x for x in [config["lr"]])


def raises_two_arg_error(config: dict) -> float:
    raise TwoArgError(7, "disk full")


def starts_a_child_and_hangs(config: dict, trial) -> float:
    """Starts a process of its own (its pid in the user attribute "child"), then hangs."""
    import subprocess

    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    trial.set_user_attr("child", child.pid)
    time.sleep(600)
    return 0.0


def asks_until_pruned(config: dict, trial) -> float:
    """Trial 0 raises after 0.3 s; the others report and ask should_prune until told to stop."""
    from tpe_core import TrialPruned

    if trial.number == 0:
        time.sleep(0.3)
        raise KeyError("not caught")
    for step in range(1, 6000):
        trial.report(1.0, step)
        if trial.should_prune():
            raise TrialPruned()
        time.sleep(0.01)
    return 0.0


def _wait_until(start_at: str) -> None:
    time.sleep(max(0.0, float(start_at) - time.time()))


def _study(url: str, name: str) -> Study:
    return Study(SPACE, sampler=TPESampler(seed=os.getpid()), storage=url, study_name=name)


def main(mode: str, url: str, name: str, *args: str) -> None:
    if mode == "optimize":
        if len(args) > 1:
            _wait_until(args[1])
        _study(url, name).optimize(value_of, n_trials=int(args[0]))
    elif mode == "hang_at":
        hang_at, marker = int(args[0]), Path(args[1])

        def objective(config: dict, trial) -> float:
            if trial.number == hang_at:
                trial.report(0.5, step=1)
                marker.write_text("started")
                time.sleep(600)
            return value_of(config)

        _study(url, name).optimize(objective, n_trials=hang_at + 5)
    elif mode == "hang_in_worker":
        os.environ["PARZEN_TEST_MARKER"] = args[0]
        _study(url, name).optimize(hangs_in_its_worker, n_trials=1, trial_timeout=600)
    elif mode == "ask_and_die":
        _study(url, name).ask()
        os._exit(0)
    elif mode == "recover":
        _wait_until(args[0])
        messages: list[str] = []
        handler = logging.Handler()
        handler.emit = lambda record: messages.append(record.getMessage())  # type: ignore[method-assign]
        logging.getLogger("tpe_core").addHandler(handler)
        load_study(storage=url, study_name=name)
        print(sum("worker lost" in m for m in messages))
    elif mode == "create":
        _wait_until(args[0])
        _study(url, name)
    elif mode == "stop_while_asking_on_threads":
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(2) as pool:  # leaving it waits for the trials still running
            try:
                _study(url, name).optimize(asks_until_pruned, n_trials=4, executor=pool, catch=())
            except KeyError:
                print("raised")
        print("left the pool")
    else:
        raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    main(*sys.argv[1:])
