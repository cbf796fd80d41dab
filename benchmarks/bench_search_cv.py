"""TPESearchCV vs RandomizedSearchCV vs OptunaSearchCV, tuning a skorch MLP on digits.

Five hyperparameters (lr on a log scale, hidden units, layers, dropout,
optimizer), 3-fold CV, 30 configurations per search, seeds 0..4, one
thread per fit. Reports the best CV accuracy (median over seeds), the wall
time, and the time a search spends outside the model fits::

    python benchmarks/bench_search_cv.py --seeds 5 --n-iter 30 --out benchmarks/search_cv.md

OptunaSearchCV runs when ``optuna-integration`` (and pandas, which it
needs) is installed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import scipy.stats
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import RandomizedSearchCV, StratifiedKFold

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models import MLPClassifier  # noqa: E402
from tpe_core import Categorical, Float, Int, Study, TPESearchCV  # noqa: E402

FIT_SECONDS: list[float] = []
PARZEN_SECONDS: list[float] = []


def _timed(method: Any) -> Any:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return method(*args, **kwargs)
        finally:
            PARZEN_SECONDS.append(time.perf_counter() - start)

    return wrapper


# parzen's own work in a search: proposing (ask) and recording (tell) candidates.
Study.ask = _timed(Study.ask)  # type: ignore[method-assign]
Study.tell = _timed(Study.tell)  # type: ignore[method-assign]


class TimedMLP(MLPClassifier):
    """Records the duration of every fit, to separate the search's own time."""

    def fit(self, X: Any, y: Any, **fit_params: Any) -> TimedMLP:
        start = time.perf_counter()
        try:
            return super().fit(X, y, **fit_params)
        finally:
            FIT_SECONDS.append(time.perf_counter() - start)


PARZEN_SPACE = {
    "lr": Float(1e-4, 1e-1, log=True),
    "hidden_units": Int(16, 256, log=True),
    "n_layers": Int(1, 3),
    "dropout": Float(0.0, 0.5),
    "optimizer": Categorical(["adam", "sgd", "rmsprop"]),
}
SCIPY_SPACE = {
    "lr": scipy.stats.loguniform(1e-4, 1e-1),
    "hidden_units": scipy.stats.randint(16, 257),
    "n_layers": scipy.stats.randint(1, 4),
    "dropout": scipy.stats.uniform(0.0, 0.5),
    "optimizer": ["adam", "sgd", "rmsprop"],
}


def searches(seed: int, n_iter: int, cv: Any) -> dict[str, Any]:
    net = TimedMLP(max_epochs=10, batch_size=64, random_state=0)
    out = {
        "TPESearchCV (tpe)": TPESearchCV(net, PARZEN_SPACE, n_iter=n_iter, cv=cv, random_state=seed),
        "TPESearchCV (random)": TPESearchCV(net, PARZEN_SPACE, n_iter=n_iter, cv=cv, sampler="random",
                                            random_state=seed),
        "RandomizedSearchCV": RandomizedSearchCV(net, SCIPY_SPACE, n_iter=n_iter, cv=cv, random_state=seed),
    }
    try:
        import optuna
        from optuna_integration import OptunaSearchCV

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        space = {
            "lr": optuna.distributions.FloatDistribution(1e-4, 1e-1, log=True),
            "hidden_units": optuna.distributions.IntDistribution(16, 256, log=True),
            "n_layers": optuna.distributions.IntDistribution(1, 3),
            "dropout": optuna.distributions.FloatDistribution(0.0, 0.5),
            "optimizer": optuna.distributions.CategoricalDistribution(["adam", "sgd", "rmsprop"]),
        }
        out["OptunaSearchCV (tpe)"] = OptunaSearchCV(net, space, n_trials=n_iter, cv=cv, random_state=seed,
                                                     refit=True, verbose=0)
    except ImportError as e:
        print(f"OptunaSearchCV left out: {e}", file=sys.stderr)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--n-iter", type=int, default=30)
    parser.add_argument("--out")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")
    X, y = load_digits(return_X_y=True)
    X = (X / 16).astype(np.float32)
    rows: dict[str, list[tuple[float, float, float, float]]] = {}
    for seed in range(args.seeds):
        cv = StratifiedKFold(3, shuffle=True, random_state=seed)
        for name, search in searches(seed, args.n_iter, cv).items():
            FIT_SECONDS.clear()
            PARZEN_SECONDS.clear()
            start = time.perf_counter()
            search.fit(X, y)
            wall = time.perf_counter() - start
            overhead = wall - sum(FIT_SECONDS)
            parzen = sum(PARZEN_SECONDS)
            rows.setdefault(name, []).append((float(search.best_score_), wall, overhead, parzen))
            print(seed, name, f"best={search.best_score_:.4f} wall={wall:.1f}s outside fits={overhead:.2f}s "
                  f"parzen ask/tell={parzen:.3f}s", flush=True)
    lines = [
        f"Tuning a skorch MLP on digits (1,797 x 64): 5 hyperparameters, 3-fold CV, {args.n_iter} "
        f"configurations, 10 epochs, seeds 0..{args.seeds - 1}, one thread.",
        "",
        "| search | best CV accuracy, median | min - max | wall s, median | outside the fits, median "
        "| outside the fits / wall | parzen ask+tell / wall |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, values in rows.items():
        best = [v[0] for v in values]
        wall = statistics.median(v[1] for v in values)
        outside = statistics.median(v[2] for v in values)
        parzen = statistics.median(v[3] / v[1] for v in values)
        lines.append(
            f"| {name} | {statistics.median(best):.4f} | {min(best):.4f} - {max(best):.4f} | {wall:.1f} "
            f"| {outside:.2f} s | {outside / wall:.1%} | {parzen:.2%} |"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
