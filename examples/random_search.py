"""Random search over a skorch MLP on Iris: scikit-learn's RandomizedSearchCV,
then the same distributions with parzen's TPESearchCV(sampler="random").

    python examples/random_search.py [--quick]
"""

from __future__ import annotations

from _common import iris_split, parse_quick
from scipy.stats import randint
from sklearn.model_selection import RandomizedSearchCV

from models import MLPClassifier
from tpe_core import TPESearchCV


def main() -> None:
    quick = parse_quick(__doc__)
    X_train, X_test, y_train, y_test = iris_split()
    distributions = {"hidden_units": randint(5, 20)}
    net = MLPClassifier(n_layers=1, lr=1e-2, max_epochs=10 if quick else 100, random_state=0)
    n_iter = 3 if quick else 10
    for name, search in [
        ("RandomizedSearchCV", RandomizedSearchCV(net, distributions, n_iter=n_iter, cv=3, random_state=0)),
        ("TPESearchCV(sampler='random')",
         TPESearchCV(net, distributions, sampler="random", n_iter=n_iter, cv=3, random_state=0)),
    ]:
        search.fit(X_train, y_train)
        print(f"{name}: best CV accuracy {search.best_score_:.4f} with {search.best_params_}; "
              f"held-out accuracy {search.score(X_test, y_test):.4f}")


if __name__ == "__main__":
    main()
