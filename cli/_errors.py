"""Errors a user of the command line can make, shown as one line (exit code 2)."""

from __future__ import annotations

__all__ = ["CliError"]


class CliError(Exception):
    """A mistake in the command's input; the message says what and how to fix it."""
