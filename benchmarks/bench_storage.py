"""Cost of persistence: parzen's SQLite storage vs memory, beside Optuna's.

Three measurements, in one run:

1. Bookkeeping per trial (ask + 10 reported intermediate values + tell,
   random sampler, free objective), once the study holds 100 and 2,000
   trials: in memory and on SQLite, for parzen and for Optuna (its
   ``sqlite:///`` RDB storage).
2. The TPE ask (+ tell) at 1,000 and 2,000 trials, in memory vs SQLite.
3. Throughput of 1 and 4 processes sharing one SQLite study with a free
   objective (TPE, random for Optuna).

Run in an environment with optuna installed (the bench venv)::

    python benchmarks/bench_storage.py --out benchmarks/storage.md
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tpe_core import Float, Int, RandomSampler, Study, TPESampler  # noqa: E402

SPACE = {"lr": Float(1e-4, 1e-1, log=True), "units": Int(8, 256, log=True), "dropout": Float(0.0, 0.5)}
N_REPORTS = 10
N_MEASURED = 50


def _loss(config: dict) -> float:
    return abs(config["lr"] - 0.01) + config["units"] / 1000 + config["dropout"]


def _parzen_trial(study: Study) -> None:
    trial = study.ask()
    for step in range(N_REPORTS):
        trial.report(float(step), step)
    study.tell(trial, _loss(trial.config))


def _optuna_trial(study) -> None:
    trial = study.ask()
    config = {
        "lr": trial.suggest_float("lr", 1e-4, 1e-1, log=True),
        "units": trial.suggest_int("units", 8, 256, log=True),
        "dropout": trial.suggest_float("dropout", 0.0, 0.5),
    }
    for step in range(N_REPORTS):
        trial.report(float(step), step)
    study.tell(trial, _loss(config))


def _ms_per_trial(run_one, study, n_before: int) -> float:
    """Fill the study to ``n_before`` trials, then time ``N_MEASURED`` more (ms per trial)."""
    for _ in range(n_before):
        run_one(study)
    start = time.perf_counter()
    for _ in range(N_MEASURED):
        run_one(study)
    return (time.perf_counter() - start) / N_MEASURED * 1e3


def bookkeeping(tmp: Path, n_before: int) -> dict[str, float]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    parzen_sqlite = f"sqlite:///{tmp}/parzen-{n_before}.db"
    optuna_sqlite = f"sqlite:///{tmp}/optuna-{n_before}.db"
    return {
        "parzen memory": _ms_per_trial(_parzen_trial, Study(SPACE, sampler=RandomSampler(seed=0)), n_before),
        "parzen sqlite": _ms_per_trial(
            _parzen_trial, Study(SPACE, sampler=RandomSampler(seed=0), storage=parzen_sqlite, study_name="b"), n_before
        ),
        "optuna memory": _ms_per_trial(
            _optuna_trial, optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0)), n_before
        ),
        "optuna sqlite": _ms_per_trial(
            _optuna_trial,
            optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0), storage=optuna_sqlite),
            n_before,
        ),
    }


def tpe_ask(tmp: Path, n_before: int) -> dict[str, float]:
    """ms per TPE ask + tell on a study already holding ``n_before`` random trials."""
    result = {}
    for label, storage in (("memory", None), ("sqlite", f"sqlite:///{tmp}/tpe-{n_before}.db")):
        study = Study(SPACE, sampler=RandomSampler(seed=0), storage=storage, study_name="t")
        for _ in range(n_before):
            study.tell(trial := study.ask(), _loss(trial.config))
        study.sampler = TPESampler(seed=0)
        times = []
        for _ in range(N_MEASURED):
            start = time.perf_counter()
            study.tell(trial := study.ask(), _loss(trial.config))
            times.append(time.perf_counter() - start)
        result[label] = statistics.median(times) * 1e3
    return result


_WORKER = """
import sys, time
sys.path.insert(0, {root!r})
from tpe_core import Float, Int, Study, TPESampler
space = {space}
study = Study(space, sampler=TPESampler(seed={seed}), storage={url!r}, study_name="w")
time.sleep(max(0.0, {start_at} - time.time()))
study.optimize(lambda c: c["lr"] + c["units"] / 1000 + c["dropout"], n_trials={n})
"""


def throughput(tmp: Path, n_processes: int, n_per_process: int) -> float:
    """Trials per second of ``n_processes`` workers on one SQLite study."""
    url = f"sqlite:///{tmp}/shared-{n_processes}.db"
    Study(SPACE, storage=url, study_name="w")
    start_at = time.time() + 3
    root = str(Path(__file__).resolve().parents[1])
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER.format(
                root=root, space=repr(SPACE), seed=i, url=url, start_at=start_at, n=n_per_process
            )]
        )
        for i in range(n_processes)
    ]
    for p in procs:
        assert p.wait() == 0
    elapsed = time.time() - start_at
    n = len(Study(SPACE, storage=url, study_name="w").trials)
    assert n == n_processes * n_per_process, n
    return n / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    import optuna

    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        book = {n: bookkeeping(tmp, n) for n in (100, 2000)}
        tpe = {n: tpe_ask(tmp, n) for n in (1000, 2000)}
        rate = {k: throughput(tmp, k, 200 // k) for k in (1, 4)}

    lines = [
        "# Storage benchmark",
        "",
        f"Measured {time.strftime('%Y-%m-%d')} on {os.cpu_count()} cores ({platform.machine()}), "
        f"Python {platform.python_version()}, optuna {optuna.__version__}, SQLite files on local disk. "
        "Reproduce: `python benchmarks/bench_storage.py --out benchmarks/storage.md` (needs optuna).",
        "",
        f"## Bookkeeping per trial (ask + {N_REPORTS} reports + tell, random sampler)",
        "",
        f"Mean over {N_MEASURED} trials once the study holds n trials, in ms.",
        "",
        "| n | parzen memory | parzen SQLite | parzen SQLite added "
        "| optuna memory | optuna SQLite | optuna SQLite added |",
        "|---|---|---|---|---|---|---|",
    ]
    for n, b in book.items():
        lines.append(
            f"| {n} | {b['parzen memory']:.2f} | {b['parzen sqlite']:.2f} | "
            f"**{b['parzen sqlite'] - b['parzen memory']:.2f}** | {b['optuna memory']:.2f} | "
            f"{b['optuna sqlite']:.2f} | {b['optuna sqlite'] - b['optuna memory']:.2f} |"
        )
    lines += [
        "",
        "## TPE ask + tell",
        "",
        f"Median over {N_MEASURED} trials after n random trials, in ms.",
        "",
        "| n | memory | SQLite | SQLite / memory |",
        "|---|---|---|---|",
    ]
    for n, t in tpe.items():
        lines.append(f"| {n} | {t['memory']:.2f} | {t['sqlite']:.2f} | **{t['sqlite'] / t['memory']:.2f}x** |")
    lines += [
        "",
        "## Processes sharing one SQLite study (TPE, free objective, 200 trials in all)",
        "",
        "| processes | trials / s |",
        "|---|---|",
    ]
    lines += [f"| {k} | {r:.0f} |" for k, r in rate.items()]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out is not None:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
