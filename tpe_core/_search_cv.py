"""TPESearchCV: a drop-in scikit-learn search estimator driven by parzen's samplers.

This is the only module of :mod:`tpe_core` that imports scikit-learn; it is
loaded when ``tpe_core.TPESearchCV`` is first used.
"""

from __future__ import annotations

import copy
import math
import re
import warnings
from collections.abc import Container, Mapping, Sequence
from typing import Any

import numpy as np
from joblib import effective_n_jobs
from sklearn.base import is_classifier
from sklearn.exceptions import FitFailedWarning
from sklearn.model_selection import check_cv
from sklearn.model_selection._search import BaseSearchCV
from sklearn.utils import check_random_state

from tpe_core._distributions import Distribution
from tpe_core._samplers import BaseSampler, GridSampler, RandomSampler, TPESampler
from tpe_core._samplers._grid import grid_size
from tpe_core._space import SearchSpace, _is_scipy_distribution, from_sklearn
from tpe_core._study import Study
from tpe_core._trial import Trial, TrialState
from tpe_core._validation import check_int

__all__ = ["TPESearchCV"]

_SAMPLERS = ("tpe", "random", "grid")


def _reason(error: BaseException) -> str:
    """A failed trial's reason: the error on one line (scikit-learn's messages span lines)."""
    return f"{type(error).__name__}: {' '.join(str(error).split())}"


def candidate_params(space: SearchSpace, trial: Trial, estimator_params: Container[str]) -> dict[str, Any]:
    """The estimator parameters of a trial.

    The space is a dict of parameters (or a choice between such dicts); the
    chosen option of a choice between dicts of parameters is merged in, as
    scikit-learn's list of grids gives it (see :func:`_names_parameters`
    for when a chosen dict is a value instead). ``estimator_params`` are the
    estimator's ``get_params(deep=True)`` names.
    """
    conditional = {p.path: p.name for p in space.params if p.conditional}
    chosen = trial.params
    out: dict[str, Any] = {}

    def merge(node: Any, value: Any, path: tuple[Any, ...]) -> None:
        if path in conditional:  # a choice between dicts of parameters
            branch = chosen[conditional[path]]
            merge(node.choices[branch], value, path + (branch,))
            return
        if not isinstance(node, Mapping):
            raise TypeError(f"the search space must give a dict of parameters, got {value!r}")
        for key, sub in node.items():
            if not _names_parameters(key, value[key], estimator_params):
                out[key] = value[key]
            elif path + (key,) in conditional:
                merge(sub, value[key], path + (key,))
            else:  # a choice between dicts of constants
                out.update(value[key])

    merge(space.space, trial.config, ())
    return out


def _names_parameters(key: Any, value: Any, estimator_params: Container[str]) -> bool:
    """Whether the option chosen under ``key`` is a dict of estimator parameters to merge in, not the
    value of one: a dict with string keys, under a key that is no parameter (``"model"``), or naming
    parameters itself (``"optimizer": {"optimizer": "sgd", "momentum": 0.9}``). Under a parameter, a dict
    that names none is its value (``class_weight={"setosa": 1.0, "versicolor": 3.0}``)."""
    if not (isinstance(value, Mapping) and all(isinstance(k, str) for k in value)):
        return False
    return key not in estimator_params or any(k.split("__")[0] in estimator_params for k in value)


def _all_lists(param_distributions: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> bool:
    """Whether every parameter is given as a list of values (the space is a finite grid)."""
    grids = [param_distributions] if isinstance(param_distributions, Mapping) else list(param_distributions)
    return all(
        not (isinstance(v, Distribution) or _is_scipy_distribution(v))
        for grid in grids
        if isinstance(grid, Mapping)
        for v in grid.values()
    )


class _SplitOnce:
    """The search's cross-validator, split once: every batch of candidates
    is scored on the same folds, as ``GridSearchCV`` scores its candidates
    (a ``KFold(shuffle=True)`` without a seed splits anew at each call)."""

    def __init__(self, cv: Any, classifier: bool) -> None:
        self.cv = cv
        self.classifier = classifier
        self._splits: list[tuple[np.ndarray, np.ndarray]] | None = None

    def split(self, X: Any, y: Any = None, groups: Any = None, **params: Any) -> Any:
        if self._splits is None:
            cv = check_cv(self.cv, y, classifier=self.classifier)
            self._splits = list(cv.split(X, y, groups, **params))
        return iter(self._splits)

    def get_n_splits(self, X: Any = None, y: Any = None, groups: Any = None) -> int:
        if self._splits is not None:
            return len(self._splits)
        return check_cv(self.cv, y, classifier=self.classifier).get_n_splits(X, y, groups)


class TPESearchCV(BaseSearchCV):
    """Hyperparameter search with cross-validation, proposed by TPE (or random
    or grid search), as a scikit-learn estimator.

    It is used exactly as ``RandomizedSearchCV``: same constructor arguments
    and the same fitted attributes (``cv_results_``, ``best_params_``,
    ``best_score_``, ``best_estimator_``, ...), but each batch of candidates
    is proposed from the results of the previous ones.

    Parameters
    ----------
    estimator : estimator object
        The estimator (or Pipeline) to tune.
    param_distributions : dict or list of dict
        Parameter names (``"C"``, ``"net__lr"``) to lists of values,
        scipy.stats distributions or parzen distributions (``Float``,
        ``Int``, ``Categorical``, including conditional choices); a list of
        dicts is a choice between them.
    n_iter : int or None, default=10
        Number of candidates. None runs a grid to its end (``sampler="grid"``).
    sampler : {"tpe", "random", "grid"} or BaseSampler, default="tpe"
        How candidates are proposed. A sampler object is copied at each
        ``fit``; its own settings and seed apply (``n_startup_trials`` and
        ``random_state`` are then not used).
    batch_size : int, optional
        Candidates evaluated together; by default as many as ``n_jobs``
        runs in parallel. Within a batch TPE spreads its proposals (constant
        liar).
    n_startup_trials : int, optional
        Random candidates before TPE starts; only with ``sampler="tpe"``.
        By default a third of ``n_iter``, at least 1 and at most 10
        (TPESampler's default), so that TPE proposes most of a small
        budget: with ``n_iter=10``, 3 random candidates and 7 from TPE. A
        batch (``batch_size``) is proposed from the candidates finished
        before it, so the first batch is all random.
    scoring, n_jobs, refit, cv, verbose, pre_dispatch, error_score, return_train_score
        As for ``RandomizedSearchCV``. With several metrics, the one
        ``refit`` names steers the search (the first, with ``refit=False``
        or a callable ``refit``). A batch of candidates whose every fit
        failed keeps its rows in ``cv_results_``, scored ``error_score`` as
        in ``GridSearchCV`` (their fit and score times nan), and a
        ``FitFailedWarning`` says why; the search goes on. The study learns
        a failed candidate's score whether or not others of its batch
        fitted: a finite ``error_score`` as its value, NaN as a diverged
        trial, which TPE ranks below every scored one.
    random_state : int, RandomState instance or None, default=None
        Seed of the sampler named by ``sampler``.

    Attributes
    ----------
    study_ : tpe_core.Study
        The study behind the search (maximizing the refit metric), for
        plots and export; ``cv_results_`` and the other fitted attributes
        are scikit-learn's.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.svm import SVC
    >>> from tpe_core import Float
    >>> X, y = load_iris(return_X_y=True)
    >>> search = TPESearchCV(SVC(), {"C": Float(1e-2, 1e2, log=True), "kernel": ["linear", "rbf"]},
    ...                      n_iter=12, random_state=0).fit(X, y)
    >>> bool(search.best_score_ > 0.9)
    True
    """

    def __init__(
        self,
        estimator: Any,
        param_distributions: Mapping[str, Any] | Sequence[Mapping[str, Any]],
        *,
        n_iter: int | None = 10,
        sampler: str | BaseSampler = "tpe",
        batch_size: int | None = None,
        n_startup_trials: int | None = None,
        scoring: Any = None,
        n_jobs: int | None = None,
        refit: bool | str | Any = True,
        cv: Any = None,
        verbose: int = 0,
        pre_dispatch: int | str = "2*n_jobs",
        random_state: Any = None,
        error_score: Any = np.nan,
        return_train_score: bool = False,
    ) -> None:
        super().__init__(
            estimator=estimator,
            scoring=scoring,
            n_jobs=n_jobs,
            refit=refit,
            cv=cv,
            verbose=verbose,
            pre_dispatch=pre_dispatch,
            error_score=error_score,
            return_train_score=return_train_score,
        )
        self.param_distributions = param_distributions
        self.n_iter = n_iter
        self.sampler = sampler
        self.batch_size = batch_size
        self.n_startup_trials = n_startup_trials
        self.random_state = random_state

    # ---------------------------------------------------------------- validation
    def _make_sampler(self) -> BaseSampler:
        for name in ("n_iter", "batch_size"):
            check_int(name, getattr(self, name), minimum=1, allow_none=True)
        check_int("n_startup_trials", self.n_startup_trials, minimum=0, allow_none=True)
        if self.n_startup_trials is not None and not (isinstance(self.sampler, str) and self.sampler == "tpe"):
            raise ValueError(
                f"n_startup_trials applies to sampler='tpe' only, got sampler={self.sampler!r}; a sampler "
                "object takes its own (TPESampler(n_startup_trials=...))"
            )
        if isinstance(self.sampler, BaseSampler):
            return copy.deepcopy(self.sampler)  # fit leaves its parameters as they were given
        if self.sampler not in _SAMPLERS:
            raise ValueError(
                f"sampler must be one of {list(_SAMPLERS)} or a parzen sampler, got sampler={self.sampler!r}"
            )
        seed = None if self.random_state is None else int(check_random_state(self.random_state).randint(2**31 - 1))
        if self.sampler == "random":
            # Every parameter a list: sampled without replacement, as RandomizedSearchCV does.
            if _all_lists(self.param_distributions):
                return GridSampler(shuffle=True, seed=seed)
            return RandomSampler(seed=seed)
        if self.sampler == "grid":
            return GridSampler(seed=seed)
        if self.n_startup_trials is not None:
            return TPESampler(seed=seed, n_startup_trials=self.n_startup_trials)
        default = TPESampler(seed=seed)
        if self.n_iter is None or self.n_iter // 3 >= default.n_startup_trials:
            return default
        return TPESampler(seed=seed, n_startup_trials=max(1, self.n_iter // 3))  # TPE proposes most of a small budget

    def _check_counts(self, sampler: BaseSampler, space: SearchSpace) -> tuple[BaseSampler, int | None]:
        """The sampler and the number of candidates to run (None: to the grid's end).

        A space of lists has a finite number of candidates: no more than
        that many run, as in ``RandomizedSearchCV``, and a TPE asked for all
        of them visits the grid (shuffled) instead, which proposes each once.
        """
        if self.n_iter is None and not isinstance(sampler, GridSampler):
            raise ValueError("n_iter=None (search to the end) needs sampler='grid'; give n_iter a number")
        if isinstance(sampler, GridSampler):
            size: int | None = len(sampler.grid(space))
        else:
            size = grid_size(space) if _all_lists(self.param_distributions) else None
        if size is None or self.n_iter is None:
            return sampler, self.n_iter
        if self.n_iter > size:
            warnings.warn(
                f"the space has {size} candidates, fewer than n_iter={self.n_iter}: running {size}",
                UserWarning,
                stacklevel=3,
            )
        elif self.n_iter < size and isinstance(sampler, GridSampler) and not sampler.shuffle:
            warnings.warn(
                f"a grid search with n_iter={self.n_iter} runs the first {self.n_iter} of the grid's {size} "
                "points, in order; n_iter=None runs them all, as GridSearchCV",
                UserWarning,
                stacklevel=3,
            )
        if self.n_iter >= size and isinstance(self.sampler, str) and self.sampler == "tpe":
            sampler = GridSampler(shuffle=True, seed=sampler.seed)
        return sampler, min(self.n_iter, size)

    def _score_key(self, results: Mapping[str, Any]) -> str:
        """The results' column that steers the search: the one metric, the
        metric ``refit`` names, or (``refit=False`` or a callable) the first."""
        if isinstance(self.refit, str) and f"mean_test_{self.refit}" in results:
            return f"mean_test_{self.refit}"  # before mean_test_score: a metric may be named "score"
        if "mean_test_score" in results:
            return "mean_test_score"
        return next(k for k in results if k.startswith("mean_test_"))

    # ---------------------------------------------------------------- search
    def _run_search(self, evaluate_candidates: Any, *, callback_ctx: Any = None) -> None:
        space = SearchSpace(from_sklearn(self.param_distributions))
        estimator_params = set(self.estimator.get_params(deep=True))
        sampler, budget = self._check_counts(self._make_sampler(), space)
        self.study_ = Study(space, sampler=sampler, direction="maximize")
        self.study_._log_failures = bool(self.verbose)  # verbose=0: FitFailedWarning alone, as GridSearchCV
        batch_size = self.batch_size or max(1, effective_n_jobs(self.n_jobs))
        # the cross-validator scikit-learn's fit checked (a generator of splits is read there)
        cv = _SplitOnce(getattr(self, "_checked_cv_orig", self.cv), is_classifier(self.estimator))
        # scikit-learn raises on a batch of which every fit failed and keeps
        # no row of it: _format_results puts those batches back in their places.
        self._failed_batches: list[tuple[int, list[dict[str, Any]], str]] = []
        n_evaluated, results, failure = 0, None, None
        try:
            while budget is None or budget > 0:
                trials = self._ask(batch_size if budget is None else min(batch_size, budget))
                if not trials:
                    break
                if budget is not None:
                    budget -= len(trials)
                params = [candidate_params(space, t, estimator_params) for t in trials]
                try:
                    results = evaluate_candidates(params, cv=cv)
                except ValueError as e:
                    if not self._wholly_failed(e):
                        self._fail(trials, e)
                        raise
                    self._score_failed_fits(trials, e)
                    # One bad batch must not end a search that others can carry on.
                    self._failed_batches.append((n_evaluated, params, str(e)))
                    warnings.warn(
                        f"every fit of the candidates {params} failed; their scores are set to "
                        f"error_score={self.error_score!r} and the search goes on.{e}",
                        FitFailedWarning,
                        stacklevel=2,
                    )
                    n_evaluated += len(trials)
                    failure = e
                    continue
                except BaseException as e:
                    self._fail(trials, e)
                    raise
                n_evaluated += len(trials)
                scores = np.asarray(results[self._score_key(results)])[-len(trials):]
                for trial, score in zip(trials, scores):
                    self.study_.tell(trial, float(score))
            if results is None and failure is not None:  # scikit-learn's message, counting every batch
                n_fits = n_evaluated * cv.get_n_splits()
                message = re.sub(r"All the \d+ fits failed\.", f"All the {n_fits} fits failed (the details are the "
                                 "last candidates').", str(failure), count=1)
                raise ValueError(message) from failure
            if self._failed_batches and self._failed_batches[-1][0] >= len(results["params"]):
                # Batches that failed after the last evaluated one: scikit-learn
                # reads its results from this very dict once the search returns.
                results.update(self._format_results(*self._evaluated))
        finally:
            self.study_._log_failures = True
            vars(self).pop("_failed_batches")
            vars(self).pop("_evaluated", None)

    def _wholly_failed(self, error: ValueError) -> bool:
        """Whether ``error`` is scikit-learn's report that every fit of a batch failed (the search
        goes on), not an error to raise: with ``error_score="raise"`` every fit's own error is raised,
        even one that says "fits failed" (an inner search's)."""
        if isinstance(self.error_score, str) and self.error_score == "raise":
            return False
        return re.match(r"\nAll the \d+ fits failed\.\n", str(error)) is not None

    def _format_results(
        self, candidate_params: list[dict[str, Any]], n_splits: int, out: list[dict[str, Any]], more_results: Any = None
    ) -> dict[str, Any]:
        """scikit-learn's results, with the candidates of wholly failed batches in their places."""
        self._evaluated = (candidate_params, n_splits, out, more_results)
        candidate_params, out = list(candidate_params), list(out)
        for position, params, error in self._failed_batches:
            candidate_params[position:position] = params
            out[position * n_splits:position * n_splits] = [
                self._failed_fit(out[split], error) for split in range(n_splits)
            ] * len(params)
        return super()._format_results(candidate_params, n_splits, out, more_results)

    def _failed_fit(self, template: Mapping[str, Any], error: str) -> dict[str, Any]:
        """A fit that failed, shaped as ``template`` (scikit-learn's record of a fit of the same split)."""

        def error_scores(scores: Any) -> Any:
            return {k: self.error_score for k in scores} if isinstance(scores, Mapping) else self.error_score

        failed = dict(template, fit_time=np.nan, score_time=np.nan, fit_error=error)
        failed["test_scores"] = error_scores(template["test_scores"])
        if "train_scores" in template:
            failed["train_scores"] = error_scores(template["train_scores"])
        return failed

    def _ask(self, n: int) -> list[Trial]:
        trials = []
        for _ in range(n):
            if self.study_.sampler.is_exhausted(self.study_.search_space, self.study_._history):
                break
            trials.append(self.study_.ask())
        return trials

    def _fail(self, trials: list[Trial], error: BaseException) -> None:
        for trial in trials:
            if trial.state is TrialState.RUNNING:
                self.study_.tell(trial, TrialState.FAIL, error=_reason(error))

    def _score_failed_fits(self, trials: list[Trial], error: ValueError) -> None:
        """Tell the study the candidates of a batch whose every fit failed as a batch's failed fits are
        told (their scores): a finite ``error_score`` as a value, any other as a diverged trial, which
        TPE ranks last (a failed fit's NaN score), with the batch's error as the reason."""
        score = float(self.error_score)
        for trial in trials:
            if math.isfinite(score):
                self.study_.tell(trial, score)
            else:
                self.study_._finish(trial, TrialState.FAIL, None, _reason(error), diverged=True)
