"""Properties of search spaces under the random and grid samplers.

The oracle here is written from the space *definition*, not from the
compiled :class:`SearchSpace`: which parameters a configuration activates,
what its config must look like, how many grid points a space has. The
library's own answers (``active_mask``, ``enumerate_grid``) are what is
being tested, so they are never used to compute the expectation.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.tpe_core.oracle import (
    assert_same,
    check_trial,
    expected_config,
    expected_grid_values,
    grid_size,
    is_conditional,
    leaves,
    params_key,
)
from tests.tpe_core.strategies import GRID_N_POINTS, search_spaces, spaces_with_a_float
from tpe_core import (
    Categorical,
    Float,
    GridSampler,
    Int,
    RandomSampler,
    SearchSpace,
    Study,
)
from tpe_core._samplers._random import sample_prior

seeds = st.integers(0, 2**32 - 1)


# ---------------------------------------------------------------- random sampler
@given(space=search_spaces(max_grid=5000, max_int_points=40), seed=seeds)
def test_random_trials_are_valid_and_round_trip(space: Any, seed: int) -> None:
    study = Study(space, sampler=RandomSampler(seed=seed))
    for _ in range(5):
        check_trial(study, study.ask())


@given(space=search_spaces(max_grid=5000, max_int_points=40), seed=seeds)
def test_sample_prior_marks_exactly_the_inactive_columns_nan(space: Any, seed: int) -> None:
    compiled = SearchSpace(space)
    rows = sample_prior(compiled, np.random.default_rng(seed), 10)
    assert rows.shape == (10, len(compiled))
    for row in rows:
        column = {name: j for j, name in enumerate(compiled.names)}

        def choose(name: str, dist: Any, row: np.ndarray = row) -> Any:
            x = row[column[name]]
            assert not np.isnan(x), f"active parameter {name!r} is NaN"
            return int(x) if is_conditional(dist) else None

        visited: list[str] = []
        expected_config(space, (), choose, visited)
        assert sorted(compiled.names[j] for j in np.flatnonzero(~np.isnan(row))) == sorted(visited)


def test_a_compiled_space_given_again_is_the_same_space() -> None:
    space = SearchSpace({"a": Float(0.0, 1.0), "b": Categorical([{"c": Int(1, 3)}, "d"])})
    again = SearchSpace(space)
    assert again.names == space.names and again.params == space.params and again.space is space.space


def test_config_is_a_fresh_copy_each_time() -> None:
    """Trial.config promises a new copy; mutating it must not change the space."""
    space = {"layers": Categorical([[64, 64], [128]]), "opt": Categorical([{"lr": 0.1}, {"lr": 1.0}])}
    study = Study(space, sampler=GridSampler())
    trial = study.ask()
    config = trial.config
    config["layers"].append(1)
    config["opt"]["lr"] = -1
    assert trial.config == {"layers": [64, 64], "opt": {"lr": 0.1}}
    assert space["layers"].choices == ([64, 64], [128])


# ---------------------------------------------------------------- grid sampler
def run_grid(space: Any, **kwargs: Any) -> Study:
    study = Study(space, sampler=GridSampler(n_points=GRID_N_POINTS, **kwargs))
    study.optimize(lambda config: 0.0)
    return study


@given(space=search_spaces())
def test_grid_visits_every_point_exactly_once_then_stops(space: Any) -> None:
    expected = grid_size(space)
    study = run_grid(space)
    trials = study.trials
    assert len(trials) == expected
    assert len({params_key(t.params) for t in trials}) == expected
    for trial in trials:
        check_trial(study, trial)
    # every value of every parameter, in every branch, is visited
    for name, dist in leaves(space):
        seen = [t.params[name] for t in trials if name in t.params]
        want = expected_grid_values(dist)
        if isinstance(dist, Float):
            np.testing.assert_allclose(sorted(set(seen)), want, rtol=1e-9, atol=1e-12)
        else:
            assert {(type(v), repr(v)) for v in seen} == {(type(v), repr(v)) for v in want}, name
    with pytest.raises(RuntimeError, match="exhausted"):
        study.ask()
    assert len(study.trials) == expected


@given(space=search_spaces(max_grid=60), data=st.data())
def test_grid_with_values_held_visits_the_agreeing_points_once_then_the_rest(space: Any, data: Any) -> None:
    full = [t.params for t in run_grid(space).trials]
    point = data.draw(st.sampled_from(full))
    names = data.draw(st.sets(st.sampled_from(sorted(point)))) if point else set()
    fixed = {name: point[name] for name in names}
    study = Study(space, sampler=GridSampler(n_points=GRID_N_POINTS))
    study.optimize(lambda config: 0.0, fixed=fixed, n_trials=len(full) + 1)  # it stops before
    def same(a: Any, b: Any) -> bool:  # 0 is not False here, as for Categorical
        return (type(a), repr(a)) == (type(b), repr(b))

    agreeing = [p for p in full if all(name in p and same(p[name], value) for name, value in fixed.items())]
    held = [params_key(t.params) for t in study.trials]
    assert sorted(held) == sorted(params_key(p) for p in agreeing)  # each once, then it stops
    study.optimize(lambda config: 0.0, n_trials=len(full) + 1)  # the rest of the grid
    assert sorted(params_key(t.params) for t in study.trials) == sorted(params_key(p) for p in full)


@given(space=search_spaces(), seed=seeds)
def test_shuffled_grid_visits_the_same_points_reproducibly(space: Any, seed: int) -> None:
    plain = run_grid(space)
    shuffled = run_grid(space, shuffle=True, seed=seed)
    again = run_grid(space, shuffle=True, seed=seed)
    order = [params_key(t.params) for t in shuffled.trials]
    assert sorted(order) == sorted(params_key(t.params) for t in plain.trials)
    assert order == [params_key(t.params) for t in again.trials]
    with pytest.raises(RuntimeError):
        shuffled.ask()


def test_shuffle_changes_the_order() -> None:
    space = {"a": Int(0, 9), "b": Categorical(["x", "y", "z"])}
    plain = [t.params for t in run_grid(space).trials]
    orders = [[t.params for t in run_grid(space, shuffle=True, seed=s).trials] for s in (0, 1)]
    assert orders[0] != plain and orders[1] != plain and orders[0] != orders[1]


@pytest.mark.parametrize("shuffle", ["no", 0, None])
def test_shuffle_must_be_a_bool(shuffle: Any) -> None:
    with pytest.raises(ValueError, match=f"shuffle must be True or False, got shuffle={shuffle!r}"):
        GridSampler(shuffle=shuffle)


def test_grid_natural_order_has_the_first_parameter_slowest() -> None:
    study = run_grid({"a": Int(1, 2), "b": Categorical(["x", "y"])})
    assert [t.params for t in study.trials] == [
        {"a": 1, "b": "x"},
        {"a": 1, "b": "y"},
        {"a": 2, "b": "x"},
        {"a": 2, "b": "y"},
    ]


def test_grid_of_a_conditional_space_sums_over_branches() -> None:
    space = {
        "model": Categorical(
            [
                {"kind": "svm", "C": Float(0.0, 1.0, step=0.5)},
                {"kind": "tree", "depth": Int(1, 4), "crit": Categorical(["gini", "entropy"])},
                "dummy",
            ]
        ),
        "seed": Categorical([0, 1]),
    }
    study = run_grid(space)
    assert len(study.trials) == (3 + 4 * 2 + 1) * 2
    assert sum(1 for t in study.trials if t.config["model"] == "dummy") == 2
    assert {t.config["model"]["C"] for t in study.trials if t.params["model"] == 0} == {0.0, 0.5, 1.0}


# ---------------------------------------------------------------- determinism
@given(space=search_spaces(max_grid=5000, max_int_points=40), seed=seeds)
def test_same_seed_same_random_sequence(space: Any, seed: int) -> None:
    runs = []
    for _ in range(2):
        study = Study(space, sampler=RandomSampler(seed=seed))
        runs.append([study.ask().params for _ in range(5)])
    assert_same(runs[0], runs[1], "params")


@given(space=spaces_with_a_float(), seeds=st.lists(seeds, min_size=2, max_size=2, unique=True))
def test_different_seeds_different_random_sequences(space: Any, seeds: list[int]) -> None:
    runs = []
    for seed in seeds:
        study = Study(space, sampler=RandomSampler(seed=seed))
        runs.append([study.ask().params for _ in range(5)])
    assert [p["f"] for p in runs[0]] != [p["f"] for p in runs[1]]


def test_random_sequence_does_not_depend_on_history_values() -> None:
    """The proposal of trial n depends on (seed, n), not on what was told."""
    space = {"x": Float(-1.0, 1.0), "c": Categorical([{"a": Int(0, 9)}, {"b": Float(0.0, 1.0)}])}
    told = Study(space, sampler=RandomSampler(seed=7))
    for value in (3.0, -1.0, 2.0):
        told.tell(told.ask(), value)
    fresh = Study(space, sampler=RandomSampler(seed=7))
    assert [t.params for t in told.trials] == [fresh.ask().params for _ in range(3)]
