"""Errors a user of the command line can make, shown as one line (exit code 2)."""

from __future__ import annotations

import difflib
from collections.abc import Sequence

__all__ = ["CliError", "did_you_mean"]


class CliError(Exception):
    """A mistake in the command's input; the message says what and how to fix it."""


def did_you_mean(name: str, known: Sequence[str], *, always_list: bool = False) -> str:
    """The end of an "unknown NAME" message: the closest known name, else (or
    with ``always_list``, also) all of them."""
    hint = difflib.get_close_matches(name, known, n=1)
    listed = f"; known: {', '.join(known)}"
    if not hint:
        return listed
    return f" (did you mean {hint[0]!r}?)" + (listed if always_list else "")
