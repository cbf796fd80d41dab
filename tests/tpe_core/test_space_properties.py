"""Properties of search spaces under the random and grid samplers.

The oracle here is written from the space *definition*, not from the
compiled :class:`SearchSpace`: which parameters a configuration activates,
what its config must look like, how many grid points a space has. The
library's own answers (``active_mask``, ``enumerate_grid``) are what is
being tested, so they are never used to compute the expectation.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.tpe_core.strategies import GRID_N_POINTS, search_spaces, spaces_with_a_float
from tpe_core import Categorical, Float, GridSampler, Int, RandomSampler, SearchSpace, Study
from tpe_core._samplers._random import sample_prior

seeds = st.integers(0, 2**32 - 1)


# ---------------------------------------------------------------- the oracle
def holds_distribution(node: Any) -> bool:
    if isinstance(node, (Float, Int, Categorical)):
        return True
    if isinstance(node, dict):
        return any(holds_distribution(v) for v in node.values())
    if isinstance(node, (list, tuple)):
        return any(holds_distribution(v) for v in node)
    return False


def is_conditional(dist: Any) -> bool:
    return isinstance(dist, Categorical) and any(holds_distribution(o) for o in dist.choices)


def param_name(dist: Any, path: tuple[Any, ...]) -> str:
    """The naming rule of the docs: the label, else the path joined by '/', else 'x'."""
    if dist.label is not None:
        return dist.label
    return "/".join(map(str, path)) or "x"


def leaves(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[str, Any]]:
    """Every (name, distribution) of the space, in every branch."""
    if isinstance(node, (Float, Int, Categorical)):
        yield param_name(node, path), node
        if is_conditional(node):
            for b, option in enumerate(node.choices):
                yield from leaves(option, path + (b,))
    elif isinstance(node, dict):
        for k, v in node.items():
            yield from leaves(v, path + (k,))
    elif isinstance(node, (list, tuple)):
        for i, v in enumerate(node):
            yield from leaves(v, path + (i,))


def expected_config(
    node: Any, path: tuple[Any, ...], choose: Any, visited: list[str]
) -> Any:
    """The config a space gives when ``choose(name, dist)`` picks each value.

    Walks only the chosen branches and records the parameters it meets in
    ``visited``: these are exactly the active ones.
    """
    if isinstance(node, (Float, Int, Categorical)):
        name = param_name(node, path)
        visited.append(name)
        value = choose(name, node)
        if is_conditional(node):
            return expected_config(node.choices[value], path + (value,), choose, visited)
        return value
    if isinstance(node, dict):
        return {k: expected_config(v, path + (k,), choose, visited) for k, v in node.items()}
    if isinstance(node, list):
        return [expected_config(v, path + (i,), choose, visited) for i, v in enumerate(node)]
    if isinstance(node, tuple):
        return tuple(expected_config(v, path + (i,), choose, visited) for i, v in enumerate(node))
    return node


def grid_size(node: Any, n_points: int = GRID_N_POINTS) -> int:
    """Number of grid points: a product over containers, a sum over branches."""
    if isinstance(node, Float):
        return round((node.high - node.low) / node.step) + 1 if node.step else n_points
    if isinstance(node, Int):
        return (node.high - node.low) // node.step + 1
    if isinstance(node, Categorical):
        if is_conditional(node):
            return sum(grid_size(o, n_points) for o in node.choices)
        return len(node.choices)
    if isinstance(node, dict):
        node = list(node.values())
    if isinstance(node, (list, tuple)):
        return math.prod(grid_size(v, n_points) for v in node)
    return 1


def expected_grid_values(dist: Any, n_points: int = GRID_N_POINTS) -> list[Any]:
    """The values one parameter takes over a whole grid."""
    if isinstance(dist, Categorical):
        return list(range(len(dist.choices))) if is_conditional(dist) else list(dist.choices)
    if isinstance(dist, Int):
        return list(range(dist.low, dist.high + 1, dist.step))
    if dist.step is not None:
        return [dist.low + i * dist.step for i in range(round((dist.high - dist.low) / dist.step) + 1)]
    if dist.log:
        ratio = (dist.high / dist.low) ** (1 / (n_points - 1))
        return [dist.low * ratio**i for i in range(n_points)]
    return [dist.low + i * (dist.high - dist.low) / (n_points - 1) for i in range(n_points)]


def check_value(name: str, dist: Any, value: Any) -> None:
    """One parameter's value is of the right type, in bounds, on the step grid."""
    if is_conditional(dist):
        assert type(value) is int and 0 <= value < len(dist.choices), (name, value)
    elif isinstance(dist, Categorical):
        assert any(type(c) is type(value) and c == value for c in dist.choices), (name, value)
    else:
        kind = int if isinstance(dist, Int) else float
        assert type(value) is kind, f"{name}: {value!r} is a {type(value).__name__}, not {kind}"
        assert dist.low <= value <= dist.high, f"{name}: {value!r} outside [{dist.low}, {dist.high}]"
        if dist.step is not None:
            k = round((value - dist.low) / dist.step)
            assert math.isclose(
                value, dist.low + k * dist.step, rel_tol=1e-9, abs_tol=1e-9 * dist.step
            ), f"{name}: {value!r} is not on the grid {dist.low} + k * {dist.step}"


def assert_same(actual: Any, expected: Any, where: str = "config") -> None:
    """Equal, and of the same types all the way down (1, 1.0 and True differ)."""
    assert type(actual) is type(expected), f"{where}: {actual!r} vs {expected!r}"
    if isinstance(expected, dict):
        assert list(actual) == list(expected), f"{where}: keys {list(actual)} vs {list(expected)}"
        for k in expected:
            assert_same(actual[k], expected[k], f"{where}[{k!r}]")
    elif isinstance(expected, (list, tuple)):
        assert len(actual) == len(expected), f"{where}: {actual!r} vs {expected!r}"
        for i, (a, e) in enumerate(zip(actual, expected)):
            assert_same(a, e, f"{where}[{i}]")
    else:
        assert actual == expected, f"{where}: {actual!r} vs {expected!r}"


def check_trial(study: Study, trial: Any) -> None:
    """Everything a trial's params, config and encoded row must satisfy."""
    space = study.search_space
    params = trial.params

    def choose(name: str, dist: Any) -> Any:
        assert name in params, f"active parameter {name!r} missing from {params}"
        check_value(name, dist, params[name])
        return params[name]

    visited: list[str] = []
    config = expected_config(space.space, (), choose, visited)
    assert sorted(params) == sorted(visited), "params must hold exactly the active parameters"
    assert_same(trial.config, config)

    row = space.encode_params(params)
    np.testing.assert_array_equal(row, trial._row)  # NaN-aware: inactive columns are NaN
    assert_same(space.decode_params(row), params, "decode_params(encode_params(params))")
    assert_same(space.decode_config(row), trial.config, "decode_config(encode_params(params))")


def params_key(params: dict[str, Any]) -> tuple[Any, ...]:
    """A hashable, type-aware key of a params dict."""
    return tuple(sorted((k, type(v).__name__, repr(v)) for k, v in params.items()))


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
