"""Manual tuning: enqueued configurations, fixed parameters, a trial's source."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tpe_core import Categorical, Float, Int, RandomSampler, SearchSpace, SpaceError, Study, TPESampler

from .strategies import search_spaces

SPACE = {
    "lr": Float(1e-4, 1e-1, log=True),
    "units": Int(8, 256, log=True),
    "optimizer": Categorical([{"name": "sgd", "momentum": Float(0.0, 0.99)}, {"name": "adam"}]),
}


def random_params(space: SearchSpace, seed: int) -> dict:
    return space.decode_params(RandomSampler(seed=seed).sample(space, Study(space)._history, 0))


def assert_valid(space: SearchSpace, params: dict) -> None:
    """Every active parameter present and within its distribution, no inactive one."""
    space.encode_params(params)  # raises SpaceError otherwise


@given(space=search_spaces(), seed=st.integers(0, 2**16))
def test_an_enqueued_full_configuration_is_evaluated_as_given(space, seed):
    compiled = SearchSpace(space)
    params = random_params(compiled, seed)
    study = Study(compiled, sampler=TPESampler(seed=0))
    study.enqueue(params)
    trial = study.ask()
    assert trial.params == params and trial.source == "manual"
    assert study.ask().source == "sampler"


@given(space=search_spaces(), seed=st.integers(0, 2**16), data=st.data())
def test_a_partial_configuration_keeps_its_values_and_the_rest_is_valid(space, seed, data):
    compiled = SearchSpace(space)
    full = random_params(compiled, seed)
    names = data.draw(st.lists(st.sampled_from(sorted(full)), unique=True)) if full else []
    partial = {name: full[name] for name in names}
    study = Study(compiled, sampler=RandomSampler(seed=seed + 1))
    study.enqueue(partial)
    trial = study.ask()
    assert {name: trial.params[name] for name in partial} == partial
    assert_valid(compiled, trial.params)


@given(space=search_spaces(), seed=st.integers(0, 2**16), data=st.data())
def test_fixed_parameters_never_vary(space, seed, data):
    compiled = SearchSpace(space)
    full = random_params(compiled, seed)
    names = data.draw(st.lists(st.sampled_from(sorted(full)), unique=True, min_size=1)) if full else []
    fixed = {name: full[name] for name in names}
    study = Study(compiled, sampler=TPESampler(seed=seed, n_startup_trials=3))
    study.optimize(lambda config: float(seed % 7), n_trials=6, fixed=fixed)
    for trial in study.trials:
        assert {name: trial.params[name] for name in fixed} == fixed
        assert_valid(compiled, trial.params)


def test_a_branch_parameter_selects_its_branch_and_the_fix_can_be_lifted():
    study = Study(SPACE, sampler=TPESampler(seed=0, n_startup_trials=2))
    study.optimize(lambda c: c["lr"], n_trials=5, fixed={"optimizer/0/momentum": 0.5})
    assert all(t.params["optimizer"] == 0 and t.params["optimizer/0/momentum"] == 0.5 for t in study.trials)
    study.optimize(lambda c: c["lr"], n_trials=10)  # the same study, searching everything again
    assert len(study.trials) == 15
    assert len({t.params.get("optimizer/0/momentum") for t in study.trials[5:]}) > 1


def test_enqueued_configurations_come_first_in_order_then_the_sampler():
    study = Study(SPACE, sampler=RandomSampler(seed=0))
    study.enqueue({"lr": 0.01, "units": 32, "optimizer": 1})
    study.enqueue({"lr": 0.02})
    study.optimize(lambda c: c["lr"], n_trials=4)
    trials = study.trials
    assert [t.source for t in trials] == ["manual", "manual", "sampler", "sampler"]
    assert trials[0].config == {"lr": 0.01, "units": 32, "optimizer": {"name": "adam"}}
    assert trials[1].params["lr"] == 0.02
    assert study.to_records()[0]["source"] == "manual"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"unit": 16}, "unknown parameter 'unit'; did you mean 'units'"),
        ({"lr": 0.5}, "space\\['lr'\\]: Float: 0.5 is outside"),
        ({"units": 3.5}, "expected an integer"),
        ({"optimizer": 1, "optimizer/0/momentum": 0.5}, "belongs to branch 0 of 'optimizer', which is given as"),
        ({"optimizer": 2}, "optimizer"),
    ],
)
def test_bad_enqueues_name_the_parameter(params, message):
    study = Study(SPACE)
    with pytest.raises(SpaceError, match=message):
        study.enqueue(params)
    with pytest.raises(SpaceError, match=message):
        study.optimize(lambda c: 0.0, n_trials=1, fixed=params)
    assert study.trials == [] and study._queue == []


def test_enqueue_persists_the_source_in_storage(tmp_path):
    from tpe_core import load_study

    url = f"sqlite:///{tmp_path}/m.db"
    study = Study(SPACE, storage=url, study_name="m", sampler=RandomSampler(seed=0))
    study.enqueue({"lr": 0.05})
    study.optimize(lambda c: c["lr"], n_trials=2)
    assert [t.source for t in load_study(storage=url, study_name="m").trials] == ["manual", "sampler"]
    assert np.isclose(load_study(storage=url, study_name="m").trials[0].value, 0.05)


def sets_source(config, trial):
    trial.set_user_attr("source", "camera")
    return 1.0


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_the_source_mark_is_reserved(n_jobs):
    """A user attribute "source" would change trial.source and vanish from to_records."""
    study = Study(SPACE)
    study.enqueue({"lr": 0.01})
    with pytest.raises(ValueError, match="the key 'source' is reserved: parzen marks an enqueued trial"):
        study.ask().set_user_attr("source", "sampler")
    study.optimize(sets_source, n_trials=1, n_jobs=n_jobs)
    assert "reserved" in study.trials[-1].error
    assert study.trials[0].source == "manual"
