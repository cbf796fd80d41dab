"""TPESearchCV against scikit-learn's own search estimators."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import scipy.stats
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.datasets import load_iris
from sklearn.exceptions import FitFailedWarning
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import GridSearchCV, KFold, RandomizedSearchCV, ShuffleSplit, cross_validate
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from tpe_core import (
    Categorical,
    Float,
    GridSampler,
    Int,
    SearchSpace,
    SpaceError,
    TPESampler,
    TPESearchCV,
    TrialState,
    from_sklearn,
)
from tpe_core._samplers._grid import grid_size


@pytest.fixture(scope="module")
def iris():
    return load_iris(return_X_y=True)


def test_cv_results_match_randomized_search(iris) -> None:
    X, y = iris
    space = {"C": scipy.stats.loguniform(1e-2, 1e2), "kernel": ["linear", "rbf"]}
    ours = TPESearchCV(SVC(), space, n_iter=8, random_state=0, return_train_score=True).fit(X, y)
    theirs = RandomizedSearchCV(SVC(), space, n_iter=8, random_state=0, return_train_score=True).fit(X, y)
    assert sorted(ours.cv_results_) == sorted(theirs.cv_results_)
    for key, value in theirs.cv_results_.items():
        assert np.shape(ours.cv_results_[key]) == np.shape(value), key
    ranks = ours.cv_results_["rank_test_score"]
    assert ranks[ours.best_index_] == 1
    assert ours.best_score_ == ours.cv_results_["mean_test_score"][ours.best_index_]
    assert ours.best_estimator_.get_params()["C"] == ours.best_params_["C"]
    assert ours.n_splits_ == 5 and ours.refit_time_ > 0
    assert len(ours.study_.trials) == 8
    assert [t.value for t in ours.study_.trials] == list(ours.cv_results_["mean_test_score"])


def test_tpe_over_lists_tries_every_value_before_any_twice(iris) -> None:
    X, y = iris
    search = TPESearchCV(SVC(), {"C": [0.1, 0.5, 1.0, 2.0, 5.0]}, n_iter=5, cv=3, random_state=0).fit(X, y)
    assert sorted(search.cv_results_["param_C"]) == [0.1, 0.5, 1.0, 2.0, 5.0]


def test_random_search_over_lists_samples_without_replacement_as_randomized_search(iris) -> None:
    X, y = iris
    grid = {"C": [0.1, 1.0, 10.0], "kernel": ["linear", "rbf"]}
    ours = TPESearchCV(SVC(), grid, n_iter=6, cv=3, sampler="random", random_state=0).fit(X, y)
    assert len({str(p) for p in ours.cv_results_["params"]}) == 6
    with pytest.warns(UserWarning, match="the space has 6 candidates, fewer than n_iter=10: running 6"):
        ours = TPESearchCV(SVC(), grid, n_iter=10, cv=3, sampler="random", random_state=0).fit(X, y)
    with pytest.warns(UserWarning, match="The total space of parameters 6 is smaller than n_iter=10"):
        theirs = RandomizedSearchCV(SVC(), grid, n_iter=10, cv=3, random_state=0).fit(X, y)
    def candidates(search) -> list:
        return sorted(sorted(p.items()) for p in search.cv_results_["params"])

    assert candidates(ours) == candidates(theirs)
    for values in (np.array([0.1, 1.0, 10.0]), range(1, 4)):  # any list-like is a list of values
        ours = TPESearchCV(SVC(), {"C": values}, n_iter=3, cv=3, sampler="random", random_state=0).fit(X, y)
        assert sorted(ours.cv_results_["param_C"]) == list(values)


@pytest.mark.parametrize("sampler", ["random", "tpe"])
def test_a_discrete_scipy_distribution_of_given_values_keeps_to_them(iris, sampler) -> None:
    X, y = iris
    values = scipy.stats.rv_discrete(values=([0.1, 0.5, 1.0], [0.2, 0.3, 0.5]))
    ours = TPESearchCV(SVC(), {"C": values}, n_iter=12, cv=3, sampler=sampler, random_state=0).fit(X, y)
    assert set(ours.cv_results_["param_C"]) == {0.1, 0.5, 1.0}
    widths = scipy.stats.rv_discrete(values=([16, 32, 64], [1 / 3] * 3))
    ours = TPESearchCV(SVC(), {"cache_size": widths}, n_iter=12, cv=3, sampler=sampler, random_state=0).fit(X, y)
    assert set(ours.cv_results_["param_cache_size"]) <= {16, 32, 64}


@pytest.mark.parametrize("cv", [KFold(3, shuffle=True), ShuffleSplit(3, test_size=0.3)], ids=repr)
def test_every_batch_is_scored_on_the_same_folds(iris, cv) -> None:
    X, y = iris

    def test_fold_id(estimator, X_test, y_test) -> float:
        return float(X_test[:, 0].sum())  # names the fold the candidate was scored on

    ours = TPESearchCV(SVC(), {"C": [0.1, 1.0, 10.0, 100.0]}, sampler="grid", n_iter=4, batch_size=1, cv=cv,
                       scoring=test_fold_id).fit(X, y)
    for split in range(3):
        assert len(set(ours.cv_results_[f"split{split}_test_score"])) == 1


def test_a_sampler_object_is_copied_by_fit_and_n_startup_trials_is_for_tpe(iris) -> None:
    import pickle

    X, y = iris
    sampler = TPESampler(seed=1, n_startup_trials=2)
    before = pickle.dumps(sampler)
    search = TPESearchCV(SVC(), {"C": Float(1e-2, 1e2, log=True)}, n_iter=4, sampler=sampler, cv=2).fit(X, y)
    assert search.study_.sampler is not sampler and pickle.dumps(sampler) == before
    again = TPESearchCV(SVC(), {"C": Float(1e-2, 1e2, log=True)}, n_iter=4, sampler=sampler, cv=2).fit(X, y)
    assert list(again.cv_results_["param_C"]) == list(search.cv_results_["param_C"])  # a fresh copy each fit
    for kwargs in ({"sampler": "random"}, {"sampler": sampler}):
        with pytest.raises(ValueError, match="n_startup_trials applies to sampler='tpe' only"):
            TPESearchCV(SVC(), {"C": [1.0, 2.0]}, n_iter=2, n_startup_trials=3, **kwargs).fit(X, y)
    with pytest.raises(ValueError, match="n_startup_trials must be .*an integer >= 0, got n_startup_trials=-1"):
        TPESearchCV(SVC(), {"C": [1.0, 2.0]}, n_iter=2, n_startup_trials=-1).fit(X, y)


def test_the_space_is_not_mutated_and_clone_round_trips(iris) -> None:
    X, y = iris
    space = {"C": Float(1e-2, 1e2, log=True), "kernel": ["linear", "rbf"]}
    before = copy.deepcopy(space)
    search = TPESearchCV(SVC(), space, n_iter=3, random_state=0)
    assert clone(search).get_params()["param_distributions"] == before
    search.fit(X, y)
    assert space == before and search.param_distributions is space


def test_pipeline_parameter_names(iris) -> None:
    X, y = iris
    pipe = Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression(max_iter=500))])
    search = TPESearchCV(pipe, {"clf__C": Float(1e-3, 1e2, log=True)}, n_iter=6, random_state=0).fit(X, y)
    assert set(search.best_params_) == {"clf__C"}
    assert search.predict(X).shape == (150,) and search.predict_proba(X).shape == (150, 3)
    assert search.score(X, y) > 0.9


def test_conditional_spaces(iris) -> None:
    X, y = iris
    grids = [{"kernel": ["linear"], "C": [0.1, 1.0]}, {"kernel": ["rbf"], "gamma": Float(1e-3, 1.0, log=True)}]
    search = TPESearchCV(SVC(), grids, n_iter=8, random_state=0).fit(X, y)
    for params in search.cv_results_["params"]:
        assert set(params) in ({"kernel", "C"}, {"kernel", "gamma"})
        assert ("gamma" in params) == (params["kernel"] == "rbf")
    nested = {
        "C": Float(0.1, 10.0, log=True),
        "model": Categorical([{"kernel": "linear"}, {"kernel": "rbf", "gamma": Float(1e-3, 1.0, log=True)}]),
    }
    search = TPESearchCV(SVC(), nested, n_iter=6, random_state=1).fit(X, y)
    assert all("model" not in p and "kernel" in p for p in search.cv_results_["params"])


def test_grid_sampler_runs_the_whole_grid(iris) -> None:
    X, y = iris
    grid = {"C": [0.1, 1.0, 10.0], "kernel": ["linear", "rbf"]}
    ours = TPESearchCV(SVC(), grid, sampler="grid", n_iter=None).fit(X, y)
    theirs = GridSearchCV(SVC(), grid).fit(X, y)
    key = lambda p: tuple(sorted(p.items()))  # noqa: E731
    assert sorted(map(key, ours.cv_results_["params"])) == sorted(map(key, theirs.cv_results_["params"]))
    assert ours.best_score_ == theirs.best_score_
    by_object = TPESearchCV(SVC(), grid, sampler=GridSampler(), n_iter=None).fit(X, y)
    assert isinstance(by_object.study_.sampler, GridSampler) and len(by_object.study_.trials) == 6


def test_multimetric_refit_steers_the_search(iris) -> None:
    X, y = iris
    search = TPESearchCV(
        LogisticRegression(max_iter=500), {"C": Float(1e-3, 1e2, log=True)},
        scoring=["accuracy", "f1_macro"], refit="f1_macro", n_iter=4, random_state=0,
    ).fit(X, y)
    assert [t.value for t in search.study_.trials] == list(search.cv_results_["mean_test_f1_macro"])


@pytest.mark.parametrize("scoring", [["accuracy", "f1_macro"], {"accuracy": "accuracy", "f1_macro": "f1_macro"}])
@pytest.mark.parametrize("refit", [False, "callable"])
def test_multimetric_without_a_named_refit_is_steered_by_the_first_metric(iris, scoring, refit) -> None:
    X, y = iris
    refit = (lambda results: int(np.argmax(results["mean_test_f1_macro"]))) if refit == "callable" else refit
    ours = TPESearchCV(LogisticRegression(max_iter=500), {"C": Float(1e-3, 1e2, log=True)}, scoring=scoring,
                       refit=refit, n_iter=4, random_state=0).fit(X, y)
    assert [t.value for t in ours.study_.trials] == list(ours.cv_results_["mean_test_accuracy"])
    assert hasattr(ours, "best_estimator_") == (refit is not False)


def test_a_chosen_dict_of_parameters_is_merged_in_under_any_key_that_names_them(iris) -> None:
    X, y = iris
    constants = {"cfg": Categorical([{"kernel": "linear", "C": 0.5}, {"kernel": "rbf", "C": 2.0}])}
    search = TPESearchCV(SVC(), constants, n_iter=2, cv=2, random_state=0, error_score="raise").fit(X, y)
    assert sorted(map(sorted, (p.items() for p in search.cv_results_["params"]))) == [
        [("C", 0.5), ("kernel", "linear")], [("C", 2.0), ("kernel", "rbf")]
    ]
    # under a key that is itself a parameter, options that name parameters (as make_objective takes them)
    scaled = Pipeline([("scale", StandardScaler()), ("svc", SVC())])
    rbf = {"svc__kernel": "rbf", "svc__gamma": Float(0.01, 1)}
    named = {"svc__kernel": Categorical([{"svc__kernel": "linear"}, rbf])}
    search = TPESearchCV(scaled, named, n_iter=4, cv=2, random_state=0, error_score="raise").fit(X, y)
    for params in search.cv_results_["params"]:
        assert ("svc__gamma" in params) == (params["svc__kernel"] == "rbf") and isinstance(params["svc__kernel"], str)


def test_a_short_grid_search_warns_and_a_dict_valued_option_is_a_value(iris) -> None:
    X, y = iris
    grid = {"C": [0.1, 1.0, 10.0], "kernel": ["linear", "rbf"]}
    with pytest.warns(UserWarning, match="runs the first 4 of the grid's 6 points, in order; n_iter=None"):
        TPESearchCV(SVC(), grid, n_iter=4, cv=3, sampler="grid").fit(X, y)
    space = {"class_weight": Categorical([None, {0: Float(1.0, 5.0), 1: 1.0, 2: 1.0}])}
    ours = TPESearchCV(LogisticRegression(max_iter=500), space, n_iter=6, cv=3, random_state=1).fit(X, y)
    weights = [p["class_weight"] for p in ours.cv_results_["params"] if p["class_weight"] is not None]
    assert weights and all(sorted(w) == [0, 1, 2] and 1.0 <= w[0] <= 5.0 for w in weights)
    # class names as keys: still the value of the estimator's class_weight, not parameters to spread
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    space = {"class_weight": Categorical([None, {"setosa": Float(1.0, 5.0), "versicolor": 1.0, "virginica": 1.0}])}
    ours = TPESearchCV(LogisticRegression(max_iter=500), space, n_iter=6, cv=3, random_state=1).fit(X, names)
    weights = [p["class_weight"] for p in ours.cv_results_["params"] if p["class_weight"] is not None]
    assert weights and all(set(w) == set(names) and 1.0 <= w["setosa"] <= 5.0 for w in weights)
    assert all(set(p) == {"class_weight"} for p in ours.cv_results_["params"])


@pytest.mark.filterwarnings("ignore:One or more of the test scores are non-finite")  # the failed row
@pytest.mark.parametrize("verbose", [0, 1])
def test_failed_fits_are_logged_only_when_verbose(iris, caplog, verbose) -> None:
    X, y = iris
    with pytest.warns(FitFailedWarning):
        search = TPESearchCV(_FailsForLargeC(max_iter=500), {"C": [0.5, 5.0]}, n_iter=2, cv=3, sampler="grid",
                             verbose=verbose).fit(X, y)
    logged = [r for r in caplog.records if r.name == "tpe_core" and r.levelname == "WARNING"]
    assert len(logged) == verbose and search.study_._log_failures


class _FailsForLargeC(LogisticRegression):
    def fit(self, X, y, sample_weight=None):
        if self.C > 1.0:
            raise ValueError("C too large for this test")
        return super().fit(X, y, sample_weight)


@pytest.mark.filterwarnings("ignore:One or more of the (test|train) scores are non-finite")  # the failed rows
def test_failing_candidates_do_not_end_the_search(iris) -> None:
    X, y = iris
    space = {"C": Float(1e-2, 1e2, log=True)}
    with pytest.warns(FitFailedWarning, match=r"every fit of the candidates \[\{'C': "):
        search = TPESearchCV(_FailsForLargeC(max_iter=500), space, n_iter=10, batch_size=1, random_state=0).fit(X, y)
    failed = [t for t in search.study_.trials if t.state is TrialState.FAIL]
    assert failed and len(search.study_.trials) == 10
    assert len(search.cv_results_["params"]) == 10
    assert all(t.params["C"] > 1.0 for t in failed)
    assert all(t.error.startswith("ValueError: All the 5 fits failed") for t in failed)
    assert search.best_params_["C"] <= 1.0
    with pytest.raises(ValueError, match="C too large"):
        TPESearchCV(_FailsForLargeC(), {"C": [5.0]}, n_iter=1, error_score="raise").fit(X, y)


class _FailsForLargeA(ClassifierMixin, BaseEstimator):
    """Predicts the first class; its fit fails for a > 0.5 (half the prior of a uniform(0, 1))."""

    def __init__(self, a: float = 0.0) -> None:
        self.a = a

    def fit(self, X, y):
        if self.a > 0.5:
            raise ValueError("a too large for this test")
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.FitFailedWarning")
@pytest.mark.filterwarnings("ignore:One or more of the (test|train) scores are non-finite")
@pytest.mark.parametrize("error_score", [0.0, np.nan])
def test_tpe_learns_a_failed_candidate_s_score_whether_or_not_its_batch_fitted(iris, error_score) -> None:
    # A candidate alone in its batch (batch_size=1, the default at n_jobs=None) was told FAIL and left out
    # by TPE, which then proposed the failing half in 18 of 20 asks; one beside a fitted candidate was told
    # error_score.
    X, y = iris
    failing = {}
    for batch_size in (1, 4):
        search = TPESearchCV(_FailsForLargeA(), {"a": scipy.stats.uniform(0, 1)}, n_iter=24, cv=3, random_state=0,
                             n_startup_trials=4, error_score=error_score, batch_size=batch_size).fit(X, y)
        failed = [t for t in search.study_.trials if t.params["a"] > 0.5]
        if np.isnan(error_score):
            assert all(t.state is TrialState.FAIL for t in failed)
        else:
            assert all(t.state is TrialState.COMPLETE and t.value == error_score for t in failed)
        failing[batch_size] = sum(t.params["a"] > 0.5 for t in search.study_.trials[4:])
    assert max(failing.values()) <= 6, failing  # of 20 proposals by TPE


def test_tpe_proposes_most_of_a_small_budget_by_default(iris) -> None:
    # With n_iter=10 (RandomizedSearchCV's default) and TPE's 10 startup trials, the search was random.
    X, y = iris
    space = {"C": scipy.stats.loguniform(1e-2, 1e2)}
    search = TPESearchCV(SVC(), space, cv=3, random_state=0).fit(X, y)
    assert search.study_.sampler.n_startup_trials == 3
    random = TPESearchCV(SVC(), space, cv=3, random_state=0, sampler="random").fit(X, y)
    assert list(search.cv_results_["param_C"]) != list(random.cv_results_["param_C"])
    sizes = {n_iter: TPESearchCV(SVC(), space, n_iter=n_iter)._make_sampler().n_startup_trials
             for n_iter in (1, 5, 29, 30, 100)}
    assert sizes == {1: 1, 5: 1, 29: 9, 30: 10, 100: 10}
    given = TPESearchCV(SVC(), space, n_iter=10, n_startup_trials=7)._make_sampler()
    assert given.n_startup_trials == 7


def test_error_score_raise_raises_a_candidate_s_own_error_even_if_it_says_fits_failed(iris) -> None:
    X, y = iris
    inner = GridSearchCV(SVC(), {"kernel": ["rbf"]}, cv=2)  # fails with "All the 2 fits failed" for C < 0
    search = TPESearchCV(inner, {"estimator__C": [-1.0]}, n_iter=1, cv=2, error_score="raise")
    with pytest.raises(ValueError, match=r"(?s)All the 2 fits failed.*The 'C' parameter of SVC must be"):  # inner
        search.fit(X, y)
    assert [t.state for t in search.study_.trials] == [TrialState.FAIL]


@pytest.mark.filterwarnings("ignore:One or more of the (test|train) scores are non-finite")
def test_when_every_candidate_fails_the_error_counts_every_fit(iris) -> None:
    X, y = iris
    with pytest.warns(FitFailedWarning), pytest.raises(ValueError, match=r"All the 9 fits failed \(the details"):
        TPESearchCV(_FailsForLargeC(), {"C": [2.0, 3.0, 4.0]}, n_iter=3, cv=3, batch_size=1, sampler="grid").fit(X, y)


@pytest.mark.parametrize(
    ("grid", "n_iter", "size"), [({"C": [0.1, 1.0]}, 6, 2), ({"C": [0.1, 1.0, 10.0]}, 3, 3), ({}, 4, 1)]
)
def test_tpe_over_a_space_of_lists_runs_each_candidate_once_and_no_more(iris, grid, n_iter, size) -> None:
    X, y = iris
    search = TPESearchCV(LogisticRegression(max_iter=300), grid, n_iter=n_iter, cv=3, random_state=0)
    if n_iter > size:
        with pytest.warns(UserWarning, match=f"the space has {size} candidates, fewer than n_iter={n_iter}"):
            search.fit(X, y)
    else:
        search.fit(X, y)
    params = search.cv_results_["params"]
    assert len(params) == size and len({repr(p) for p in params}) == size
    fewer = TPESearchCV(LogisticRegression(max_iter=300), {"C": [0.1, 1.0, 10.0]}, n_iter=2, cv=3).fit(X, y)
    assert isinstance(fewer.study_.sampler, TPESampler)  # TPE proposes when it chooses among the candidates


def test_tpe_over_a_huge_space_of_lists_counts_its_candidates_without_making_them() -> None:
    grid = {"C": [0.5, 1.0], **{f"p{i}": list(range(1, 11)) for i in range(9)}}  # 2e9 candidates
    search = TPESearchCV(LogisticRegression(), grid, n_iter=2)
    space = SearchSpace(from_sklearn(grid))
    assert grid_size(space) == 2 * 10**9  # the grid itself is refused as too large to make
    sampler, budget = search._check_counts(TPESampler(seed=0), space)
    assert isinstance(sampler, TPESampler) and budget == 2

def test_a_metric_named_score_does_not_steer_a_search_whose_refit_names_another(iris) -> None:
    X, y = iris
    search = TPESearchCV(LogisticRegression(max_iter=300), {"C": [0.001, 0.01, 0.1, 1.0, 10.0]}, n_iter=3, cv=3,
                         random_state=0, scoring={"score": "neg_log_loss", "acc": "accuracy"}, refit="acc").fit(X, y)
    np.testing.assert_allclose([t.value for t in search.study_.trials], search.cv_results_["mean_test_acc"])


def test_an_unbounded_scipy_distribution_under_tpe_is_refused_before_any_fit(iris) -> None:
    X, y = iris
    search = TPESearchCV(LogisticRegression(max_iter=300), {"C": scipy.stats.expon(scale=1)}, n_iter=15, cv=3)
    with pytest.raises(SpaceError, match="support"):
        search.fit(X, y)
    assert not hasattr(search, "study_")  # refused when the study was made, before any fit

@pytest.mark.filterwarnings("ignore:One or more of the (test|train) scores are non-finite")  # the failed rows
@pytest.mark.parametrize("batch_size", [1, 2, 3, 5])
def test_failed_candidates_keep_their_rows_as_in_grid_search(iris, batch_size) -> None:
    # C=3 and C=5 come last, so a whole batch fails after the last good one.
    X, y = iris
    grid = {"C": [0.1, 2.0, 0.5, 3.0, 5.0]}
    with pytest.warns(FitFailedWarning):
        ours = TPESearchCV(
            _FailsForLargeC(max_iter=500), grid, n_iter=None, sampler="grid", batch_size=batch_size,
            return_train_score=True, random_state=0,
        ).fit(X, y)
    with pytest.warns(FitFailedWarning):
        theirs = GridSearchCV(_FailsForLargeC(max_iter=500), grid, return_train_score=True).fit(X, y)

    def rows(search) -> dict[float, tuple[float, ...]]:
        r = search.cv_results_
        keys = ("mean_test_score", "split4_test_score", "mean_train_score", "rank_test_score")
        return {p["C"]: tuple(float(r[k][i]) for k in keys) for i, p in enumerate(r["params"])}

    np.testing.assert_equal(rows(ours), rows(theirs))
    assert list(ours.cv_results_["param_C"]) == [p["C"] for p in ours.cv_results_["params"]]
    assert ours.best_params_ == theirs.best_params_ == {"C": 0.5}
    assert ours.cv_results_["params"][ours.best_index_] == {"C": 0.5}
    # Only a candidate of a batch whose every fit failed has no fit times.
    assert np.isnan(ours.cv_results_["mean_fit_time"]).sum() == {1: 3, 2: 1, 3: 2, 5: 0}[batch_size]
    assert not hasattr(ours, "_failed_batches") and not hasattr(ours, "_evaluated")


def test_parallel_batches_and_nested_cross_validation(iris) -> None:
    X, y = iris
    search = TPESearchCV(SVC(), {"C": Float(1e-2, 1e2, log=True)}, n_iter=6, n_jobs=2, random_state=0)
    out = cross_validate(search, X, y, cv=3, return_estimator=True)
    studies = [est.study_ for est in out["estimator"]]
    assert len({id(s) for s in studies}) == 3  # a fresh study per outer fold
    assert all(len(s.trials) == 6 for s in studies)


def test_skorch_estimator_in_a_pipeline(iris) -> None:
    from models import MLPClassifier

    X, y = iris
    pipe = Pipeline([("scale", StandardScaler()), ("net", MLPClassifier(max_epochs=3, random_state=0))])
    space = {"net__lr": Float(1e-3, 1e-1, log=True), "net__n_layers": Int(1, 2)}
    search = TPESearchCV(pipe, space, n_iter=3, cv=2, random_state=0).fit(X, y)
    assert set(search.best_params_) == {"net__lr", "net__n_layers"}
    assert isinstance(search.best_params_["net__n_layers"], int)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"sampler": "bayes"}, "sampler"),
        ({"n_iter": 0}, "n_iter"),
        ({"n_iter": None}, "sampler='grid'"),
        ({"batch_size": -2}, "batch_size"),
    ],
)
def test_invalid_arguments_are_reported_at_fit(iris, kwargs: dict, fragment: str) -> None:
    X, y = iris
    search = TPESearchCV(SVC(), {"C": [1.0, 2.0]}, **kwargs)  # constructing never fails
    with pytest.raises(ValueError, match=fragment):
        search.fit(X, y)


@pytest.mark.parametrize("make_estimator", [LogisticRegression, Ridge], ids=["classifier", "regressor"])
def test_passes_the_estimator_checks_that_grid_search_passes(make_estimator) -> None:
    """scikit-learn's own checks, run as for GridSearchCV: the same ones pass.

    (GridSearchCV itself fails check_supervised_y_2d with Ridge, which takes
    2-d targets without the warning the check expects.)
    """
    import logging
    import warnings

    from sklearn.utils.estimator_checks import check_estimator

    def failures(search) -> set[str]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            results = check_estimator(search, on_fail=None)
        return {r["check_name"] for r in results if r["status"] == "failed"}

    space = {"alpha": [0.1, 1.0]} if make_estimator is Ridge else {"C": [0.1, 1.0]}
    logger = logging.getLogger("tpe_core")
    level = logger.level
    logger.setLevel(logging.ERROR)  # the checks fit on deliberately bad data
    try:
        ours = failures(TPESearchCV(make_estimator(), space, n_iter=2, cv=2))
    finally:
        logger.setLevel(level)
    assert ours <= failures(GridSearchCV(make_estimator(), space, cv=2))
