"""Distributions: the leaves of a search space.

Every distribution validates its arguments when it is constructed, because
that is where the user's mistake is, and knows three things about itself:

* how to draw values from its prior (``_draw``), in the *encoded* form that
  samplers work with (the raw value for numbers, the option index for a
  :class:`Categorical`);
* how to turn an encoded value back into the user's value (``_decode``);
* how to turn a user's value into its encoded form (``_encode``).

Numeric parameters are encoded by their raw value, not by a transformed
one, so that ``decode(encode(v)) == v`` exactly; samplers that work on a
log scale apply the transform themselves.
"""

from __future__ import annotations

import math
import pickle
import reprlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from tpe_core._validation import check_bool

__all__ = ["Categorical", "Distribution", "Float", "Int", "Normal", "round_to_step"]

# Relative tolerance when checking that a step divides a range.
_STEP_RTOL = 1e-9
_EXACT_INT = 2**53  # every integer of at most this magnitude is an exact float
# A stepped Float's grid points must stay apart in float arithmetic, and
# written as decimals (round_to_step) must stay on the grid.
_MAX_FLOAT_STEPS = 1e12


class Distribution:
    """Base class of the leaves of a search space.

    Parameters
    ----------
    label : str, optional
        Name of the parameter. When omitted, the parameter is named after its
        path in the space (see :class:`tpe_core.SearchSpace`).
    """

    label: str | None

    def _describe(self) -> str:
        kind = type(self).__name__
        return f"{kind} {self.label!r}" if self.label is not None else kind

    def _error(self, message: str) -> ValueError:
        return ValueError(f"{self._describe()}: {message}")

    def _draw(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Draw ``size`` encoded values from the prior; shape ``(size,)``."""
        raise NotImplementedError

    def _decode(self, x: float) -> Any:
        """Turn one encoded value into the value the user sees."""
        raise NotImplementedError

    def _encode(self, value: Any) -> float:
        """Turn a user's value into its encoded form, checking it is valid."""
        raise NotImplementedError

    def _grid(self, n_points: int | None) -> np.ndarray:
        """Encoded values of this distribution on a grid."""
        raise ValueError(f"{self._describe()}: cannot be enumerated by a grid")

    def _grid_size(self, n_points: int | None) -> int:
        """How many values :meth:`_grid` gives, counted without making them."""
        return len(self._grid(n_points))

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and vars(self) == vars(other)

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.label))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({args})"


def _check_finite(dist: Distribution, **values: float) -> None:
    for name, value in values.items():
        if not isinstance(value, (int, float, np.integer, np.floating)) or isinstance(value, bool):
            raise dist._error(f"{name} must be a number, got {name}={value!r}")
        if not math.isfinite(value):
            raise dist._error(f"{name} must be finite, got {name}={value!r}")


def _check_flag(dist: Distribution, name: str, value: object) -> bool:
    try:
        return check_bool(name, value)
    except ValueError as e:
        raise dist._error(str(e)) from None


def _check_bounds(dist: Distribution, low: float, high: float, log: bool) -> None:
    _check_finite(dist, low=low, high=high)
    if low >= high:
        raise dist._error(
            f"needs low < high, got low={low!r}, high={high!r}; "
            "use a constant for a fixed value"
        )
    if not math.isfinite(float(high) - float(low)):
        raise dist._error(
            f"the range high - low must be a finite float, got low={low!r}, high={high!r}; "
            "narrow it, or use log=True for a range spanning many magnitudes"
        )
    if log and low <= 0:
        raise dist._error(
            f"log=True needs low > 0, got low={low!r}; use a small positive lower bound "
            "such as 1e-6"
        )


def _step_tolerance(n_steps: float) -> float:
    """How far, in steps, a value may be from the step grid and still be on
    it: rounding error, which grows with the number of steps, never a
    hundredth of a step."""
    return min(_STEP_RTOL * max(1.0, abs(n_steps)), 1e-2)


def _check_step(dist: Distribution, low: float, high: float, step: float) -> None:
    _check_finite(dist, step=step)
    if step <= 0:
        raise dist._error(f"step must be > 0, got step={step!r}")
    if isinstance(dist, Int):
        divides = (int(high) - int(low)) % int(step) == 0
    else:
        n_steps = (high - low) / step
        if n_steps > _MAX_FLOAT_STEPS:
            raise dist._error(
                f"step={step!r} cuts [{low!r}, {high!r}] into {n_steps:.3g} steps, more than "
                f"{_MAX_FLOAT_STEPS:.0e}; drop the step (a Float takes any value in its range) "
                "or choose a larger one"
            )
        divides = abs(n_steps - round(n_steps)) <= _step_tolerance(n_steps)
    if not divides:
        raise dist._error(
            f"step={step!r} does not divide the range [{low!r}, {high!r}] "
            f"(high - low = {high - low!r} is {(high - low) / step:.6g} steps); "
            "choose a high that is low plus a whole number of steps"
        )


def round_to_step(x: np.ndarray, anchor: float | np.ndarray, step: float | np.ndarray) -> np.ndarray:
    """The nearest points of the grid ``anchor + k * step``, written as
    decimals: ``0.3``, not ``0.30000000000000004``, and ``85.07``, not
    ``85.07000000000001``.

    A point is rounded to 12 significant digits of the step, and to at most
    15 significant digits of its own (what a float holds exactly); where
    that would move it by more than a millionth of the step (a step such as
    ``0.125`` on a grid of more than ``1e12`` points), it is kept as
    computed. ``anchor`` and ``step`` may be arrays that broadcast against
    ``x`` (one grid per column).
    """
    point = anchor + np.rint((x - anchor) / step) * step
    magnitude = np.maximum(np.abs(point), step)
    decimals = np.minimum(12 - np.floor(np.log10(step)), 14 - np.floor(np.log10(magnitude)))
    scale = 10.0**decimals
    written = np.rint(point * scale) / scale
    return np.where(np.abs(written - point) <= 1e-6 * step, written, point)


class _Numeric(Distribution):
    """Shared behaviour of :class:`Float` and :class:`Int`: a bounded range,
    optionally on a log scale, optionally on a step grid anchored at ``low``."""

    low: float
    high: float
    log: bool
    step: float | None

    @property
    def _n_steps(self) -> int:
        assert self.step is not None
        return int(round((self.high - self.low) / self.step))

    def _snap(self, x: np.ndarray) -> np.ndarray:
        """Round values to the step grid and clip them into the bounds.

        Grid values are rounded to 12 significant digits of the step, so that
        ``low=0, step=0.1`` gives ``0.3`` rather than ``0.30000000000000004``.
        """
        if self.step is not None:
            x = round_to_step(x, self.low, self.step)
        return np.clip(x, self.low, self.high)

    def _on_grid(self, x: float) -> bool:
        if self.step is None:
            return True
        k = (x - self.low) / self.step
        return abs(k - round(k)) <= _step_tolerance(k)

    def _draw(self, rng: np.random.Generator, size: int) -> np.ndarray:
        if self.step is not None and not self.log:
            return self._snap(self.low + rng.integers(0, self._n_steps + 1, size=size) * self.step)
        half = 0.5 * self.step if self.step is not None else 0.0
        low, high = self.low - half, self.high + half
        if self.log:
            low = max(low, self.low * 0.5) if half else low
            x = np.exp(rng.uniform(np.log(low), np.log(high), size=size))
        else:
            x = rng.uniform(low, high, size=size)
        return self._snap(x)

    def _grid(self, n_points: int | None) -> np.ndarray:
        if self.step is not None:
            return self._snap(self.low + np.arange(self._n_steps + 1) * self.step)
        n_points = self._grid_size(n_points)
        if self.log:
            return np.geomspace(self.low, self.high, n_points)
        return np.linspace(self.low, self.high, n_points)

    def _grid_size(self, n_points: int | None) -> int:
        if self.step is not None:
            return self._n_steps + 1
        if n_points is None:
            raise ValueError(
                f"{self._describe()}: a Float without a step has no natural grid; "
                "pass GridSampler(n_points=...) or give the Float a step"
            )
        return n_points

    def _check_value(self, value: Any, slack: float = 0.0) -> float:
        """``value`` as a float, checked to be a number in the bounds (widened
        by ``slack`` on each side)."""
        x = _check_number(self, value)
        if not self.low - slack <= x <= self.high + slack:
            raise self._error(f"{value!r} is outside [{self.low!r}, {self.high!r}]")
        return x


class Float(_Numeric):
    """A real number in ``[low, high]``.

    Parameters
    ----------
    low, high : float
        Finite bounds, ``low < high``; both are included.
    log : bool, default=False
        Sample on a log scale (then ``low > 0``), as for a learning rate.
    step : float, optional
        Restrict the values to ``low, low + step, ..., high``; the step must
        divide ``high - low`` into at most ``1e12`` steps. The values are
        written as decimals (``85.07``, not ``85.07000000000001``).
    label : str, optional
        Name of the parameter, overriding its path in the space.

    Examples
    --------
    >>> Float(1e-5, 1e-1, log=True)
    Float(low=1e-05, high=0.1, log=True, step=None, label=None)
    >>> Float(0.0, 0.5, step=0.1).step
    0.1
    """

    def __init__(
        self,
        low: float,
        high: float,
        *,
        log: bool = False,
        step: float | None = None,
        label: str | None = None,
    ) -> None:
        self.low = low
        self.high = high
        self.log = log
        self.step = step
        self.label = label
        self.log = _check_flag(self, "log", log)
        _check_bounds(self, low, high, self.log)
        if step is not None:
            _check_step(self, low, high, step)
        self.low, self.high = float(low), float(high)
        self.step = None if step is None else float(step)

    def _decode(self, x: float) -> float:
        return float(x)

    def _encode(self, value: Any) -> float:
        """The value, or for a stepped Float the grid point it is within
        rounding error of, as the grid and the samplers give it (``0.1 * 3``
        is stored as ``0.3``)."""
        if self.step is None:
            return self._check_value(value)
        x = self._check_value(value, slack=_step_tolerance(self._n_steps) * self.step)
        if x in (self.low, self.high):
            return x  # the samplers clip to the bounds: a bound is a value as it is
        if not self._on_grid(x):
            raise self._error(f"{value!r} is not on the step grid (step={self.step!r})")
        k = round((x - self.low) / self.step)
        return float(self._snap(np.array([self.low + k * self.step]))[0])


class Int(_Numeric):
    """An integer in ``[low, high]`` (both included).

    Parameters
    ----------
    low, high : int
        Bounds, ``low < high``, each within ``+-2**53`` (where every
        integer is an exact float).
    log : bool, default=False
        Sample on a log scale (then ``low > 0``), as for a number of units.
    step : int, default=1
        Restrict the values to ``low, low + step, ..., high``.
    label : str, optional
        Name of the parameter, overriding its path in the space.

    Examples
    --------
    >>> Int(16, 512, log=True).log
    True
    """

    def __init__(
        self,
        low: int,
        high: int,
        *,
        log: bool = False,
        step: int = 1,
        label: str | None = None,
    ) -> None:
        self.low = low
        self.high = high
        self.log = log
        self.step = step
        self.label = label
        self.log = _check_flag(self, "log", log)
        for name, value in (("low", low), ("high", high), ("step", step)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise self._error(f"{name} must be an integer, got {name}={value!r}")
        for name, value in (("low", low), ("high", high)):
            if abs(int(value)) > _EXACT_INT:
                raise self._error(
                    f"{name} must lie within +-2**53 = {_EXACT_INT}, where every integer is exact in "
                    f"the float arithmetic of the samplers, got {name}={value!r}"
                )
        _check_bounds(self, low, high, self.log)
        _check_step(self, low, high, step)
        self.low, self.high, self.step = int(low), int(high), int(step)

    def _draw(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return np.round(super()._draw(rng, size))

    def _decode(self, x: float) -> int:
        return int(round(x))

    def _encode(self, value: Any) -> float:
        if isinstance(value, (float, np.floating)) and not float(value).is_integer():
            raise self._error(f"expected an integer, got {value!r}")
        x = self._check_value(value)
        if not self._on_grid(x):
            raise self._error(f"{value!r} is not on the step grid (step={self.step!r})")
        return x


def _check_number(dist: Distribution, value: Any) -> float:
    """``value`` as a float, checked to be a number (not a bool or a string)."""
    if isinstance(value, (bool, np.bool_, str, bytes)) or not isinstance(
        value, (int, float, np.integer, np.floating)
    ):
        raise dist._error(f"expected a number, got {value!r}")
    return float(value)


def _is_nan(x: Any) -> bool:
    return isinstance(x, (float, np.floating)) and math.isnan(x)


def pickled(value: Any) -> bytes | None:
    """``value``'s pickle, or None when it cannot be pickled (a lambda)."""
    try:
        return pickle.dumps(value)
    except Exception:
        return None


def _choice_key(choice: Any) -> Any:
    """Key that tells choices apart, the same for a choice and its copy.

    ``1``, ``1.0`` and ``True`` differ; a numpy scalar counts as its Python
    equivalent (``np.int64(1)`` as ``1``); every NaN is the same; arrays
    compare by their values; lists, tuples and dicts by their items' keys,
    in the same way (a dict's order aside); an object that compares by
    identity (an estimator, a function) compares by its pickle, so that an
    unpickled copy (a stored space, a space built again) is the same choice.
    """
    if isinstance(choice, (np.integer, np.floating, np.bool_, np.str_)):
        choice = choice.item()
    if _is_nan(choice):
        return (float, "nan")
    if isinstance(choice, np.ndarray):
        return (np.ndarray, choice.dtype.str, choice.shape, choice.tobytes())
    if type(choice) in (list, tuple):
        return (type(choice), tuple(_choice_key(c) for c in choice))
    if type(choice) is dict:
        return (dict, frozenset((_choice_key(k), _choice_key(v)) for k, v in choice.items()))
    if type(choice).__eq__ is object.__eq__:
        blob = pickled(choice)
        return (type(choice), choice if blob is None else blob)  # a lambda: itself
    try:
        hash(choice)
    except TypeError:
        return (type(choice), repr(choice))
    return (type(choice), choice)


class Categorical(Distribution):
    """One of a list of options.

    An option may be any constant (a string, a number, ``None``, a tuple of
    layer sizes, a callable) or a *sub-space*: a dict, list or tuple holding
    further distributions. A Categorical with sub-space options makes a
    conditional space: only the chosen branch's parameters are active.

    Parameters
    ----------
    choices : sequence or 1-d array
        The options, at least one, no two equal (an array's values become
        Python numbers).
    weights : sequence of float, optional
        Prior probabilities of the options (normalised to sum to 1); uniform
        when omitted.
    label : str, optional
        Name of the parameter, overriding its path in the space.

    Examples
    --------
    >>> Categorical(["relu", "tanh", "gelu"]).choices
    ('relu', 'tanh', 'gelu')
    >>> Categorical([{"kernel": "linear"}, {"kernel": "rbf", "gamma": Float(1e-4, 1.0, log=True)}])
    ... # doctest: +ELLIPSIS
    Categorical(choices=({'kernel': 'linear'}, {'kernel': 'rbf', 'gamma': Float(...)}), ...)
    """

    def __init__(
        self,
        choices: Sequence[Any],
        *,
        weights: Sequence[float] | None = None,
        label: str | None = None,
    ) -> None:
        self.choices = choices
        self.weights = weights
        self.label = label
        if isinstance(choices, np.ndarray) and choices.ndim == 1:
            choices = choices.tolist()  # np.arange(1, 5): its values, as Python numbers
        if isinstance(choices, (str, bytes, dict)) or not isinstance(choices, Sequence):
            raise self._error(
                f"choices must be a list or tuple of options, got {type(choices).__name__} "
                f"{choices!r}"
            )
        self.choices = tuple(choices)
        if not self.choices:
            raise self._error("choices must not be empty")
        keys = self._keys
        duplicates = sorted({repr(c) for c, k in zip(self.choices, keys) if keys.count(k) > 1})
        if duplicates:
            raise self._error(f"duplicate choices {', '.join(duplicates)} in {list(self.choices)!r}")
        if weights is not None:
            self.weights = self._normalise(weights)

    def _normalise(self, weights: Sequence[float]) -> tuple[float, ...]:
        try:
            w = np.asarray(weights, dtype=float)
        except (TypeError, ValueError) as e:
            raise self._error(
                f"weights must be a sequence of numbers, one per choice, got {weights!r}"
            ) from e
        if w.shape != (len(self.choices),):
            raise self._error(
                f"weights must have one entry per choice ({len(self.choices)}), got {weights!r}"
            )
        if not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
            raise self._error(
                f"weights must be finite, non-negative and not all zero, got {weights!r}"
            )
        return tuple(float(p) for p in w / w.sum())

    @property
    def _keys(self) -> list[Any]:
        """:func:`_choice_key` of each choice (not kept: a stored space pickles as it did)."""
        return [_choice_key(c) for c in self.choices]

    def __eq__(self, other: object) -> bool:
        return (
            type(other) is Categorical
            and self._keys == other._keys
            and self.weights == other.weights
            and self.label == other.label
        )

    __hash__ = Distribution.__hash__

    def _draw(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.choice(len(self.choices), size=size, p=self.weights).astype(float)

    def _grid(self, n_points: int | None) -> np.ndarray:
        return np.arange(len(self.choices), dtype=float)

    def _decode(self, x: float) -> Any:
        return self.choices[int(x)]

    def _encode(self, value: Any) -> float:
        for index, choice in enumerate(self.choices):
            if choice is value:
                return float(index)
        key = _choice_key(value)
        for index, choice in enumerate(self.choices):
            if _choice_key(choice) == key:
                return float(index)
        raise self._error(f"{value!r} is not one of the choices {list(self.choices)!r}")

    def _encode_index(self, value: Any) -> float:
        """Encode a branch index, as conditional Categoricals are recorded."""
        if isinstance(value, bool) or not isinstance(value, (int, np.integer, float, np.floating)):
            branches = "; ".join(f"{i}: {reprlib.repr(choice)}" for i, choice in enumerate(self.choices))
            raise self._error(f"expected a branch index, got {value!r} (the branches: {branches})")
        if value != int(value) or not 0 <= value < len(self.choices):
            raise self._error(
                f"branch index must be an integer in [0, {len(self.choices) - 1}], got {value!r}"
            )
        return float(value)


class Normal(Distribution):
    """An unbounded real number with a Gaussian prior.

    The value is ``x``, ``exp(x)`` when ``log=True``, rounded to a multiple of
    ``step`` when a step is given, with ``x ~ N(mu, sigma)``. It exists for
    hyperopt's ``hp.normal`` family; prefer :class:`Float` with bounds.

    Parameters
    ----------
    mu : float
        Mean of the Gaussian (of ``log(value)`` when ``log=True``).
    sigma : float
        Standard deviation, ``> 0``.
    log : bool, default=False
        The value is ``exp(x)``: a log-normal prior.
    step : float, optional
        Round the value to a multiple of ``step``.
    label : str, optional
        Name of the parameter, overriding its path in the space.
    """

    def __init__(
        self,
        mu: float,
        sigma: float,
        *,
        log: bool = False,
        step: float | None = None,
        label: str | None = None,
    ) -> None:
        self.mu = mu
        self.sigma = sigma
        self.log = log
        self.step = step
        self.label = label
        self.log = _check_flag(self, "log", log)
        _check_finite(self, mu=mu, sigma=sigma)
        if sigma <= 0:
            raise self._error(f"sigma must be > 0, got sigma={sigma!r}")
        if step is not None:
            _check_finite(self, step=step)
            if step <= 0:
                raise self._error(f"step must be > 0, got step={step!r}")
        self.mu, self.sigma = float(mu), float(sigma)
        self.step = None if step is None else float(step)

    def _draw(self, rng: np.random.Generator, size: int) -> np.ndarray:
        x = rng.normal(self.mu, self.sigma, size=size)
        if self.log:
            x = np.exp(x)
        if self.step is not None:
            x = round_to_step(x, 0.0, self.step) + 0.0  # no -0.0
        return x

    def _decode(self, x: float) -> float:
        return float(x)

    def _encode(self, value: Any) -> float:
        """The value; with a step, the multiple of the step it is within
        rounding error of, as the samplers give it."""
        x = _check_number(self, value)
        if not math.isfinite(x) or (self.log and x < 0):
            raise self._error(f"{value!r} is outside the support")
        if self.step is None:
            return x
        k = x / self.step
        if abs(k - round(k)) > _step_tolerance(k):
            raise self._error(f"{value!r} is not a multiple of the step (step={self.step!r})")
        return float(round_to_step(np.array([x]), 0.0, self.step)[0] + 0.0)
