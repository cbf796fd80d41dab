"""The test oracle for configurations, written from the space *definition*.

Which parameters a configuration activates, what its config must look like,
how many grid points a space has: computed here without the compiled
:class:`SearchSpace`, whose answers are what the tests check.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from tests.tpe_core.strategies import GRID_N_POINTS, holds_distribution
from tpe_core import Categorical, Float, Int, Study


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


