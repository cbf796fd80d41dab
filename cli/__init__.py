"""cli: the ``parzen`` command line."""

from cli._main import main

__all__ = ["main"]
