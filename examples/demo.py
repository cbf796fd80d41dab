"""parzen demo: tune a scikit-learn classifier on the bundled wine dataset.

A conditional space chooses between a support-vector machine and a random
forest, each with its own hyperparameters; TPE evaluates 30
configurations by 3-fold cross-validation and prints the best one.

Run with ``python examples/demo.py`` in the venv (``make demo`` runs the ``parzen`` command instead).
"""

from __future__ import annotations

import argparse

from sklearn.datasets import load_wine
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from tpe_core import Categorical, Float, Int, Study, TPESampler

SPACE = {
    "model": Categorical(
        [
            {
                "type": "svm",
                "C": Float(1e-2, 1e3, log=True),
                "gamma": Float(1e-4, 1e0, log=True),
            },
            {
                "type": "forest",
                "n_estimators": Int(10, 200, log=True),
                "max_depth": Int(2, 12),
                "max_features": Categorical(["sqrt", "log2", None]),
            },
        ]
    ),
}


def build(model: dict) -> object:
    """The estimator for one configuration of ``SPACE['model']``."""
    params = {k: v for k, v in model.items() if k != "type"}
    if model["type"] == "svm":
        return make_pipeline(StandardScaler(), SVC(**params))
    return RandomForestClassifier(random_state=0, **params)


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()  # --help, and no stray arguments
    X, y = load_wine(return_X_y=True)

    def objective(config: dict) -> float:
        return cross_val_score(build(config["model"]), X, y, cv=3).mean()

    study = Study(SPACE, sampler=TPESampler(seed=0), direction="maximize", study_name="wine")
    study.optimize(objective, n_trials=30, show_progress=True)

    best = study.best_trial
    print(f"\nbest accuracy {best.value:.4f} (trial {best.number} of {len(study.trials)})")
    print("best configuration:")
    for name, value in best.config["model"].items():
        print(f"  {name:14s} {value!r}")


if __name__ == "__main__":
    main()
