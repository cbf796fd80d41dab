"""The ``parzen`` click application."""

from __future__ import annotations

import click

import tpe_core


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(tpe_core.__version__, "--version", "-V", prog_name="parzen")
def main() -> None:
    """parzen: tune the hyperparameters of deep-learning models.

    Library use: ``import tpe_core`` (spaces, samplers, studies, a
    hyperopt-compatible layer). Run ``make demo`` in the source tree for a
    first tuning job.
    """
