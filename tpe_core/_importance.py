"""Which parameters matter: a random-forest estimate over a study's trials."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tpe_core._distributions import Categorical
from tpe_core._history import STATE_CODES

if TYPE_CHECKING:
    from tpe_core._study import Study

__all__ = ["importances"]

N_TREES = 64


def _features(study: Study, rows: np.ndarray) -> np.ndarray:
    """Encoded rows as forest features: log parameters on a log scale (unless
    a value is 0, as a ``qlognormal`` gives: the trees depend only on the
    order of a feature's values, so the raw values serve as well), an
    inactive parameter drawn uniformly (seeded) over the values it took where
    active: as a constant it would tell the branches apart as well as the
    choice itself does, and take the choice's credit."""
    X = rows.copy()
    rng = np.random.default_rng(0)
    for j, p in enumerate(study.search_space.params):
        if getattr(p.distribution, "log", False) and not isinstance(p.distribution, Categorical):
            column = X[:, j]
            if np.all(column[~np.isnan(column)] > 0):
                X[:, j] = np.log(column)
        column = X[:, j]
        active = ~np.isnan(column)
        low, high = (column[active].min(), column[active].max()) if active.any() else (0.0, 0.0)
        column[~active] = rng.uniform(low, high, size=int((~active).sum()))
    return X


def importances(study: Study) -> dict[str, float]:
    """Importance of each parameter for the objective, summing to 1.

    The mean decrease in impurity of a random forest (scikit-learn's
    ``RandomForestRegressor``, 64 trees, fixed seed, so the same trials give
    the same answer) fitted to the COMPLETE trials, features as encoded
    (log parameters on a log scale, choices by index, an inactive parameter
    drawn over its values, so that a branch's parameters do not take the
    credit of the choice between branches). A parameter that never varied
    gets 0; when the objective never varied, the others share equally. A
    space without parameters (constants only) gives an empty dict.
    """
    from sklearn.ensemble import RandomForestRegressor

    study._sync()
    history = study._history
    complete = history.states == STATE_CODES["COMPLETE"]
    names = study.search_space.names
    if complete.sum() < 2:
        raise ValueError(
            f"importances() needs at least 2 COMPLETE trials, the study has {int(complete.sum())}; run more trials"
        )
    if not names:
        return {}
    X, y = _features(study, history.rows[complete]), history.losses[complete]
    varied = X.max(axis=0) > X.min(axis=0)  # not np.ptp, whose difference overflows for values near 1e308
    if y.max() == y.min() or not varied.any():
        shares = varied / varied.sum() if varied.any() else np.full(len(names), 1.0 / len(names))
        return {names[j]: float(shares[j]) for j in np.argsort(-shares, kind="stable")}
    y = y / np.abs(y).max()  # the importances do not depend on y's scale, and values near 1e308 would overflow
    # leaves of 2 trials smooth the noise; with 2 or 3 trials a forest of them could not split at all
    leaf = 2 if len(y) >= 4 else 1
    forest = RandomForestRegressor(n_estimators=N_TREES, min_samples_leaf=leaf, random_state=0).fit(X, y)
    scores = forest.feature_importances_
    order = np.argsort(-scores, kind="stable")
    return {names[j]: float(scores[j]) for j in order}
