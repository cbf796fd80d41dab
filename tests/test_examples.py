"""The examples run (with --quick) and print their results."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("grid_search.py", ["GridSearchCV: best CV accuracy", "TPESearchCV(sampler='grid'): best CV accuracy"]),
        ("random_search.py", ["RandomizedSearchCV: best CV accuracy", "TPESearchCV(sampler='random')"]),
        ("bayesian_optimization.py", ["fmin: best {'hidden_units'", "TPESearchCV: best CV accuracy"]),
    ],
)
def test_example_runs_quick(script: str, expected: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / script), "--quick"], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    for fragment in expected:
        assert fragment in done.stdout


def test_demo_prints_a_best_configuration() -> None:
    done = subprocess.run([sys.executable, str(EXAMPLES / "demo.py")], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "best accuracy" in done.stdout and "best configuration:" in done.stdout


@pytest.mark.parametrize("script", ["demo.py", "grid_search.py", "random_search.py", "bayesian_optimization.py"])
def test_help_describes_the_example_without_running_it(script: str) -> None:
    done = subprocess.run([sys.executable, str(EXAMPLES / script), "--help"], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage:") and "best" not in done.stdout
    description = " ".join(done.stdout.split("\n\n")[1].split())
    assert description.endswith(".") and len(description) > 40  # the first paragraph, not its first line
