"""Checks of constructor and call arguments, with errors that name them."""

from __future__ import annotations

import json
import numbers
import reprlib
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["as_stored_user_attr", "check_bool", "check_int", "check_seconds", "is_integer"]


def check_bool(name: str, value: object) -> bool:
    """``value`` as a bool, if it is ``True`` or ``False`` (a numpy bool too).

    A flag is not read from a string or a number: ``log="no"`` would be true.

    Raises
    ------
    ValueError
        Naming ``name`` and the value it got.
    """
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {name}={value!r}")
    return bool(value)


def is_integer(value: object) -> bool:
    """Whether ``value`` is an integer (numpy's too), not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_int(name: str, value: object, *, minimum: int, allow_none: bool = False) -> int | None:
    """``value`` as an int, if it is an integer (not a bool) of at least ``minimum``.

    Raises
    ------
    ValueError
        Naming ``name`` and the value it got.
    """
    if value is None and allow_none:
        return None
    if not is_integer(value) or value < minimum:
        expected = f"{'None or ' if allow_none else ''}an integer >= {minimum}"
        raise ValueError(f"{name} must be {expected}, got {name}={value!r}")
    return int(value)


def check_seconds(name: str, value: object, *, allow_none: bool = False) -> float | None:
    """``value`` as a float, if it is a positive number of seconds (not a bool, not NaN).

    Raises
    ------
    ValueError
        Naming ``name`` and the value it got.
    """
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0:
        expected = f"{'None or ' if allow_none else ''}a positive number of seconds"
        raise ValueError(f"{name} must be {expected}, got {name}={value!r}")
    return float(value)


def as_stored_user_attr(key: object, value: object, reserved: Mapping[str, str] | None = None) -> Any:
    """``value`` as a stored study gives it back (JSON: numbers, strings, lists, dicts), so that a user
    attribute reads the same in memory and from storage (a tuple is a list, a dict's keys are strings).

    Raises
    ------
    TypeError
        When ``key`` is not a string.
    ValueError
        When ``key`` is one of ``reserved`` (keys parzen sets, each with what it is for), or ``value`` is
        not JSON-serialisable, naming ``key``.
    """
    if not isinstance(key, str):
        raise TypeError(f"set_user_attr: key must be a string, got {key!r}")
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"set_user_attr: key must be text that UTF-8 can write, got {key!r}") from None
    if reserved and key in reserved:
        raise ValueError(f"set_user_attr: the key {key!r} is reserved: {reserved[key]}; use another key")
    try:
        return json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError, RecursionError) as e:  # RecursionError: nested too deep
        raise ValueError(
            f"set_user_attr: value of {key!r} must be JSON-serialisable (numbers, strings, "
            f"lists, dicts, finite floats, not nested too deep), got {reprlib.repr(value)}"
        ) from e
