"""An objective whose module takes 2 s to import, as a module that imports torch takes seconds.

Each spawned worker imports it before its first trial starts.
"""

from __future__ import annotations

import time

time.sleep(2.0)


def quick(config: dict) -> float:
    """A 0.1-second objective."""
    time.sleep(0.1)
    return float(config["x"])
