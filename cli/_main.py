"""The ``parzen`` click application."""

from __future__ import annotations

import csv
import functools
import io
import json
import os
import sys
import traceback
from collections.abc import Callable
from typing import Any

import click

import tpe_core
from cli._errors import CliError

DEFAULT_STORAGE = "sqlite:///parzen.db"


def _friendly(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``--debug``; show a user's mistake as one line and exit with code 2."""

    @click.option("--debug", is_flag=True, help="Show the full traceback of an error.")
    @functools.wraps(command)
    def wrapper(*args: Any, debug: bool, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (CliError, tpe_core.StorageError, tpe_core.SpaceError, ValueError, TypeError) as e:
            if debug:  # the traceback, and the same exit code for scripts
                traceback.print_exc()
            click.echo(f"Error: {e}", err=True)
            sys.exit(2)

    return wrapper


def _storage_option(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--storage", default=DEFAULT_STORAGE, show_default=True, help="Where the studies are (an SQLite URL)."
    )(command)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(tpe_core.__version__, "--version", "-V", prog_name="parzen")
def main() -> None:
    """parzen: tune the hyperparameters of deep-learning models.

    Start with `parzen tune --dataset digits --model mlp`; studies are kept
    in ./parzen.db, so `parzen show`, `best`, `export` and `plot` read
    them and a second `tune` with the same study name resumes it.
    """


_JOB_OPTIONS = [
    click.option("--config", "config_file", help="Settings and space from a .toml, .yaml or .json file."),
    click.option("--dataset", help="iris, digits, wine, breast_cancer (classification) or diabetes (regression)."),
    click.option("--csv", "csv_file", help="A CSV file with a header row and numeric features."),
    click.option("--target", help="The column of --csv to predict."),
    click.option("--task", help="classification or regression (default: from the target's values)."),
    click.option("--model", help="mlp (default) or convnet (square single-channel images, e.g. digits)."),
    click.option("--seed", type=int, help="Seed of the sampler and of the networks (default 0)."),
    click.option("--cv", type=int, help="Score by K-fold cross-validation instead of a held-out split."),
    click.option("--validation-fraction", type=float, help="Held-out share of the training data (default 0.2)."),
    click.option("--scoring", help="A scikit-learn scorer name (default: accuracy / r2)."),
    click.option("--device", help="auto (default), cpu or cuda."),
    click.option("--max-epochs", type=int, help="Fix the number of epochs instead of searching it."),
    click.option("--storage", help=f"Where to keep the study (default {DEFAULT_STORAGE})."),
    click.option("--study", help="Study name (default: DATASET-MODEL); an existing one is resumed."),
    click.option("--quiet", is_flag=True, help="No progress bar and no messages, only the results."),
]
#: Options of ``tune`` only: how the search runs (``try`` runs one given trial).
_SEARCH_OPTIONS = [
    click.option("--sampler", help="tpe (default), random or grid."),
    click.option("--n-trials", type=int, help="Trials to run in this call (default 20)."),
    click.option("--timeout", type=float, help="Stop starting trials after this many seconds."),
    click.option("--pruner", help="none (default), median, asha or hyperband."),
    click.option("--jobs", type=int, help="Trials run at once in worker processes (default 1)."),
    click.option("--dask-scheduler", help="Run trials on the Dask cluster at this address."),
]


def _options(*groups: list[Callable[..., Any]]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def add(command: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed([o for group in groups for o in group]):
            command = option(command)
        return command

    return add


@main.command()
@_options(_JOB_OPTIONS, _SEARCH_OPTIONS)
@click.option("--fix", "fixes", multiple=True, metavar="NAME=VALUE", help="Hold a hyperparameter (repeatable).")
@_friendly
def tune(config_file: str | None, quiet: bool, fixes: tuple[str, ...], **flags: Any) -> None:
    """Tune a network on a dataset and store the study.

    --fix holds hyperparameters at a value for this run only; the study and
    its space stay the same, so a later run without --fix searches them
    again, learning from these trials.
    """
    from cli._tune import Settings, parse_assignments, run_tune

    run_tune(Settings.from_sources(config_file, flags), quiet=quiet, fixed=parse_assignments(fixes))


@main.command(name="try")
@_options(_JOB_OPTIONS)
@click.option("--set", "assignments", multiple=True, metavar="NAME=VALUE", help="A hyperparameter value (repeatable).")
@_friendly
def try_(config_file: str | None, quiet: bool, assignments: tuple[str, ...], **flags: Any) -> None:
    """Evaluate one configuration by hand and store it in the study.

    Values not given with --set are the model's defaults (brought inside the
    search space). The trial is stored as "manual"; later `parzen tune` runs
    of the same study learn from it.
    """
    from cli._tune import Settings, parse_assignments, run_try

    run_try(Settings.from_sources(config_file, flags, search=False), parse_assignments(assignments), quiet=quiet)


@main.command()
@_storage_option
@_friendly
def studies(storage: str) -> None:
    """List the studies in a storage, with their trial counts and best values."""
    store = tpe_core.SQLiteStorage(storage)
    names = store.study_names()
    if not names:
        click.echo(f"No study in {store.path}.")
        return
    rows = []
    for name in names:
        study = tpe_core.load_study(storage=store, study_name=name)
        trials = study.trials
        complete = [t for t in trials if t.state is tpe_core.TrialState.COMPLETE]
        best = f"{study.best_value:.6g}" if complete else "-"
        rows.append([name, study.direction, str(len(trials)), str(len(complete)), best])
    click.echo(_table(["study", "direction", "trials", "complete", "best"], rows))


@main.command()
@click.argument("study")
@_storage_option
@click.option("--state", type=click.Choice(["running", "complete", "pruned", "fail"], case_sensitive=False))
@click.option("--sort", type=click.Choice(["number", "value"]), default="number", show_default=True)
@click.option("--limit", type=click.IntRange(min=0), help="Show at most this many trials.")
@click.option("--compare", type=int, nargs=2, metavar="A B", help="Show trials A and B side by side.")
@_friendly
def show(
    study: str, storage: str, state: str | None, sort: str, limit: int | None, compare: tuple[int, int] | None
) -> None:
    """Show the trials of a study: number, state, value, duration, source, parameters."""
    loaded = tpe_core.load_study(storage=storage, study_name=study)
    trials = loaded.trials
    if compare:
        _compare(loaded, *compare)
        return
    if state is not None:
        trials = [t for t in trials if t.state.value == state.upper()]
    if sort == "value":  # COMPLETE trials first: a PRUNED trial's value is a partial one
        sign = -1.0 if loaded.direction == "maximize" else 1.0
        trials.sort(key=lambda t: (t.state is not tpe_core.TrialState.COMPLETE, t.value is None,
                                   sign * (t.value or 0.0)))
    if limit is not None:
        trials = trials[:limit]
    names = list(loaded.search_space.names)
    rows = [
        [str(t.number), t.state.value, "-" if t.value is None else f"{t.value:.6g}",
         "-" if t.duration is None else f"{t.duration.total_seconds():.1f}s", t.source]
        + [_short(t.params.get(n, "")) for n in names]
        for t in trials
    ]
    click.echo(_table(["#", "state", "value", "duration", "source", *names], rows))


def _compare(study: tpe_core.Study, a: int, b: int) -> None:
    trials = study.trials
    for number in (a, b):
        if not 0 <= number < len(trials):
            held = f"trials 0 to {len(trials) - 1}" if trials else "no trial yet"
            raise CliError(f"--compare: study {study.study_name!r} has {held}, not {number}")
    first, second = trials[a], trials[b]
    rows = [
        ["state", first.state.value, second.state.value],
        ["value", *("-" if t.value is None else f"{t.value:.6g}" for t in (first, second))],
        ["source", first.source, second.source],
        ["best epoch", *(str(t.user_attrs.get("best_epoch", "-")) for t in (first, second))],
    ]
    for name in study.search_space.names:
        cells = [_short(t.params[name]) if name in t.params else "-" for t in (first, second)]
        rows.append([name, *cells, *(["<- differs"] if cells[0] != cells[1] else [])])
    click.echo(_table(["", f"trial {a}", f"trial {b}", ""], [r + [""] * (4 - len(r)) for r in rows]))


@main.command()
@click.argument("study")
@_storage_option
@click.option("--yes", is_flag=True, help="Delete without asking.")
@_friendly
def delete(study: str, storage: str, yes: bool) -> None:
    """Delete a study and all its trials from the storage (asks first)."""
    store = tpe_core.SQLiteStorage(storage)
    n_trials = len(tpe_core.load_study(storage=store, study_name=study).trials)
    if not yes and not click.confirm(f"Delete study {study!r} and its {n_trials} trials from {store.path}?"):
        click.echo(f"Kept study {study!r}; nothing was deleted.", err=True)
        raise SystemExit(1)
    tpe_core.delete_study(storage=store, study_name=study)
    click.echo(f"Deleted study {study!r} ({n_trials} trials) from {store.path}.")


@main.command()
@click.argument("study")
@_storage_option
@_friendly
def best(study: str, storage: str) -> None:
    """Print the best configuration as JSON: for a study of `parzen tune`, the
    network's parameters (a conditional choice's branch merged in), with
    max_epochs the best epoch, as the refit trains: MLPClassifier(**params)."""
    from cli._tune import MEASURES

    loaded = tpe_core.load_study(storage=storage, study_name=study)
    if not loaded.get_trials([tpe_core.TrialState.COMPLETE]):
        raise CliError(f"study {study!r} has no COMPLETE trial yet; see `parzen show {study}`, or run more "
                       f"trials: `parzen tune --study {study}` with the data and settings that made it")
    trial = loaded.best_trial
    config = dict(trial.config) if isinstance(trial.config, dict) else trial.config
    if isinstance(config, dict) and MEASURES in loaded.user_attrs:  # made by tune: the estimator's parameters
        from models import estimator_params

        config = estimator_params(config)
    if isinstance(config, dict) and "best_epoch" in trial.user_attrs:
        config["max_epochs"] = trial.user_attrs["best_epoch"]
    click.echo(json.dumps(config, indent=2, default=str))


_EXPORT_FORMATS = ("csv", "json")


@main.command()
@click.argument("study")
@_storage_option
@click.option("--format", "fmt", type=click.Choice(_EXPORT_FORMATS),
              help="csv or json; by default the extension of -o names it (CSV for another, and for '-').")
@click.option("-o", "--output", required=True, help="The file to write ('-' for standard output).")
@_friendly
def export(study: str, storage: str, fmt: str | None, output: str) -> None:
    """Export the trials of a study as CSV or JSON."""
    named = os.path.splitext(output)[1].lower().lstrip(".")
    if fmt is not None and named in _EXPORT_FORMATS and named != fmt:
        raise CliError(f"--format {fmt}, but -o {output} names a .{named} file: give one of the two, or make "
                       "them agree")
    fmt = fmt or (named if named in _EXPORT_FORMATS else "csv")
    records = tpe_core.load_study(storage=storage, study_name=study).to_records()
    buffer = io.StringIO()
    if fmt == "json":
        json.dump(records, buffer, indent=1, default=str)
    else:
        writer = csv.DictWriter(buffer, fieldnames=list(records[0]) if records else ["number"])
        writer.writeheader()
        writer.writerows(records)
    text = buffer.getvalue()
    if output == "-":
        click.echo(text, nl=False)
    else:
        try:
            with open(output, "w", newline="") as f:
                f.write(text)
        except OSError as e:
            raise _unwritable(output, e) from None
        click.echo(f"Wrote {len(records)} trials to {output}.", err=True)


@main.command()
@click.argument("study")
@_storage_option
@click.option(
    "--kind", type=click.Choice(["history", "importance", "parallel", "slice"]), default="history", show_default=True
)
@click.option("-o", "--output", required=True,
              help="The file to write: PNG, unless its extension names another format (.pdf, .svg, .jpg).")
@_friendly
def plot(study: str, storage: str, kind: str, output: str) -> None:
    """Plot a study: optimisation history, parameter importance, parallel coordinates or slices."""
    from cli._plots import PLOTS

    if output == "-":
        raise CliError("plot writes an image file: give -o a file name (history.png); '-', standard output, is "
                       "for export")
    loaded = tpe_core.load_study(storage=storage, study_name=study)
    try:
        PLOTS[kind](loaded, output)
    except OSError as e:
        raise _unwritable(output, e) from None
    click.echo(f"Wrote the {kind} plot of {study!r} to {output}.", err=True)


def _unwritable(output: str, error: OSError) -> CliError:
    return CliError(f"cannot write -o {output!r}: {error.strerror or error}")


def _short(value: Any) -> str:
    text = f"{value:.4g}" if isinstance(value, float) else str(value)
    return text if len(text) <= 24 else text[:21] + "..."


def _table(header: list[str], rows: list[list[str]]) -> str:
    """A plain text table, columns padded to their widest cell; a column without a heading (notes) is not
    underlined."""
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows)]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(line, widths)).rstrip() for line in [header, *rows]]
    rule = "  ".join(("-" if h else " ") * w for h, w in zip(header, widths)).rstrip()
    return "\n".join([lines[0], rule, *lines[1:]])
