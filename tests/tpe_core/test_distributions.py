"""Distributions and space assembly: what is rejected, and how; what is accepted.

Every invalid definition must raise a ValueError whose message names the
parameter (its label when it has one) or the argument, and shows the value
that was wrong (STYLE.md, habit 3).
"""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest
import scipy.stats
from sklearn.svm import SVC

from tpe_core import (
    Categorical,
    Float,
    GridSampler,
    Int,
    Normal,
    RandomSampler,
    SearchSpace,
    SpaceError,
    Study,
    TPESampler,
    from_sklearn,
)
from tpe_core._samplers._grid import grid_size

inf, nan = math.inf, math.nan


def grid_values(space: object, name: str, **kwargs: object) -> list[object]:
    """The values of one parameter over a whole grid, in visiting order."""
    study = Study(space, sampler=GridSampler(**kwargs))
    study.optimize(lambda config: 0.0)
    return [t.params[name] for t in study.trials]


# ---------------------------------------------------------------- invalid leaves
# (class, args, kwargs, fragments the message must show)
INVALID = [
    pytest.param(Float, (1.0, 1.0), {}, ["low=1.0", "high=1.0", "low < high"], id="float-low-eq-high"),
    pytest.param(Float, (-1.7e308, 1.7e308), {}, ["high - low", "finite"], id="float-range-overflows"),
    pytest.param(Float, (2.0, 1.0), {}, ["low=2.0", "high=1.0"], id="float-low-gt-high"),
    pytest.param(Float, (0.0, inf), {}, ["high=inf", "finite"], id="float-high-inf"),
    pytest.param(Float, (-inf, 0.0), {}, ["low=-inf", "finite"], id="float-low-minus-inf"),
    pytest.param(Float, (nan, 1.0), {}, ["low=nan", "finite"], id="float-low-nan"),
    pytest.param(Float, (0.0, nan), {}, ["high=nan"], id="float-high-nan"),
    pytest.param(Float, ("0", 1.0), {}, ["low='0'", "number"], id="float-low-str"),
    pytest.param(Float, (0.0, 1.0), {"log": True}, ["log=True", "low=0.0"], id="float-log-zero"),
    pytest.param(Float, (-1.0, 1.0), {"log": True}, ["log=True", "low=-1.0"], id="float-log-negative"),
    pytest.param(Float, (0.0, 1.0), {"step": 0.0}, ["step=0.0"], id="float-step-zero"),
    pytest.param(Float, (0.0, 1.0), {"step": -0.1}, ["step=-0.1"], id="float-step-negative"),
    pytest.param(Float, (0.0, 1.0), {"step": nan}, ["step=nan"], id="float-step-nan"),
    pytest.param(Float, (0.0, 1.0), {"step": inf}, ["step=inf"], id="float-step-inf"),
    pytest.param(Float, (0.0, 1.0), {"step": 0.3}, ["step=0.3", "[0.0, 1.0]", "divide"], id="float-step-not-dividing"),
    pytest.param(Float, (0.0, 1.0), {"step": 2.0}, ["step=2.0", "[0.0, 1.0]"], id="float-step-wider-than-range"),
    pytest.param(Int, (0.0, 5), {}, ["low=0.0", "integer"], id="int-float-low"),
    pytest.param(Int, (0, 5.5), {}, ["high=5.5", "integer"], id="int-float-high"),
    pytest.param(Int, (True, 5), {}, ["low=True", "integer"], id="int-bool-low"),
    pytest.param(Int, (0, 6), {"step": 1.5}, ["step=1.5", "integer"], id="int-float-step"),
    pytest.param(Int, (3, 3), {}, ["low=3", "high=3"], id="int-low-eq-high"),
    pytest.param(Int, (5, 1), {}, ["low=5", "high=1"], id="int-low-gt-high"),
    pytest.param(Int, (0, 5), {"log": True}, ["log=True", "low=0"], id="int-log-zero"),
    pytest.param(Int, (0, 5), {"step": 0}, ["step=0"], id="int-step-zero"),
    pytest.param(Int, (0, 5), {"step": -1}, ["step=-1"], id="int-step-negative"),
    pytest.param(Int, (0, 5), {"step": 2}, ["step=2", "[0, 5]", "divide"], id="int-step-not-dividing"),
    pytest.param(Int, (0, 2**53), {"step": 3}, ["step=3", "divide"], id="int-step-not-dividing-a-huge-range"),
    pytest.param(Float, (0.0, 1e9), {"step": 0.7}, ["step=0.7", "divide"], id="float-step-not-dividing-1e9-steps"),
    pytest.param(
        Float, (0.0, 1e20), {"step": 1.0}, ["step=1.0", "1e+20 steps", "drop the step"], id="float-too-many-steps"
    ),
    pytest.param(Categorical, ([],), {}, ["choices", "empty"], id="cat-empty"),
    pytest.param(Categorical, ((),), {}, ["choices", "empty"], id="cat-empty-tuple"),
    pytest.param(Categorical, ("abc",), {}, ["choices", "'abc'"], id="cat-string"),
    pytest.param(Categorical, ({"a": 1},), {}, ["choices", "{'a': 1}"], id="cat-dict"),
    pytest.param(Categorical, ({1, 2},), {}, ["choices", "set"], id="cat-set"),
    pytest.param(Categorical, ([1, 2, 1],), {}, ["duplicate", "1"], id="cat-duplicate-int"),
    pytest.param(Categorical, (["a", "b", "a"],), {}, ["duplicate", "'a'"], id="cat-duplicate-str"),
    pytest.param(Categorical, ([None, None],), {}, ["duplicate", "None"], id="cat-duplicate-none"),
    pytest.param(Categorical, ([True, 1, True],), {}, ["duplicate", "True"], id="cat-duplicate-bool"),
    pytest.param(Categorical, ([(64, 64), (32,), (64, 64)],), {}, ["duplicate", "(64, 64)"], id="cat-duplicate-tuple"),
    pytest.param(Categorical, ([[1, 2], [1, 2]],), {}, ["duplicate", "[1, 2]"], id="cat-duplicate-list"),
    pytest.param(
        Categorical, ([{"k": "a"}, {"k": "b"}, {"k": "a"}],), {}, ["duplicate", "{'k': 'a'}"], id="cat-duplicate-dict"
    ),
    pytest.param(
        Categorical,
        ([{"C": Float(0.0, 1.0)}, {"C": Float(0.0, 1.0)}],),
        {},
        ["duplicate", "'C'"],
        id="cat-duplicate-subspace",
    ),
    pytest.param(Categorical, (["a", "b"],), {"weights": [1.0]}, ["weights", "[1.0]"], id="weights-too-short"),
    pytest.param(Categorical, (["a", "b"],), {"weights": [1, 1, 1]}, ["weights", "[1, 1, 1]"], id="weights-too-long"),
    pytest.param(Categorical, (["a", "b"],), {"weights": [1.0, -1.0]}, ["weights", "-1.0"], id="weights-negative"),
    pytest.param(Categorical, (["a", "b"],), {"weights": [0, 0]}, ["weights", "[0, 0]"], id="weights-all-zero"),
    pytest.param(Categorical, (["a", "b"],), {"weights": [nan, 1.0]}, ["weights", "nan"], id="weights-nan"),
    pytest.param(Categorical, (["a", "b"],), {"weights": [inf, 1.0]}, ["weights", "inf"], id="weights-inf"),
    pytest.param(Categorical, (["a", "b"],), {"weights": [1.0, "x"]}, ["weights", "'x'"], id="weights-not-numbers"),
    pytest.param(Categorical, (["a", "b"],), {"weights": 1.0}, ["weights", "1.0"], id="weights-scalar"),
    pytest.param(Normal, (0.0, 0.0), {}, ["sigma=0.0"], id="normal-sigma-zero"),
    pytest.param(Normal, (0.0, -1.0), {}, ["sigma=-1.0"], id="normal-sigma-negative"),
    pytest.param(Normal, (inf, 1.0), {}, ["mu=inf"], id="normal-mu-inf"),
    pytest.param(Normal, (0.0, 1.0), {"step": 0.0}, ["step=0.0"], id="normal-step-zero"),
    pytest.param(Float, (1.0, 2.0), {"log": "no"}, ["log='no'", "True or False"], id="float-log-string"),
    pytest.param(Int, (1, 5), {"log": 1}, ["log=1", "True or False"], id="int-log-int"),
    pytest.param(Int, (0, 2**53 + 1), {}, ["high=9007199254740993", "2**53"], id="int-high-beyond-exact-floats"),
    pytest.param(Int, (-(2**60), 0), {}, ["low=-1152921504606846976", "2**53"], id="int-low-beyond-exact-floats"),
    pytest.param(Normal, (0.0, 1.0), {"log": None}, ["log=None", "True or False"], id="normal-log-none"),
]


@pytest.mark.parametrize("label", [None, "lr"])
@pytest.mark.parametrize(("cls", "args", "kwargs", "fragments"), INVALID)
def test_invalid_definition_is_a_clear_value_error(cls, args, kwargs, fragments, label):
    with pytest.raises(ValueError) as excinfo:
        cls(*args, **kwargs, label=label)
    message = str(excinfo.value)
    assert message.startswith(cls.__name__), message
    if label is not None:
        assert f"{cls.__name__} 'lr'" in message, message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"


@pytest.mark.parametrize(
    "choices",
    [
        [1, 1.0, True],
        [0, 0.0, False],
        [1, "1", (1,)],
        [None, 0, "", ()],
        [{"k": 1}, {"k": 1.0}, {"k": True}],
        [(1,), (1.0,), [1], [True]],
        # arrays whose repr is shortened alike (numpy elides the middle of long arrays)
        [{"w": np.zeros(2000)}, {"w": np.where(np.arange(2000) == 1000, 5.0, 0.0)}],
    ],
    ids=["one", "zero", "one-str-tuple", "falsy", "dicts", "nested", "long-arrays"],
)
def test_equal_values_of_different_types_are_distinct_choices(choices):
    dist = Categorical(choices)
    assert len(dist.choices) == len(choices)
    got = grid_values({"c": dist}, "c")
    assert [(type(v), v) for v in got] == [(type(c), c) for c in choices]
    study = Study({"c": dist}, sampler=RandomSampler(seed=0))
    for _ in range(30):
        trial = study.ask()
        value = trial.params["c"]
        back = study.search_space.decode_params(study.search_space.encode_params(trial.params))["c"]
        assert type(back) is type(value) and back == value


@pytest.mark.parametrize(
    ("value", "expected"),
    [(np.int64(2), 2), (np.int32(1), 1), (np.float64(1.0), 1.0), (np.bool_(True), True), (np.str_("x"), "x")],
    ids=repr,
)
def test_numpy_scalars_match_their_python_choices(value, expected):
    """np.int64(2) is the choice 2 (in enqueue and fixed), and 1, 1.0 and True stay apart."""
    dist = Categorical([1, 1.0, True, 2, "x"])
    assert dist.choices[int(dist._encode(value))] == expected
    assert type(dist.choices[int(dist._encode(value))]) is type(expected)
    study = Study({"a": Categorical([1, 2, 3])})
    study.enqueue({"a": np.int64(2)})
    study.optimize(lambda c: 0.0, n_trials=1, fixed={"a": np.int64(3)})
    assert study.trials[0].params["a"] == 2 and type(study.trials[0].params["a"]) is int
    study.optimize(lambda c: 0.0, n_trials=1, fixed={"a": np.int64(3)})
    assert study.trials[1].params["a"] == 3


def test_numpy_scalars_are_duplicates_of_their_python_values():
    with pytest.raises(ValueError, match="duplicate choices"):
        Categorical([1, np.int64(1)])
    with pytest.raises(SpaceError, match="not one of the choices"):
        Study({"a": Categorical([1, 2])}).enqueue({"a": np.float64(1.0)})


def test_nan_choice_round_trips():
    """A NaN option (SimpleImputer(missing_values=np.nan)) must encode back."""
    space = SearchSpace({"missing": Categorical([np.nan, 0.0, -1.0])})
    for index in range(3):
        params = space.decode_params(np.array([float(index)]))
        np.testing.assert_array_equal(space.encode_params(params), [float(index)])


def test_int_bounds_at_the_exact_float_limit_are_sampled_exactly():
    """Up to 2**53 every integer is an exact float, so TPE's values stay integers in bounds."""
    study = Study({"x": Int(2**53 - 10, 2**53)}, sampler=TPESampler(seed=0, n_startup_trials=3))
    study.optimize(lambda p: float(p["x"] % 3), n_trials=8)
    values = [trial.params["x"] for trial in study.trials]
    assert all(isinstance(v, int) and 2**53 - 10 <= v <= 2**53 for v in values), values


# ---------------------------------------------------------------- space assembly
@pytest.mark.parametrize(
    ("space", "fragments"),
    [
        pytest.param(
            {"a": Float(0.0, 1.0, label="b"), "b": Int(0, 3)},
            ["space['b']", "space['a']", "'b'"],
            id="label-collides-with-key",
        ),
        pytest.param(
            {"opt": {"lr": Float(0.0, 1.0, label="lr")}, "sched": [Float(0.0, 1.0, label="lr")]},
            ["space['sched'][0]", "space['opt']['lr']", "'lr'"],
            id="duplicate-label-nested",
        ),
        pytest.param(
            {"m": Categorical([{"C": Float(0.0, 1.0, label="C")}, {"C": Float(1.0, 2.0, label="C")}])},
            ["space['m'][1]['C']", "space['m'][0]['C']"],
            id="duplicate-label-across-branches",
        ),
        pytest.param(
            {"a/b": Int(0, 1), "a": {"b": Int(0, 1)}},
            ["space['a']['b']", "space['a/b']", "'a/b'"],
            id="path-names-collide",
        ),
        pytest.param({1.5: Float(0.0, 1.0)}, ["space", "1.5", "float"], id="float-key"),
        pytest.param({"a": {(1, 2): Int(0, 3)}}, ["space['a']", "(1, 2)"], id="tuple-key-nested"),
        pytest.param({"a": [{None: Int(0, 3)}]}, ["space['a'][0]", "None"], id="none-key-in-list"),
        pytest.param({"a": Float(0.0, 1.0, label="")}, ["space['a']", "label"], id="empty-label"),
        pytest.param({"a": Float(0.0, 1.0, label=3)}, ["space['a']", "label", "3"], id="int-label"),
        # A set was a constant holding the Float object itself, which the objective received.
        pytest.param({"a": {Float(0.0, 1.0)}}, ["space['a']", "a set", "a list or a tuple"], id="set-of-a-float"),
        pytest.param({"a": [frozenset({Int(0, 3)})]}, ["space['a'][0]", "a set"], id="frozenset-in-list"),
    ],
)
def test_assembly_error_names_the_path(space, fragments):
    with pytest.raises(SpaceError) as excinfo:
        SearchSpace(space)
    assert isinstance(excinfo.value, ValueError)
    for fragment in fragments:
        assert fragment in str(excinfo.value), f"{fragment!r} not in {str(excinfo.value)!r}"
    with pytest.raises(SpaceError):  # a Study compiles its space the same way
        Study(space)


@pytest.mark.parametrize(
    ("grid", "fragments"),
    [
        pytest.param({"C": []}, ["space['C']", "empty"], id="empty-list"),
        pytest.param([{"C": [1]}, {"C": [2], "k": []}], ["space[1]['k']", "empty"], id="in-second-dict"),
        pytest.param({"C": 1.0}, ["space['C']", "1.0"], id="scalar"),
        pytest.param({"kernel": "rbf"}, ["space['kernel']", "'rbf'"], id="string"),
        pytest.param([{"C": [1]}, 3], ["space[1]", "3"], id="not-a-dict"),
        pytest.param([], ["empty"], id="empty-list-of-dicts"),
        pytest.param("C", ["dict", "str"], id="a-string"),
    ],
)
def test_from_sklearn_errors_name_the_path(grid, fragments):
    with pytest.raises(SpaceError) as excinfo:
        from_sklearn(grid)
    for fragment in fragments:
        assert fragment in str(excinfo.value), f"{fragment!r} not in {str(excinfo.value)!r}"


def test_encode_errors_name_the_path_and_suggest_names():
    space = SearchSpace({"opt": {"lr": Float(1e-4, 1e-1, log=True)}})
    with pytest.raises(SpaceError, match=r"space\['opt'\]\['lr'\].*5\.0.*outside"):
        space.encode_params({"opt/lr": 5.0})
    with pytest.raises(SpaceError, match="did you mean 'opt/lr'"):
        space.encode_params({"opt/lrr": 0.01})
    with pytest.raises(SpaceError, match="'opt/lr' is missing"):
        space.encode_params({})  # a full encoding needs every active parameter
    assert np.isnan(space.encode_partial({})).all()  # a partial one needs none


# ---------------------------------------------------------------- valid leaves
VALID = [
    Float(0.0, 1.0),
    Float(1e-5, 1e-1, log=True, label="lr"),
    Float(-1.0, 1.0, step=0.25),
    Int(1, 4),
    Int(16, 512, log=True, step=2, label="units"),
    Categorical(["relu", "tanh"], weights=[3, 1]),
    Categorical([1, 1.0, True, None, (64, 32)]),
    Categorical([{"kernel": "linear"}, {"kernel": "rbf", "gamma": Float(1e-4, 1.0, log=True)}]),
    Normal(0.0, 2.0, log=True, step=0.5),
]


@pytest.mark.parametrize("dist", VALID, ids=repr)
def test_repr_evaluates_back_to_an_equal_distribution(dist):
    namespace = {"Float": Float, "Int": Int, "Categorical": Categorical, "Normal": Normal}
    again = eval(repr(dist), namespace)  # noqa: S307 - our own repr
    assert again == dist and hash(again) == hash(dist)
    assert repr(again) == repr(dist)


def test_repr_shows_the_arguments():
    assert repr(Float(1e-5, 1e-1, log=True)) == "Float(low=1e-05, high=0.1, log=True, step=None, label=None)"
    assert repr(Int(1, 4, label="n")) == "Int(low=1, high=4, log=False, step=1, label='n')"
    assert repr(Categorical(["a", "b"], weights=[1, 3])) == (
        "Categorical(choices=('a', 'b'), weights=(0.25, 0.75), label=None)"
    )


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (Float(0, 1), Float(0.0, 1.0)),
        (Int(1, 5), Int(np.int64(1), np.int64(5))),
        (Categorical([1, 2]), Categorical((1, 2))),
        (Categorical(["a", "b"], weights=[1, 1]), Categorical(["a", "b"], weights=[2, 2])),
        (Categorical([{"C": Float(0, 1)}]), Categorical([{"C": Float(0.0, 1.0)}])),
        (Categorical([SVC(), "none"]), Categorical([SVC(), "none"])),  # compared by state, not identity
        (Categorical([np.array([1, 2]), np.array([3, 4])]), Categorical([np.array([1, 2]), np.array([3, 4])])),
        (Categorical([float("nan"), 1.0]), Categorical([np.nan, 1.0])),
    ],
)
def test_equal_definitions_are_equal(a, b):
    assert a == b and hash(a) == hash(b)
    assert pickle.loads(pickle.dumps(a)) == b  # as a stored space is read back


def test_arrays_that_differ_in_one_value_are_distinct_choices():
    a = np.zeros(5000)
    b = a.copy()
    b[100] = 1.0  # their reprs are the same, abbreviated
    dist = Categorical([a, b])
    assert dist._encode(b.copy()) == 1.0 and dist != Categorical([a, a + 1])
    with pytest.raises(ValueError, match="duplicate choices"):
        Categorical([a, a.copy()])


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (Float(0.0, 1.0), Float(0.0, 2.0)),
        (Float(0.0, 1.0), Float(0.0, 1.0, label="x")),
        (Float(0.0, 1.0), Float(0.0, 1.0, step=0.5)),
        (Float(1.0, 2.0), Float(1.0, 2.0, log=True)),
        (Float(0.0, 1.0), Int(0, 1)),
        (Int(0, 4), Int(0, 4, step=2)),
        (Categorical([1, 2]), Categorical([1.0, 2.0])),
        (Categorical([1, 2]), Categorical([True, 2])),
        (Categorical([1, 2]), Categorical([2, 1])),
        (Categorical(["a", "b"], weights=[1, 2]), Categorical(["a", "b"])),
        (Categorical([{"C": Float(0, 1)}]), Categorical([{"C": Float(0, 2)}])),
        (Categorical([SVC(), "none"]), Categorical([SVC(C=2.0), "none"])),
        (Categorical([np.array([1, 2])]), Categorical([np.array([1.0, 2.0])])),
    ],
)
def test_different_definitions_are_not_equal(a, b):
    assert a != b and b != a


# ---------------------------------------------------------------- grids
@pytest.mark.parametrize(
    ("dist", "expected"),
    [
        (Float(0, 1, step=0.1), [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]),
        (Float(-0.3, 0.3, step=0.1), [-0.3, -0.2, -0.1, 0.0, 0.1, 0.2, 0.3]),
        (Float(1.1, 1.5, step=0.1), [1.1, 1.2, 1.3, 1.4, 1.5]),
        (Float(0, 0.75, step=0.25), [0.0, 0.25, 0.5, 0.75]),
        (Float(0.1, 0.7, step=0.2, log=True), [0.1, 0.3, 0.5, 0.7]),
        (Float(0.01, 0.05, step=0.01), [0.01, 0.02, 0.03, 0.04, 0.05]),
        (Float(-5, 5, step=2.5), [-5.0, -2.5, 0.0, 2.5, 5.0]),
        (Int(0, 10, step=5), [0, 5, 10]),
        (Int(1, 8, log=True), [1, 2, 3, 4, 5, 6, 7, 8]),
    ],
    ids=repr,
)
def test_stepped_grid_values_are_clean(dist, expected):
    got = grid_values({"x": dist}, "x")
    assert got == expected  # exact: 0.3, not 0.30000000000000004
    assert [type(v) for v in got] == [type(v) for v in expected]


@pytest.mark.parametrize(
    ("dist", "decimals"),
    [
        (Float(0, 100, step=0.01), 2),
        (Float(0, 1000, step=0.001), 3),
        (Float(10000, 20000, step=0.1), 1),
        (Float(0.001, 100, step=0.001, log=True), 3),
    ],
    ids=repr,
)
def test_stepped_float_values_are_written_as_decimals_at_every_magnitude(dist, decimals):
    # Values of a few units and up were left as 85.07000000000001, 18506.300000000003 (rounded to digits
    # of the step that a float of their size does not hold).
    space = {"x": dist}
    study = Study(space, sampler=RandomSampler(seed=0))
    drawn = [study.ask().params["x"] for _ in range(300)]
    assert all(v == round(v, decimals) for v in drawn)
    if dist.log:
        return
    gridded = dist._grid(None).tolist()  # a Float's values are its encoding; a study over 1e6 points would be slow
    assert all(v == round(v, decimals) for v in gridded)
    value = gridded[len(gridded) * 7 // 8]
    enqueued = Study(space)
    enqueued.enqueue({"x": value})
    assert enqueued.ask().params["x"] == value


def test_a_grid_too_large_is_refused_before_any_of_it_is_made():
    # An Int over a huge range made the whole range (a MemoryError) before the size was checked.
    space = SearchSpace({"a": Int(0, 10**12), "b": Categorical([{"c": Int(0, 10**9)}, {"d": 1}])})
    assert grid_size(space) == (10**12 + 1) * (10**9 + 2)
    with pytest.raises(SpaceError, match="more than 10,000,000 points"):
        Study(space, sampler=GridSampler()).optimize(lambda config: 0.0)


def test_random_stepped_float_values_are_clean():
    clean = {round(0.1 * k, 10) for k in range(11)}
    study = Study({"x": Float(0, 1, step=0.1)}, sampler=RandomSampler(seed=3))
    values = {study.ask().params["x"] for _ in range(200)}
    assert values <= clean and len(values) == 11


@pytest.mark.parametrize(
    ("dist", "value", "expected"),
    [
        (Float(0, 1, step=0.1), 0.1 * 3, 0.3),
        (Float(0, 0.3, step=0.1), 0.1 * 3, 0.3),  # just above high by rounding
        (Float(-0.3, 0.3, step=0.1), -0.3 + 0.1 * 3, 0.0),
        (Float(0.1, 0.7, step=0.2, log=True), 0.1 + 0.2 * 2, 0.5),
        (Normal(0.0, 1.0, step=0.1), 0.1 * 3, 0.3),
        (Normal(0.0, 1.0, log=True, step=1.0), 0.0, 0.0),
    ],
    ids=repr,
)
def test_stepped_values_given_by_hand_are_snapped_to_the_grid(dist, value, expected):
    """An enqueued or fixed value within rounding error of a grid point is
    stored as that point, exactly as the grid and the samplers give it."""
    got = dist._encode(value)
    assert got == expected and repr(got) == repr(expected)


def test_an_enqueued_noisy_grid_value_is_not_a_new_grid_point():
    study = Study({"f": Float(0, 1, step=0.1)}, sampler=GridSampler())
    study.enqueue({"f": 0.1 * 3})
    study.optimize(lambda c: c["f"])
    values = [t.params["f"] for t in study.trials]
    assert len(values) == 11 and sorted(values) == grid_values({"f": Float(0, 1, step=0.1)}, "f")
    fixed = Study({"f": Float(0, 1, step=0.1), "g": Float(0, 1)}, sampler=RandomSampler(seed=0))
    fixed.optimize(lambda c: 0.0, n_trials=1, fixed={"f": 0.1 * 7})
    assert repr(fixed.trials[0].params["f"]) == "0.7"


def test_off_grid_values_of_a_stepped_normal_are_refused():
    with pytest.raises(ValueError, match="not a multiple of the step"):
        Normal(0.0, 1.0, step=0.1, label="q")._encode(0.35)


def test_log_float_grid_is_geometric():
    got = grid_values({"lr": Float(1e-4, 1e-1, log=True)}, "lr", n_points=4)
    assert got[0] == 1e-4 and got[-1] == 1e-1
    np.testing.assert_allclose(got, [1e-4, 1e-3, 1e-2, 1e-1], rtol=1e-12)
    np.testing.assert_allclose(np.diff(np.log(got)), np.log(10.0), rtol=1e-9)


def test_linear_float_grid_is_evenly_spaced():
    got = grid_values({"x": Float(-1.0, 1.0)}, "x", n_points=5)
    assert got == [-1.0, -0.5, 0.0, 0.5, 1.0]


@pytest.mark.parametrize(
    ("space", "path"),
    [
        ({"lr": Float(1e-4, 1e-1, log=True)}, "space['lr']"),
        ({"opt": {"momentum": Float(0.0, 1.0), "n": Int(1, 3)}}, "space['opt']['momentum']"),
        ({"m": Categorical([{"k": "a"}, {"C": Float(0.0, 1.0, label="C")}])}, "space['m'][1]['C']"),
    ],
)
def test_grid_over_an_unstepped_float_needs_n_points(space, path):
    study = Study(space, sampler=GridSampler())
    with pytest.raises(ValueError) as excinfo:
        study.optimize(lambda config: 0.0)
    assert path in str(excinfo.value) and "n_points" in str(excinfo.value)
    assert study.trials == []
    with pytest.raises(ValueError, match="n_points"):
        study.ask()


@pytest.mark.parametrize(
    "leaf",
    [Normal(0.0, 1.0), scipy.stats.loguniform(1e-3, 1e1), scipy.stats.randint(1, 5)],
    ids=["Normal", "loguniform", "randint"],
)
def test_unbounded_or_scipy_leaf_in_a_grid_is_a_clear_error(leaf):
    study = Study({"a": Int(0, 2), "x": leaf}, sampler=GridSampler(n_points=3))
    with pytest.raises(ValueError, match=r"space\['x'\].*grid"):
        study.optimize(lambda config: 0.0)
    assert study.trials == []


# ---------------------------------------------------------------- scipy.stats leaves
def test_scipy_leaves_sample_in_their_support():
    space = {"C": scipy.stats.loguniform(1e-3, 1e1), "n": scipy.stats.randint(1, 5), "k": Int(0, 2)}
    study = Study(space, sampler=RandomSampler(seed=0))
    trials = [study.ask() for _ in range(100)]
    cs = [t.params["C"] for t in trials]
    ns = [t.params["n"] for t in trials]
    assert all(type(c) is float and 1e-3 <= c <= 1e1 for c in cs)
    assert all(type(n) is int for n in ns) and set(ns) == {1, 2, 3, 4}
    assert min(cs) < 1e-2 and max(cs) > 1.0  # spread over decades, as a log-uniform
    for t in trials:
        row = study.search_space.encode_params(t.params)
        np.testing.assert_array_equal(row, t._row)
        assert study.search_space.decode_config(row) == t.config


class _LayerSizes:
    """A home-made distribution in scikit-learn's rvs contract, giving tuples."""

    def rvs(self, random_state=None):
        return tuple(random_state.randint(4, 16, size=random_state.randint(1, 3)))


def test_an_object_with_rvs_that_is_not_a_scipy_distribution_is_refused_saying_what_to_give():
    with pytest.raises(SpaceError, match=r"space\['hidden'\]: _LayerSizes has an rvs\(\) method but is not a scipy"):
        SearchSpace(from_sklearn({"hidden": _LayerSizes(), "alpha": scipy.stats.uniform(0, 1)}))


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"x": 5.0}, r"space\['x'\]: scipy.stats.uniform: 5.0 is outside the support \[0.0, 1.0\]"),
        ({"x": -1e9}, "outside the support"),
        ({"k": 99}, r"space\['k'\]: scipy.stats.randint: 99 is outside the support \[0.0, 2.0\]"),
        ({"k": 1.5}, r"space\['k'\]: scipy.stats.randint: expected an integer, got 1.5"),
    ],
)
def test_an_enqueued_value_outside_a_scipy_leafs_support_is_refused(config, message):
    # Enqueued values of scipy.stats leaves were only checked to be numbers: x=5.0 for uniform(0, 1) ran,
    # and k=1.5 for randint(0, 3) was rounded to 2.
    study = Study({"x": scipy.stats.uniform(0, 1), "k": scipy.stats.randint(0, 3)}, sampler=RandomSampler(seed=0))
    with pytest.raises(SpaceError, match=message):
        study.enqueue(config)
    study.enqueue({"x": 1.0, "k": 2})  # the support's ends are in it
    assert study.ask().params == {"x": 1.0, "k": 2}


def test_scipy_leaves_are_reproducible_with_a_seed():
    def run(seed):
        space = {"C": scipy.stats.loguniform(1e-3, 1e1), "n": scipy.stats.randint(1, 5)}
        study = Study(space, sampler=RandomSampler(seed=seed))
        return [study.ask().params for _ in range(10)]

    assert run(4) == run(4)
    assert run(4) != run(5)


# ---------------------------------------------------------------- from_sklearn
def test_from_sklearn_turns_lists_into_categoricals():
    loguniform = scipy.stats.loguniform(1e-3, 1e1)
    lr = Float(1e-4, 1e-1, log=True)
    space = from_sklearn({"kernel": ["linear", "rbf"], "C": loguniform, "lr": lr, "n": range(1, 4)})
    assert space == {
        "kernel": Categorical(["linear", "rbf"]),
        "C": loguniform,
        "lr": lr,
        "n": Categorical([1, 2, 3]),
    }
    assert space["C"] is loguniform and space["lr"] is lr


def test_from_sklearn_accepts_numpy_arrays():
    """scikit-learn grids are often ``np.logspace(...)``; GridSearchCV takes them."""
    space = from_sklearn({"C": np.logspace(-2, 2, 5), "gamma": np.array([0.1, 1.0])})
    assert sorted(set(grid_values(space, "C"))) == pytest.approx([0.01, 0.1, 1.0, 10.0, 100.0])


def test_from_sklearn_searches_a_repeated_value_once_and_says_so():
    with pytest.warns(UserWarning, match=r"space\['n'\]: repeated values \[11\] are searched once"):
        space = from_sklearn({"n": np.round(np.logspace(1, 1.05, 3)).astype(int), "k": ["a", "b"]})
    assert space["n"].choices == (10, 11) and space["k"].choices == ("a", "b")


def test_from_sklearn_list_of_dicts_is_a_conditional_space():
    grid = [
        {"kernel": ["linear"], "C": [1, 10]},
        {"kernel": ["rbf"], "C": [1], "gamma": [0.1, 0.01]},
    ]
    space = from_sklearn(grid)
    assert isinstance(space, Categorical) and len(space.choices) == 2
    compiled = SearchSpace(space)
    assert compiled.params[0].conditional
    assert set(compiled.names) == {"x", "0/kernel", "0/C", "1/kernel", "1/C", "1/gamma"}
    study = Study(space, sampler=GridSampler())
    study.optimize(lambda config: 0.0)
    configs = [t.config for t in study.trials]
    assert sorted(configs, key=repr) == sorted(
        [
            {"kernel": "linear", "C": 1},
            {"kernel": "linear", "C": 10},
            {"kernel": "rbf", "C": 1, "gamma": 0.1},
            {"kernel": "rbf", "C": 1, "gamma": 0.01},
        ],
        key=repr,
    )


def test_from_sklearn_with_scipy_leaves_samples_both_branches():
    space = from_sklearn(
        [{"C": scipy.stats.loguniform(1e-3, 1e1)}, {"n": scipy.stats.randint(1, 5), "k": ["a"]}]
    )
    study = Study(space, sampler=RandomSampler(seed=1))
    configs = [study.ask().config for _ in range(40)]
    assert {tuple(c) for c in configs} == {("C",), ("n", "k")}
    assert all(1e-3 <= c["C"] <= 1e1 for c in configs if "C" in c)
    assert all(type(c["n"]) is int and 1 <= c["n"] <= 4 for c in configs if "n" in c)
