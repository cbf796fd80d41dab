"""Bayesian optimisation (TPE) of a skorch MLP on Iris: hyperopt's fmin API
through tpe_core's compatible layer, then the same space with TPESearchCV.

    python examples/bayesian_optimization.py [--quick]

The objective scores by 3-fold cross-validation on the training part (not
on the data it trained on), so the search does not reward overfitting; the
held-out part gives the final score.
"""

from __future__ import annotations

import numpy as np
from _common import iris_split, parse_quick
from sklearn.model_selection import cross_val_score

from models import MLPClassifier
from tpe_core import STATUS_OK, Categorical, Int, TPESearchCV, Trials, fmin, hp, space_eval, tpe


def main() -> None:
    quick = parse_quick(__doc__)
    X_train, X_test, y_train, y_test = iris_split()
    max_epochs, max_evals = (10, 4) if quick else (100, 20)

    space = {
        "hidden_units": hp.quniform("hidden_units", 5, 20, 1),
        "optimizer": hp.choice("optimizer", ["adam", "rmsprop"]),
    }

    def objective(params: dict) -> dict:
        net = MLPClassifier(n_layers=1, hidden_units=int(params["hidden_units"]), optimizer=params["optimizer"],
                            lr=1e-2, max_epochs=max_epochs, random_state=0)
        accuracy = cross_val_score(net, X_train, y_train, cv=3).mean()
        return {"loss": -accuracy, "status": STATUS_OK}

    trials = Trials()
    best = fmin(fn=objective, space=space, algo=tpe.suggest, max_evals=max_evals, trials=trials,
                rstate=np.random.default_rng(0), show_progressbar=False)
    print(f"fmin: best {space_eval(space, best)}, loss {trials.best_trial['result']['loss']:.4f}")

    net = MLPClassifier(n_layers=1, lr=1e-2, max_epochs=max_epochs, random_state=0)
    search = TPESearchCV(
        net, {"hidden_units": Int(5, 20), "optimizer": Categorical(["adam", "rmsprop"])},
        n_iter=max_evals, cv=3, random_state=0,
    ).fit(X_train, y_train)
    print(f"TPESearchCV: best CV accuracy {search.best_score_:.4f} with {search.best_params_}; "
          f"held-out accuracy {search.score(X_test, y_test):.4f}")


if __name__ == "__main__":
    main()
