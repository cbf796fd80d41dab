"""tpe_core: the optimizer of parzen.

Search spaces, samplers (random, grid; TPE), studies with ask/tell kept in
memory or in an SQLite file, and a hyperopt-compatible layer. Depends on
numpy and scipy only.

Examples
--------
>>> from tpe_core import Float, Int, Categorical, Study, RandomSampler
>>> space = {
...     "lr": Float(1e-4, 1e-1, log=True),
...     "n_layers": Int(1, 4),
...     "activation": Categorical(["relu", "tanh"]),
... }
>>> study = Study(space, sampler=RandomSampler(seed=0))
>>> study.optimize(lambda c: (c["lr"] - 0.01) ** 2 + c["n_layers"], n_trials=20)
>>> study.best_trial.number >= 0
True
"""

from importlib.metadata import PackageNotFoundError, version

from tpe_core import early_stop, hp, rand, scope, tpe
from tpe_core._distributions import Categorical, Distribution, Float, Int, Normal
from tpe_core._executors import DaskExecutor
from tpe_core._history import History
from tpe_core._hyperopt import (
    JOB_STATE_DONE,
    JOB_STATE_ERROR,
    JOB_STATE_NEW,
    JOB_STATE_RUNNING,
    STATUS_FAIL,
    STATUS_NEW,
    STATUS_OK,
    STATUS_RUNNING,
    AllTrialsFailed,
    Trials,
    fmin,
    space_eval,
)
from tpe_core._pruners import BasePruner, HyperbandPruner, MedianPruner, SuccessiveHalvingPruner
from tpe_core._samplers import BaseSampler, GridSampler, RandomSampler, SamplerExhausted, TPESampler
from tpe_core._space import Param, SearchSpace, SpaceError, from_sklearn
from tpe_core._storage import SQLiteStorage, StorageError, TrialFinishedError
from tpe_core._study import Study, StudyMismatchError, delete_study, load_study
from tpe_core._trial import MAX_ERROR_LENGTH, Trial, TrialFailed, TrialPruned, TrialState


def __getattr__(name: str) -> object:
    # TPESearchCV needs scikit-learn: import it only when it is asked for.
    if name == "TPESearchCV":
        from tpe_core._search_cv import TPESearchCV

        return TPESearchCV
    raise AttributeError(f"module 'tpe_core' has no attribute {name!r}")


try:
    __version__ = version("parzen")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = [
    "MAX_ERROR_LENGTH",
    "AllTrialsFailed",
    "BasePruner",
    "BaseSampler",
    "Categorical",
    "DaskExecutor",
    "Distribution",
    "Float",
    "GridSampler",
    "History",
    "HyperbandPruner",
    "Int",
    "MedianPruner",
    "Normal",
    "Param",
    "RandomSampler",
    "SQLiteStorage",
    "SamplerExhausted",
    "JOB_STATE_DONE",
    "JOB_STATE_ERROR",
    "JOB_STATE_NEW",
    "JOB_STATE_RUNNING",
    "STATUS_FAIL",
    "STATUS_NEW",
    "STATUS_OK",
    "STATUS_RUNNING",
    "SearchSpace",
    "SpaceError",
    "StorageError",
    "StudyMismatchError",
    "SuccessiveHalvingPruner",
    "TPESampler",
    "TPESearchCV",
    "Study",
    "Trial",
    "TrialFailed",
    "TrialPruned",
    "TrialFinishedError",
    "TrialState",
    "Trials",
    "fmin",
    "from_sklearn",
    "delete_study",
    "load_study",
    "hp",
    "rand",
    "early_stop",
    "scope",
    "space_eval",
    "tpe",
]
