"""Grid search over a skorch MLP on Iris: scikit-learn's GridSearchCV, then
the same grid with parzen's TPESearchCV(sampler="grid").

    python examples/grid_search.py [--quick]
"""

from __future__ import annotations

from _common import iris_split, parse_quick
from sklearn.model_selection import GridSearchCV

from models import MLPClassifier
from tpe_core import TPESearchCV


def main() -> None:
    quick = parse_quick(__doc__)
    X_train, X_test, y_train, y_test = iris_split()
    grid = {
        "batch_size": [16, 32],
        "max_epochs": [5, 10] if quick else [50, 100],
        "optimizer": ["adam", "rmsprop"],
    }
    net = MLPClassifier(n_layers=1, hidden_units=16, lr=1e-2, random_state=0)
    for name, search in [
        ("GridSearchCV", GridSearchCV(net, grid, cv=3)),
        ("TPESearchCV(sampler='grid')", TPESearchCV(net, grid, sampler="grid", n_iter=None, cv=3)),
    ]:
        search.fit(X_train, y_train)
        print(f"{name}: best CV accuracy {search.best_score_:.4f} with {search.best_params_}; "
              f"held-out accuracy {search.score(X_test, y_test):.4f}")


if __name__ == "__main__":
    main()
