"""Checks of constructor and call arguments, with errors that name them."""

from __future__ import annotations

import numbers

__all__ = ["check_int"]


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
