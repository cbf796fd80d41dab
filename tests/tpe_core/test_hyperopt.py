"""Tests of the hyperopt-compatible layer: ``fmin``, ``Trials``,
``space_eval``, ``rand.suggest`` and the ``hp`` constructors."""

from __future__ import annotations

import contextlib
import functools
import math
import pickle
import re
from unittest import mock

import numpy as np
import pytest

from tpe_core import (
    JOB_STATE_DONE,
    STATUS_FAIL,
    STATUS_OK,
    AllTrialsFailed,
    Int,
    RandomSampler,
    Study,
    Trials,
    TrialState,
    fmin,
    hp,
    rand,
    scope,
    space_eval,
    tpe,
)
from tpe_core.early_stop import no_progress_loss

MAX_EVALS = 30
LABELS = ("model", "C", "kernel", "depth", "n_estimators")
BRANCH_LABELS = {0: {"C", "kernel"}, 1: {"depth", "n_estimators"}}


def make_space():
    """A nested hp.choice of dict branches (labels: see LABELS)."""
    return hp.choice(
        "model",
        [
            {"type": "svm", "C": hp.loguniform("C", -3, 3), "kernel": hp.choice("kernel", ["rbf", "linear"])},
            {
                "type": "tree",
                "depth": hp.uniformint("depth", 1, 8),
                "n_estimators": hp.quniform("n_estimators", 10, 100, 10),
            },
        ],
    )


def loss_of(config) -> float:
    """A loss computed from the configuration alone."""
    if config["type"] == "svm":
        return abs(math.log(config["C"])) + (0.0 if config["kernel"] == "rbf" else 0.5)
    return config["depth"] / 8 + config["n_estimators"] / 1000


def dict_objective(config):
    return {"loss": loss_of(config), "status": STATUS_OK, "extra": {"type": config["type"]}}


def run_fmin(fn, space=None, *, max_evals=MAX_EVALS, seed=0, trials=None, **kwargs):
    trials = Trials() if trials is None else trials
    best = fmin(
        fn,
        make_space() if space is None else space,
        algo=kwargs.pop("algo", rand.suggest),
        max_evals=max_evals,
        trials=trials,
        rstate=np.random.default_rng(seed),
        show_progressbar=False,
        **kwargs,
    )
    return best, trials


def ok_losses(trials: Trials) -> list[float]:
    return [loss for loss in trials.losses() if loss is not None]


# ---------------------------------------------------------------- fmin over a nested space
@pytest.mark.parametrize("fn", [loss_of, dict_objective], ids=["float", "dict"])
class TestFminNested:
    def test_best_and_space_eval(self, fn):
        space = make_space()
        best, trials = run_fmin(fn, space)

        assert best["model"] in (0, 1)
        assert set(best) == {"model"} | BRANCH_LABELS[best["model"]]
        config = space_eval(space, best)
        if best["model"] == 0:
            assert best["kernel"] in (0, 1)  # an index, not the option
            assert config == {"type": "svm", "C": best["C"], "kernel": ["rbf", "linear"][best["kernel"]]}
        else:
            assert config == {"type": "tree", "depth": best["depth"], "n_estimators": best["n_estimators"]}
        # the configuration of the best point gives the best loss
        assert loss_of(config) == trials.best_trial["result"]["loss"]

    def test_best_trial_has_lowest_loss(self, fn):
        best, trials = run_fmin(fn)
        losses = ok_losses(trials)
        assert len(losses) == MAX_EVALS
        assert trials.best_trial["result"]["loss"] == min(losses)
        assert trials.best_trial["tid"] == trials.losses().index(min(losses))
        assert trials.argmin == best

    def test_record_counts(self, fn):
        _, trials = run_fmin(fn)
        assert len(trials) == MAX_EVALS
        assert len(trials.results) == MAX_EVALS
        assert len(trials.trials) == MAX_EVALS
        assert trials.statuses() == [STATUS_OK] * MAX_EVALS
        assert [t["tid"] for t in trials.trials] == list(range(MAX_EVALS))
        assert [list(t) for t in trials] == [list(t) for t in trials.trials]

    def test_misc_vals(self, fn):
        _, trials = run_fmin(fn)
        branches = set()
        for record in trials.trials:
            vals = record["misc"]["vals"]
            assert set(vals) == set(LABELS)
            assert len(vals["model"]) == 1
            branch = vals["model"][0]
            branches.add(branch)
            for label in LABELS[1:]:
                expected = 1 if label in BRANCH_LABELS[branch] else 0
                assert len(vals[label]) == expected, (label, vals)
            if branch == 0:
                assert vals["kernel"][0] in (0, 1)
                assert math.exp(-3) <= vals["C"][0] <= math.exp(3)
            # each record's values rebuild the configuration that gave its loss
            config = space_eval(make_space(), {k: v[0] for k, v in vals.items() if v})
            assert loss_of(config) == record["result"]["loss"]
        assert branches == {0, 1}

    def test_continue_search(self, fn):
        _, trials = run_fmin(fn)
        first = [t["misc"]["vals"] for t in trials.trials]
        best = fmin(fn, make_space(), algo=rand.suggest, max_evals=40, trials=trials, show_progressbar=False)
        assert len(trials) == 40
        assert len(trials.results) == 40
        # the first 30 trials are kept as they were
        assert [t["misc"]["vals"] for t in trials.trials[:MAX_EVALS]] == first
        assert trials.best_trial["result"]["loss"] == min(ok_losses(trials))
        assert best == trials.argmin
        # max_evals already reached: nothing more runs
        fmin(fn, make_space(), algo=rand.suggest, max_evals=35, trials=trials, show_progressbar=False)
        assert len(trials) == 40

    def test_same_seed_same_search(self, fn):
        best_a, trials_a = run_fmin(fn, seed=7)
        best_b, trials_b = run_fmin(fn, seed=7)
        _, trials_c = run_fmin(fn, seed=8)
        assert best_a == best_b
        assert trials_a.losses() == trials_b.losses()
        assert trials_a.losses() != trials_c.losses()


def test_dict_result_extra_entries_are_kept():
    _, trials = run_fmin(dict_objective)
    for record, result in zip(trials.trials, trials.results):
        branch = record["misc"]["vals"]["model"][0]
        assert result["extra"] == {"type": ["svm", "tree"][branch]}
        assert record["result"] is not None
        assert record["result"]["extra"] == result["extra"]


def test_trials_study_and_states():
    _, trials = run_fmin(loss_of)
    assert isinstance(trials.study, Study)
    assert all(t.state is TrialState.COMPLETE for t in trials.study.trials)
    assert all(record["state"] == 2 for record in trials.trials)  # hyperopt's JOB_STATE_DONE


def test_empty_trials():
    trials = Trials()
    assert len(trials) == 0
    assert trials.trials == [] and trials.results == [] and trials.losses() == []
    with pytest.raises(AllTrialsFailed):
        trials.best_trial


def test_continue_with_other_space_is_rejected():
    _, trials = run_fmin(loss_of, max_evals=3)
    with pytest.raises(ValueError, match="different space"):
        fmin(lambda x: x, hp.uniform("x", 0, 1), max_evals=5, trials=trials, show_progressbar=False)
    assert len(trials) == 3


def test_continue_with_a_changed_space_of_the_same_labels_is_rejected():
    trials = Trials()
    fmin(lambda x: x, hp.uniform("u", 0, 1), max_evals=5, trials=trials, show_progressbar=False)
    with pytest.raises(ValueError, match=r"'u' was Float\(low=0.0, high=1.0.*is Float\(low=5.0, high=6.0"):
        fmin(lambda x: x, hp.uniform("u", 5, 6), max_evals=8, trials=trials, show_progressbar=False)
    with pytest.raises(ValueError, match="'u' is no longer in the space; 'v' is new"):
        fmin(lambda x: x, hp.uniform("v", 0, 1), max_evals=8, trials=trials, show_progressbar=False)
    assert len(trials) == 5
    fmin(lambda x: x, hp.uniform("u", 0, 1), max_evals=8, trials=trials, show_progressbar=False)  # the same space
    assert len(trials) == 8


def test_a_pickled_search_over_objects_and_arrays_continues():
    from sklearn.svm import SVC

    def space():  # built again, as a script that resumes its search does
        return {"clf": hp.choice("clf", [SVC(), "none"]), "w": hp.choice("w", [np.array([1, 2]), np.array([3, 4])])}

    trials = Trials()
    fmin(lambda c: float(c["w"].sum()), space(), max_evals=3, trials=trials, show_progressbar=False)
    trials = pickle.loads(pickle.dumps(trials))
    fmin(lambda c: float(c["w"].sum()), space(), max_evals=6, trials=trials, show_progressbar=False)
    assert len(trials) == 6
    with pytest.raises(ValueError, match="different space"):
        fmin(lambda c: 0.0, {**space(), "clf": hp.choice("clf", [SVC(C=2.0), "none"])}, max_evals=7,
             trials=trials, show_progressbar=False)


def test_a_search_whose_space_holds_a_lambda_continues_when_the_space_is_built_again():
    def space(constant=None):
        return {"f": (lambda z: z) if constant is None else constant, "x": hp.uniform("x", 0, 1)}

    trials = Trials()
    fmin(lambda c: c["x"], space(), max_evals=2, trials=trials, show_progressbar=False)
    fmin(lambda c: c["x"], space(), max_evals=4, trials=trials, show_progressbar=False)  # a new lambda
    assert len(trials) == 4
    with pytest.raises(ValueError, match=r"the constant space\['f'\] was <function"):
        fmin(lambda c: c["x"], space(3), max_evals=5, trials=trials, show_progressbar=False)


@pytest.mark.parametrize(
    ("kwargs", "shown"),
    [({}, True), ({"verbose": False}, False), ({"verbose": False, "show_progressbar": True}, True),
     ({"show_progressbar": False}, False)],
    ids=repr,
)
def test_verbose_is_the_default_of_the_progress_bar(kwargs, shown):
    trials = Trials()
    with mock.patch.object(Study, "optimize", autospec=True) as optimize:
        fmin(lambda x: x, hp.uniform("x", 0, 1), max_evals=2, trials=trials, return_argmin=False, **kwargs)
    assert optimize.call_args.kwargs["show_progress"] is shown


def test_points_to_evaluate_come_first_with_choice_indices():
    points = [{"model": 1, "depth": 3, "n_estimators": 20.0}, {"model": 0, "C": 1.0, "kernel": 1}]
    best, trials = run_fmin(loss_of, max_evals=6, points_to_evaluate=points, algo=tpe.suggest)
    assert len(trials) == 6
    first = [{k: v[0] for k, v in misc["vals"].items() if v} for misc in trials.miscs[:2]]
    assert first == points
    assert space_eval(make_space(), first[1]) == {"type": "svm", "C": 1.0, "kernel": "linear"}
    assert [t.source for t in trials.study.trials[:2]] == ["manual", "manual"]


def test_points_to_evaluate_all_run_even_beyond_max_evals():
    points = [{"x": 0.1}, {"x": 0.2}, {"x": 0.3}]
    _, trials = run_fmin(lambda x: x, hp.uniform("x", 0, 1), max_evals=2, points_to_evaluate=points)
    assert trials.vals["x"] == [0.1, 0.2, 0.3]


@pytest.mark.parametrize(
    ("points", "error", "fragment"),
    [
        ([{"kernel": 2, "model": 0}], ValueError, r"points_to_evaluate\[0\].*branch index must be .* in \[0, 1\]"),
        ([{"C": 1.0}, {"Cee": 1.0}], ValueError, r"points_to_evaluate\[1\].*unknown parameter 'Cee'"),
        ([3.0], TypeError, "must be a dict"),
        ({"C": 1.0}, TypeError, "must be a list of dicts"),
    ],
    ids=["bad-index", "unknown-label", "not-a-dict", "a-dict"],
)
def test_bad_points_to_evaluate_are_clear_errors_and_queue_nothing(points, error, fragment):
    trials = Trials()
    with pytest.raises(error, match=fragment):
        run_fmin(loss_of, trials=trials, points_to_evaluate=points)
    assert len(trials) == 0
    run_fmin(loss_of, trials=trials, max_evals=3)
    assert all(t.source != "manual" for t in trials.study.trials)


def test_points_to_evaluate_when_continuing_a_search_are_refused():
    _, trials = run_fmin(loss_of, max_evals=3)
    with pytest.raises(ValueError, match="already hold 3"):
        run_fmin(loss_of, trials=trials, max_evals=5, points_to_evaluate=[{"model": 0, "C": 1.0, "kernel": 0}])
    assert len(trials) == 3


def test_early_stop_fn_gets_the_trials_and_its_own_args():
    calls = []

    def early_stop(trials, *args):
        calls.append((len(trials), args))
        count = args[0] + 1 if args else 1
        return count >= 4, [count]

    _, trials = run_fmin(loss_of, max_evals=MAX_EVALS, early_stop_fn=early_stop)
    assert len(trials) == 4
    assert calls == [(1, ()), (2, (1,)), (3, (2,)), (4, (3,))]


def test_trials_tids_miscs_and_vals_as_hyperopt_has_them():
    _, trials = run_fmin(loss_of, max_evals=12)
    assert trials.tids == [r["tid"] for r in trials.trials] == list(range(12))
    assert trials.miscs == [r["misc"] for r in trials.trials]
    vals, idxs = trials.vals, trials.idxs
    assert set(vals) == set(LABELS) and len(vals["model"]) == 12
    for label in LABELS:
        active = [r for r in trials.trials if r["misc"]["vals"][label]]
        assert vals[label] == [r["misc"]["vals"][label][0] for r in active]
        assert idxs[label] == [r["tid"] for r in active]
    assert len(vals["C"]) + len(vals["depth"]) == 12
    assert Trials().tids == [] and Trials().vals == {} and Trials().miscs == []


def test_return_argmin_false_returns_the_best_point_itself():
    space = make_space()
    best, trials = run_fmin(loss_of, space, max_evals=6, return_argmin=False)
    assert len(trials) == 6
    assert best == space_eval(space, trials.argmin) and isinstance(best, dict)
    assert fmin(loss_of, space, max_evals=0, trials=Trials(), return_argmin=False, show_progressbar=False) is None


def test_space_eval_fills_chosen_branch_only():
    space = make_space()
    assignment = {"model": 1, "depth": 3, "n_estimators": 50.0, "C": 2.0, "kernel": 1}
    assert space_eval(space, assignment) == {"type": "tree", "depth": 3, "n_estimators": 50.0}
    assert space_eval(space, {"model": 0, "C": 2.0, "kernel": 1}) == {"type": "svm", "C": 2.0, "kernel": "linear"}


def test_space_eval_missing_label():
    with pytest.raises(ValueError, match="'kernel'"):
        space_eval(make_space(), {"model": 0, "C": 2.0})


def test_continuing_trials_uses_the_algo_and_rstate_of_the_call():
    fn, space = (lambda x: (x - 0.3) ** 2), hp.uniform("x", 0, 1)

    def search(runs):
        trials = Trials()
        for algo, max_evals in runs:
            fmin(fn, space, algo=algo, max_evals=max_evals, trials=trials, rstate=np.random.default_rng(0),
                 show_progressbar=False)
        return trials

    trials = search([(rand.suggest, 5), (tpe.suggest, 10)])
    assert type(trials.study.sampler).__name__ == "TPESampler"  # not the first call's random search
    in_one = search([(tpe.suggest, 30)])
    in_three = search([(tpe.suggest, 10), (tpe.suggest, 20), (tpe.suggest, 30)])
    assert trials_values(in_three) == trials_values(in_one)  # a seeded search split into calls is the same search
    fmin(fn, space, max_evals=35, trials=in_three, show_progressbar=False)  # neither: it goes on as it was
    assert type(in_three.study.sampler).__name__ == "TPESampler" and len(in_three) == 35


def trials_values(trials):
    return [t["misc"]["vals"]["x"] for t in trials.trials]


# ---------------------------------------------------------------- failures
def test_status_fail_trials_are_skipped():
    def fn(config):
        if config["type"] == "tree":
            return {"status": STATUS_FAIL, "reason": "no trees"}
        return dict_objective(config)

    best, trials = run_fmin(fn)
    statuses = trials.statuses()
    branches = [t["misc"]["vals"]["model"][0] for t in trials.trials]
    assert statuses == [STATUS_OK if b == 0 else STATUS_FAIL for b in branches]
    assert STATUS_FAIL in statuses and STATUS_OK in statuses
    assert [loss is None for loss in trials.losses()] == [b == 1 for b in branches]
    assert best["model"] == 0
    assert trials.best_trial["result"]["loss"] == min(ok_losses(trials))
    failed = [r for r in trials.results if r["status"] == STATUS_FAIL]
    assert failed and all(r == {"status": STATUS_FAIL, "reason": "no trees"} for r in failed)  # as fn returned it
    assert [t.state for t in trials.study.trials] == [
        TrialState.COMPLETE if b == 0 else TrialState.FAIL for b in branches
    ]
    assert all(t["state"] == 2 for t in trials.trials)  # JOB_STATE_DONE: the objective returned
    study = trials.study  # as in hyperopt, TPE leaves them out (they do not rank as diverged, the worst)
    assert {t.error for t in study.get_trials("FAIL")} == {"the objective returned status 'fail'"}
    assert not study._history.diverged.any()


@pytest.mark.parametrize("verbose", [False, True])
def test_failures_are_logged_only_when_verbose(caplog, verbose):
    def fn(x):
        if x > 0.5:
            raise ValueError("too large")
        return {"status": STATUS_FAIL} if x > 0.25 else x

    trials = Trials()
    fmin(fn, hp.uniform("x", 0, 1), max_evals=12, trials=trials, verbose=verbose, catch_eval_exceptions=True,
         rstate=np.random.default_rng(0), show_progressbar=False)
    logged = [r for r in caplog.records if r.name == "tpe_core" and r.levelname == "WARNING"]
    n_failed = trials.statuses().count(STATUS_FAIL)
    assert n_failed > 0 and len(logged) == (n_failed if verbose else 0)


def test_an_infinite_loss_is_an_ok_result_ranked_last_as_in_hyperopt():
    def fn(x):
        if x > 0.5:
            return math.inf if x > 0.75 else {"loss": math.inf, "status": STATUS_OK, "why": "invalid"}
        return x

    trials = Trials()
    best = fmin(fn, hp.uniform("x", 0, 1), max_evals=16, trials=trials, rstate=np.random.default_rng(1),
                show_progressbar=False, verbose=False)
    infinite = [r for r in trials.results if r.get("loss") == math.inf]
    assert infinite and all(r["status"] == STATUS_OK for r in infinite)
    assert any(r.get("why") == "invalid" for r in infinite)
    assert trials.losses().count(math.inf) == len(infinite) and all(t["state"] == 2 for t in trials.trials)
    assert best["x"] <= 0.5 and trials.best_trial["result"]["loss"] <= 0.5


@pytest.mark.parametrize("bad", [-math.inf, {"loss": -math.inf, "status": STATUS_OK}, math.nan])
def test_a_loss_of_minus_inf_or_nan_fails_its_trial_saying_so(bad):
    trials = Trials()
    best = fmin(lambda x: bad if x > 0.5 else x, hp.uniform("x", 0, 1), max_evals=12, trials=trials,
                rstate=np.random.default_rng(0), show_progressbar=False, verbose=False)
    failed = [r for r in trials.results if r["status"] == STATUS_FAIL]
    assert failed and all("a value must be finite" in r["error"] for r in failed)
    assert best["x"] <= 0.5


@pytest.mark.parametrize("low", [1e-3, 1e-4, math.exp(-5)])
def test_a_loguniform_takes_the_bounds_the_user_meant(low):
    space = hp.loguniform("lr", math.log(low), math.log(1.0))  # exp(log(0.001)) is 0.0010000000000000002
    for value in (low, math.exp(math.log(low))):
        assert space_eval(space, {"lr": value}) == value
    trials = Trials()
    fmin(lambda lr: lr, space, max_evals=1, trials=trials, points_to_evaluate=[{"lr": low}], show_progressbar=False)
    assert trials.vals["lr"] == [low]


def test_records_have_hyperopt_s_misc_idxs_and_space_eval_ignores_labels_it_does_not_have():
    trials = Trials()
    space = hp.choice("m", [{"x": hp.uniform("x", 0, 1)}, {"d": hp.randint("d", 3)}])
    fmin(lambda c: 0.0, space, max_evals=6, trials=trials, rstate=np.random.default_rng(0), show_progressbar=False)
    for record in trials.trials:
        misc = record["misc"]
        assert {k: bool(v) for k, v in misc["idxs"].items()} == {k: bool(v) for k, v in misc["vals"].items()}
        assert all(v == [record["tid"]] for v in record["misc"]["idxs"].values() if v)
    assert space_eval(space, {"m": 1, "d": 2, "bogus": 5}) == {"d": 2}


def test_when_every_ok_loss_is_inf_the_best_trial_is_the_first_of_them_as_in_hyperopt():
    def fn(config):
        return {"loss": math.inf, "status": STATUS_OK} if config > 0.3 else {"status": STATUS_FAIL}

    trials = Trials()
    best = fmin(fn, hp.uniform("x", 0, 1), max_evals=6, trials=trials, rstate=np.random.default_rng(0),
                show_progressbar=False, verbose=False)
    first = next(t for t in trials.trials if t["result"]["status"] == STATUS_OK)
    assert trials.best_trial["tid"] == first["tid"] and best == {"x": first["misc"]["vals"]["x"][0]}


def test_status_ok_with_nan_loss_is_a_failure():
    # A result dict with status 'ok' but a NaN loss fails the study's trial;
    # the hyperopt view must agree (status 'fail', loss None), or
    # min(trials.losses()) is NaN while best_trial skips that trial.
    def fn(x):
        return {"loss": math.nan if x < 0.5 else x, "status": STATUS_OK}

    _, trials = run_fmin(fn, hp.uniform("x", 0, 1), max_evals=20)
    failed = [t.number for t in trials.study.trials if t.state is TrialState.FAIL]
    assert failed, "expected some x < 0.5 among 20 draws"
    for number in failed:
        assert trials.statuses()[number] == STATUS_FAIL
        assert trials.losses()[number] is None
    assert trials.best_trial["result"]["loss"] == min(ok_losses(trials))


def test_all_trials_failed():
    with pytest.raises(AllTrialsFailed, match="no trial succeeded") as info:
        run_fmin(lambda config: {"status": STATUS_FAIL}, max_evals=5)
    assert isinstance(info.value, ValueError)


def test_all_trials_failed_is_a_value_error():
    assert issubclass(AllTrialsFailed, ValueError)
    with pytest.raises(ValueError):
        run_fmin(lambda config: math.nan, max_evals=3)  # a NaN loss is a failure (an inf one a result)


@pytest.mark.parametrize(
    ("result", "match"),
    [
        ({"loss": 1.0}, "status"),
        ({"loss": 1.0, "status": "done"}, "'done'"),
        ({"status": STATUS_OK}, "loss"),
    ],
)
def test_malformed_result_dict_raises(result, match):
    trials = Trials()
    with pytest.raises(ValueError, match=match):
        run_fmin(lambda config: result, max_evals=5, trials=trials)
    assert len(trials) == 1
    assert trials.study.trials[0].state is TrialState.FAIL


def test_losses_are_the_results_losses_and_the_seed_may_come_from_the_environment(monkeypatch):
    trials = Trials()
    outcomes = iter([0.5, {"status": STATUS_FAIL, "loss": 99.0}, {"status": STATUS_FAIL}])
    fmin(lambda x: next(outcomes), hp.uniform("x", 0, 1), max_evals=3, trials=trials, show_progressbar=False,
         verbose=False)
    assert trials.losses() == [0.5, 99.0, None]  # a 'fail' result's loss, as hyperopt gives it (it was None)
    assert trials.best_trial["result"]["loss"] == 0.5  # and it is no candidate for the best
    runs = []
    for _ in range(2):
        monkeypatch.setenv("HYPEROPT_FMIN_SEED", "7")
        seeded = Trials()
        fmin(lambda x: x, hp.uniform("x", 0, 1), max_evals=3, trials=seeded, show_progressbar=False)
        runs.append(seeded.vals["x"])
    assert runs[0] == runs[1]  # as with rstate=7 (it was ignored)


@pytest.mark.parametrize(
    "result",
    [{"loss": 1.0}, {"loss": 1.0, "status": "done"}, {"status": STATUS_OK}],
    ids=["no status", "unknown status", "no loss"],
)
def test_malformed_result_dict_is_recorded_as_failed(result):
    # The trial failed; the hyperopt view must say so too, and statuses()
    # must not break on the malformed dict.
    trials = Trials()
    with pytest.raises(ValueError):
        run_fmin(lambda config: result, max_evals=5, trials=trials, catch_eval_exceptions=False)
    assert trials.statuses() == [STATUS_FAIL]
    assert trials.losses() == [None]


def test_eval_exception_propagates_by_default():
    calls = []

    def fn(config):
        calls.append(config)
        if len(calls) == 3:
            raise KeyError("broken")
        return loss_of(config)

    trials = Trials()
    with pytest.raises(KeyError, match="broken"):
        run_fmin(fn, trials=trials)
    assert len(trials) == 3
    assert trials.statuses() == [STATUS_OK, STATUS_OK, STATUS_FAIL]
    assert trials.results[2]["error"] == "KeyError: 'broken'"


def test_catch_eval_exceptions_records_and_goes_on():
    calls = []

    def fn(config):
        calls.append(config)
        if len(calls) % 3 == 0:
            raise RuntimeError(f"call {len(calls)}")
        return loss_of(config)

    best, trials = run_fmin(fn, catch_eval_exceptions=True)
    assert len(calls) == MAX_EVALS
    assert len(trials) == MAX_EVALS
    expected = [STATUS_FAIL if (i + 1) % 3 == 0 else STATUS_OK for i in range(MAX_EVALS)]
    assert trials.statuses() == expected
    assert trials.results[2]["error"] == "RuntimeError: call 3"
    assert trials.best_trial["result"]["loss"] == min(ok_losses(trials))
    assert best == trials.argmin


def test_keyboard_interrupt_propagates_even_when_catching():
    def fn(config):
        raise KeyboardInterrupt

    trials = Trials()
    with pytest.raises(KeyboardInterrupt):
        run_fmin(fn, trials=trials, catch_eval_exceptions=True)
    assert trials.statuses() == [STATUS_FAIL]


def test_loss_threshold_stops_early():
    _, trials = run_fmin(lambda x: x, hp.uniform("x", 0, 1), max_evals=1000, loss_threshold=0.1)
    losses = trials.losses()
    assert len(losses) < 1000
    assert losses[-1] < 0.1
    assert all(loss >= 0.1 for loss in losses[:-1])


def test_loss_threshold_is_strict_and_counts_the_trials_of_earlier_calls():
    trials = Trials()
    run_fmin(lambda x: 0.5, hp.uniform("x", 0, 1), max_evals=3, trials=trials, loss_threshold=0.5)
    assert len(trials) == 3  # a loss equal to the threshold is not below it
    run_fmin(lambda x: 0.1, hp.uniform("x", 0, 1), max_evals=4, trials=trials)
    # the trials already hold a loss below the threshold: the call runs its first trial, then stops
    run_fmin(lambda x: 0.9, hp.uniform("x", 0, 1), max_evals=100, trials=trials, loss_threshold=0.5)
    assert trials.losses() == [0.5, 0.5, 0.5, 0.1, 0.9]


# ---------------------------------------------------------------- algo
def test_partial_suggest():
    best_plain, trials_plain = run_fmin(loss_of, max_evals=5)
    best_partial, trials_partial = run_fmin(loss_of, max_evals=5, algo=functools.partial(rand.suggest))
    assert len(trials_partial) == 5
    assert isinstance(trials_partial.study.sampler, RandomSampler)
    assert trials_partial.losses() == trials_plain.losses()
    assert best_partial == best_plain


def test_partial_suggest_unknown_option():
    trials = Trials()
    with pytest.raises(TypeError, match="bogus"):
        run_fmin(loss_of, max_evals=5, algo=functools.partial(rand.suggest, bogus=1), trials=trials)
    assert len(trials) == 0


def test_partial_suggest_positional_args():
    with pytest.raises(TypeError, match="keyword"):
        run_fmin(loss_of, max_evals=5, algo=functools.partial(rand.suggest, 1))


def test_suggest_is_not_called_directly():
    with pytest.raises(TypeError, match="fmin"):
        rand.suggest([0], None, None, 0)
    with pytest.raises(TypeError, match="not called directly"):
        rand.suggest()


@pytest.mark.parametrize("algo", ["rand", len, object()])
def test_bad_algo(algo):
    with pytest.raises(TypeError, match="algo"):
        run_fmin(loss_of, max_evals=2, algo=algo)


def test_sampler_as_algo():
    _, trials = run_fmin(loss_of, max_evals=4, algo=RandomSampler(seed=1))
    assert len(trials) == 4
    assert trials.study.sampler.seed == 1


# ---------------------------------------------------------------- hp constructors
def draw(space, n: int, seed: int = 0) -> list:
    """``n`` configurations of ``space`` from its prior."""
    study = Study(space, sampler=RandomSampler(seed=seed))
    return [study.ask().config for _ in range(n)]


def on_grid(values, q: float) -> bool:
    k = np.asarray(values, dtype=float) / q
    return bool(np.all(np.abs(k - np.round(k)) < 1e-9 * np.maximum(1.0, np.abs(k))))


class TestHpSamples:
    def test_uniform(self):
        xs = draw(hp.uniform("x", -2, 3), 300)
        assert all(type(x) is float and -2 <= x <= 3 for x in xs)
        assert min(xs) < -1.5 and max(xs) > 2.5

    def test_loguniform_bounds_are_log_space(self):
        xs = np.array(draw(hp.loguniform("x", -3, 3), 1000))
        assert np.all((xs >= math.exp(-3)) & (xs <= math.exp(3)))
        assert xs.min() < math.exp(-2.5) and xs.max() > math.exp(2.5)
        # uniform in log space: about half of the values are below exp(0)
        assert 0.4 < np.mean(xs < 1.0) < 0.6

    def test_quniform_multiples_of_q(self):
        xs = draw(hp.quniform("x", 0, 10, 2.5), 300)
        assert on_grid(xs, 2.5)
        assert set(xs) == {0.0, 2.5, 5.0, 7.5, 10.0}
        assert all(type(x) is float for x in xs)

    def test_quniform_fractional_q(self):
        xs = draw(hp.quniform("x", 0.1, 1.0, 0.1), 300)
        assert on_grid(xs, 0.1)
        assert all(0.1 - 1e-12 <= x <= 1.0 + 1e-12 for x in xs)
        assert len(set(xs)) == 10

    @pytest.mark.parametrize(
        ("low", "high", "q", "values"),
        [
            (5, 100, 10, set(range(10, 101, 10))),  # round(0.5) would add 0, drawn only at exactly 5
            (1, 10, 2, {2.0, 4.0, 6.0, 8.0, 10.0}),
            (0, 7, 2, {0.0, 2.0, 4.0, 6.0}),  # 8 needs a value above 7
            (-1, 1, 1, {-1.0, 0.0, 1.0}),
        ],
    )
    def test_quniform_gives_the_multiples_that_rounding_a_value_in_its_bounds_gives(self, low, high, q, values):
        xs = draw(hp.quniform("x", low, high, q), 300)
        assert set(xs) == values

    def test_quniform_of_a_single_multiple_says_to_use_a_constant(self):
        said = r"hp.quniform\('x', low=5, high=6, q=10\): every value rounds to 10; use a constant"
        with pytest.raises(ValueError, match=said):
            hp.quniform("x", 5, 6, 10)

    def test_qloguniform_bounds_round_as_its_values_do(self):
        # exp(uniform(log 25, log 100)) / 10 is above 2.5, so it never rounds to 2
        xs = draw(hp.qloguniform("x", math.log(25), math.log(100), 10), 300)
        assert set(xs) == set(range(30, 101, 10))

    def test_qloguniform(self):
        xs = draw(hp.qloguniform("x", 0, 3, 1), 500)
        assert on_grid(xs, 1)
        assert min(xs) >= 1 and max(xs) <= round(math.exp(3))
        # log scale: small values are much more frequent than large ones
        assert np.mean(np.array(xs) <= 5) > 0.4

    def test_uniformint(self):
        xs = draw(hp.uniformint("x", 1, 8), 400)
        assert all(type(x) is int for x in xs)
        assert set(xs) == set(range(1, 9))

    def test_randint_upper(self):
        xs = draw(hp.randint("x", 5), 300)
        assert all(type(x) is int for x in xs)
        assert set(xs) == {0, 1, 2, 3, 4}

    def test_randint_low_high(self):
        xs = draw(hp.randint("x", 3, 7), 300)
        assert set(xs) == {3, 4, 5, 6}

    def test_randint_takes_its_bounds_by_keyword_as_hyperopt(self):
        assert set(draw(hp.randint("x", low=3, high=7), 300)) == {3, 4, 5, 6}  # a TypeError
        with pytest.raises(TypeError, match=r"hp.randint\('x', ...\) takes upper, or low and high"):
            hp.randint("x", high=7)

    def test_randint_bad_arity(self):
        with pytest.raises(TypeError, match="randint"):
            hp.randint("x")
        with pytest.raises(TypeError, match="randint"):
            hp.randint("x", 1, 2, 3)

    def test_choice(self):
        xs = draw(hp.choice("x", ["a", "b", "c"]), 300)
        assert set(xs) == {"a", "b", "c"}

    def test_pchoice_frequencies(self):
        xs = draw(hp.pchoice("x", [(0.1, "a"), (0.6, "b"), (0.3, "c")]), 3000)
        freq = {k: xs.count(k) / len(xs) for k in "abc"}
        assert freq["a"] == pytest.approx(0.1, abs=0.04)
        assert freq["b"] == pytest.approx(0.6, abs=0.05)
        assert freq["c"] == pytest.approx(0.3, abs=0.05)

    def test_pchoice_zero_probability_never_drawn(self):
        xs = draw(hp.pchoice("x", [(0.0, "never"), (1.0, "always")]), 200)
        assert set(xs) == {"always"}

    def test_normal(self):
        xs = np.array(draw(hp.normal("x", 2.0, 0.5), 2000))
        assert xs.mean() == pytest.approx(2.0, abs=0.1)
        assert xs.std() == pytest.approx(0.5, abs=0.1)
        # unbounded: some values lie beyond two sigmas
        assert np.any(np.abs(xs - 2.0) > 1.0)

    def test_lognormal(self):
        xs = np.array(draw(hp.lognormal("x", 0.0, 1.0), 2000))
        assert np.all(xs > 0)
        assert np.median(xs) == pytest.approx(1.0, abs=0.15)
        assert np.log(xs).std() == pytest.approx(1.0, abs=0.1)

    def test_qnormal(self):
        xs = np.array(draw(hp.qnormal("x", 0.0, 5.0, 2.0), 1000))
        assert on_grid(xs, 2.0)
        assert abs(xs.mean()) < 1.0
        assert len(set(xs.tolist())) > 5

    def test_qlognormal(self):
        xs = np.array(draw(hp.qlognormal("x", 1.0, 0.5, 0.5), 1000))
        assert on_grid(xs, 0.5)
        assert np.all(xs >= 0)
        assert np.median(xs) == pytest.approx(math.e, abs=0.5)

    def test_labels_name_parameters(self):
        space = {"opt": {"lr": hp.loguniform("learning_rate", -5, 0)}, "act": hp.choice("activation", ["a", "b"])}
        study = Study(space, sampler=RandomSampler(seed=0))
        assert study.search_space.names == ("learning_rate", "activation")
        trial = study.ask()
        assert set(trial.params) == {"learning_rate", "activation"}
        assert trial.params["learning_rate"] == trial.config["opt"]["lr"]


@pytest.mark.parametrize(
    ("make", "function", "label"),
    [
        (lambda: hp.uniform("u", 1.0, 0.0), "uniform", "u"),
        (lambda: hp.uniform("u", 0.0, math.nan), "uniform", "u"),
        (lambda: hp.loguniform("lr", 2.0, 1.0), "loguniform", "lr"),
        (lambda: hp.quniform("q", 0, 10, 0), "quniform", "q"),
        (lambda: hp.quniform("q", 0, 10, -1), "quniform", "q"),
        (lambda: hp.qloguniform("ql", 0, 3, 0), "qloguniform", "ql"),
        (lambda: hp.quniform("q", 5, 5, 10), "quniform", "q"),
        (lambda: hp.uniformint("n", 5, 1), "uniformint", "n"),
        (lambda: hp.uniformint("n", 1.5, 4), "uniformint", "n"),
        (lambda: hp.randint("r", 0), "randint", "r"),
        (lambda: hp.randint("r", 5, 2), "randint", "r"),
        (lambda: hp.choice("c", []), "choice", "c"),
        (lambda: hp.choice("c", ["a", "a"]), "choice", "c"),
        (lambda: hp.pchoice("p", [(0.5, "a"), "b"]), "pchoice", "p"),
        (lambda: hp.pchoice("p", [(-1.0, "a"), (2.0, "b")]), "pchoice", "p"),
        (lambda: hp.normal("g", 0.0, 0.0), "normal", "g"),
        (lambda: hp.lognormal("g", 0.0, -1.0), "lognormal", "g"),
        (lambda: hp.qnormal("g", 0.0, 1.0, 0.0), "qnormal", "g"),
        (lambda: hp.qlognormal("g", 0.0, 1.0, -0.5), "qlognormal", "g"),
    ],
)
def test_invalid_hp_names_function_and_label(make, function, label):
    with pytest.raises(ValueError) as info:
        make()
    message = str(info.value)
    assert f"hp.{function}({label!r}" in message


@pytest.mark.parametrize(
    ("losses", "kwargs", "n_run"),
    [
        ([3.0, 2.0, 1.0] + [1.0] * 10, {"iteration_stop_count": 3}, 6),  # stops 3 trials after the last progress
        ([3.0, 2.9, 2.8, 2.7, 2.6] + [2.6] * 10, {"iteration_stop_count": 3, "percent_increase": 10.0}, 3),
        ([3.0, 2.0, None, 1.0, None, None, None], {"iteration_stop_count": 3}, 7),  # a failure is no progress
        ([1.0] * 10, {"iteration_stop_count": 5}, 5),  # the first trial counts as one without progress, as in hyperopt
        ([None] * 10, {"iteration_stop_count": 4}, 4),  # failures from the start make no progress either (it ran 10)
        ([None, 1.0, 1.0, 1.0], {"iteration_stop_count": 1}, 3),  # the first trial never stops the search
    ],
)
def test_no_progress_loss_stops_after_trials_without_progress(losses, kwargs, n_run):
    results = iter(losses)

    def fn(x):
        loss = next(results)
        return {"status": STATUS_FAIL} if loss is None else loss

    trials = Trials()
    with contextlib.suppress(AllTrialsFailed):  # when every trial failed, after the search
        fmin(fn, hp.uniform("x", 0, 1), max_evals=len(losses), trials=trials, show_progressbar=False, verbose=False,
             early_stop_fn=no_progress_loss(**kwargs))
    assert len(trials) == n_run
    assert [t["state"] for t in trials.trials] == [JOB_STATE_DONE] * n_run


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"iteration_stop_count": 0}, "iteration_stop_count must be an integer >= 1"),
     ({"percent_increase": -1}, "percent_increase must be a number >= 0")],
)
def test_no_progress_loss_checks_its_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        no_progress_loss(**kwargs)


def test_trials_save_file_keeps_every_trial_and_resumes_the_search(tmp_path):
    path = str(tmp_path / "trials.pkl")

    def crashes_on_the_fourth(x):
        if len(trials_seen) == 3:
            raise KeyError("crash")
        trials_seen.append(x)
        return x

    trials_seen: list[float] = []
    with pytest.raises(KeyError):
        fmin(crashes_on_the_fourth, hp.uniform("x", 0, 1), max_evals=6, trials_save_file=path,
             rstate=np.random.default_rng(0), show_progressbar=False, verbose=False)
    saved = pickle.loads(open(path, "rb").read())
    assert saved.statuses() == [STATUS_OK] * 3 + [STATUS_FAIL]  # the crashed trial too
    trials_seen.append(0.0)  # no more crashes
    fmin(crashes_on_the_fourth, hp.uniform("x", 0, 1), max_evals=6, trials_save_file=path, max_queue_len=4,
         show_progressbar=False, verbose=False)
    resumed = pickle.loads(open(path, "rb").read())
    assert len(resumed) == 6 and resumed.losses()[:3] == saved.losses()[:3]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["trials.pkl"]  # no partial file left
    with pytest.raises(ValueError, match="cannot be pickled"):
        fmin(lambda x: 0.0, {"f": lambda z: z, "x": hp.uniform("x", 0, 1)}, max_evals=1,
             trials_save_file=str(tmp_path / "other.pkl"), show_progressbar=False)


def test_an_edit_of_a_finished_trials_record_stays():
    _, trials = run_fmin(loss_of, max_evals=3)
    trials.trials[0]["result"]["note"] = "kept"
    assert trials.trials[0]["result"]["note"] == "kept" and trials.results[0]["note"] == "kept"
    assert trials.trials[1] is trials.trials[1]


def test_scope_int_gives_ints_on_the_same_grid():
    space = {
        "depth": scope.int(hp.quniform("depth", 1, 10, 1)),
        "units": scope.int(hp.qloguniform("units", math.log(8), math.log(256), 8)),
    }
    assert space["depth"] == Int(1, 10, label="depth") and space["units"] == Int(8, 256, log=True, step=8,
                                                                                  label="units")
    trials = Trials()
    fmin(lambda c: c["depth"] + c["units"] / 256, space, max_evals=12, trials=trials, show_progressbar=False,
         rstate=np.random.default_rng(0))
    configs = [space_eval(space, {k: v[0] for k, v in t["misc"]["vals"].items()}) for t in trials.trials]
    assert all(type(c["depth"]) is int and c["units"] % 8 == 0 for c in configs)
    with pytest.raises(ValueError, match="scope.int takes an integer grid"):
        scope.int(hp.uniform("x", 0, 1))


def test_hp_takes_what_hyperopt_takes():
    assert hp.choice("n", np.arange(1, 4)).choices == (1, 2, 3)  # Python ints
    assert hp.uniformint("n", 1.0, 10.0) == hp.uniformint("n", 1, 10)
    assert hp.randint("r", 5.0) == hp.randint("r", 5)
    assert hp.pchoice("p", [[0.25, "a"], [0.75, "b"]]) == hp.pchoice("p", [(0.25, "a"), (0.75, "b")])
    with pytest.raises(ValueError, match=re.escape("hp.randint('r', low=0, high=5.5): high must be an integer, got")):
        hp.randint("r", 5.5)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_evals": -1}, "max_evals must be None or an integer >= 0, got max_evals=-1"),
        ({"max_evals": 2.5}, "got max_evals=2.5"),
        ({"loss_threshold": "0.1"}, "loss_threshold must be a number, got loss_threshold='0.1'"),
        ({"algo": functools.partial(tpe.suggest, n_startup_jobs=-2)},
         "tpe.suggest: n_startup_jobs must be an integer >= 0, got n_startup_jobs=-2"),
    ],
)
def test_fmin_arguments_are_checked_before_any_trial_in_hyperopts_names(kwargs, message):
    trials = Trials()
    with pytest.raises(ValueError, match=re.escape(message)):
        fmin(lambda x: x, hp.uniform("x", 0, 1), trials=trials, show_progressbar=False, **{"max_evals": 3, **kwargs})
    assert len(trials) == 0
    assert fmin(lambda x: x, hp.uniform("x", 0, 1), max_evals=3.0, show_progressbar=False)  # a whole float


@pytest.mark.parametrize("label", ["", None, 3])
def test_invalid_hp_label(label):
    with pytest.raises(ValueError, match=r"hp\.uniform: label must be a non-empty string"):
        hp.uniform(label, 0, 1)


def test_loguniform_overflowing_bound_names_function_and_label():
    # exp(1000) overflows; the user should get the same ValueError as for any
    # other invalid bound, naming the hp call, not a bare OverflowError.
    with pytest.raises(ValueError, match=r"hp\.loguniform\('lr'"):
        hp.loguniform("lr", 0, 1000)


@pytest.mark.parametrize(
    "space",
    [
        {"a": hp.uniform("x", 0, 1), "b": hp.uniform("x", 0, 2)},
        hp.choice("m", [{"a": hp.uniform("x", 0, 1)}, {"b": hp.quniform("x", 0, 10, 1)}]),
        {"x": hp.uniform("y", 0, 1), "z": hp.choice("y", [1, 2])},
    ],
    ids=["siblings", "branches", "choice"],
)
def test_duplicate_labels_rejected_by_fmin(space):
    calls = []
    with pytest.raises(ValueError, match=r"name '(x|y)' is already used"):
        fmin(lambda c: calls.append(c) or 0.0, space, max_evals=3, show_progressbar=False)
    assert calls == []


def test_attachments_times_and_hyperopt_s_other_arguments_are_as_in_hyperopt():
    # 'attachments' stayed in the result (trials.trial_attachments was an AttributeError), times were local,
    # and fmin refused allow_trials_fmin and pass_expr_memo_ctrl, which hyperopt's fmin takes.
    import datetime

    trials = Trials()

    def fn(x):
        return {"loss": x, "status": STATUS_OK, "attachments": {"blob": b"abc", "note": "n"}}

    before = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    fmin(fn, hp.uniform("x", 0, 1), max_evals=2, trials=trials, show_progressbar=False, allow_trials_fmin=False,
         pass_expr_memo_ctrl=None, rstate=np.random.default_rng(0))
    first = trials.trials[0]
    assert dict(trials.trial_attachments(first)) == {"blob": b"abc", "note": "n"}
    assert "attachments" not in first["result"] and trials.attachments["ATTACH::0::blob"] == b"abc"
    trials.trial_attachments(first)["added"] = 1
    assert pickle.loads(pickle.dumps(trials)).trial_attachments(first)["added"] == 1
    assert abs((first["book_time"] - before).total_seconds()) < 3600  # UTC whatever the local zone
    assert first["book_time"].microsecond % 1000 == 0 and first["book_time"].tzinfo is None
    with pytest.raises(ValueError, match="pass_expr_memo_ctrl=True is not supported"):
        fmin(fn, hp.uniform("x", 0, 1), max_evals=1, pass_expr_memo_ctrl=True, show_progressbar=False)
