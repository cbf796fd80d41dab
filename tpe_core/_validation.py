"""Checks of constructor and call arguments, with errors that name them."""

from __future__ import annotations

import numbers

__all__ = ["check_int", "check_seconds"]


def check_int(name: str, value: object, *, minimum: int, allow_none: bool = False) -> int | None:
    """``value`` as an int, if it is an integer (not a bool) of at least ``minimum``.

    Raises
    ------
    ValueError
        Naming ``name`` and the value it got.
    """
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
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
