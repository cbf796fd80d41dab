"""``parzen plot``: pictures of a study, drawn with matplotlib into a PNG file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import tpe_core
from cli._errors import CliError

__all__ = ["PLOTS"]


def _figure(width: float = 7.0, height: float = 4.5) -> Any:
    import matplotlib

    matplotlib.use("Agg")  # files only, no display needed
    import matplotlib.pyplot as plt

    return plt.figure(figsize=(width, height))


def _complete(study: tpe_core.Study) -> list[tpe_core.Trial]:
    trials = study.get_trials([tpe_core.TrialState.COMPLETE])
    if not trials:
        pruned = len(study.get_trials(tpe_core.TrialState.PRUNED))
        raise CliError(f"study {study.study_name!r} has no COMPLETE trial to plot yet"
                       + (f" ({pruned} were pruned: run more trials so that some train to the end)" if pruned else ""))
    return trials


def _option_label(option: Any, width: int = 16) -> str:
    """An option of a categorical parameter as a short tick label (a branch by its constant values; its
    distributions are parameters of their own)."""
    if isinstance(option, dict):
        text = ", ".join(str(v) for v in option.values() if not isinstance(v, tpe_core.Distribution))
    else:
        text = str(option)
    return text if len(text) <= width else text[: width - 1] + "\N{HORIZONTAL ELLIPSIS}"


def _save(figure: Any, output: str) -> None:
    """Write ``output``, under that very name: PNG unless its extension names another format that
    matplotlib writes (``run.v2`` is a PNG)."""
    figure.tight_layout()
    suffix = Path(output).suffix[1:].lower()
    known = suffix in figure.canvas.get_supported_filetypes()
    figure.savefig(output, dpi=100, **({} if known else {"format": "png"}))
    import matplotlib.pyplot as plt

    plt.close(figure)


def plot_history(study: tpe_core.Study, output: str) -> None:
    """Each trial's value in order, and the best so far."""
    trials = _complete(study)
    numbers = np.array([t.number for t in trials])
    values = np.array([t.value for t in trials])
    best = np.maximum.accumulate(values) if study.direction == "maximize" else np.minimum.accumulate(values)
    manual = np.array([t.source == "manual" for t in trials])
    figure = _figure()
    axes = figure.add_subplot()
    axes.scatter(numbers[~manual], values[~manual], s=14, label="trial (sampler)")
    if manual.any():
        axes.scatter(numbers[manual], values[manual], s=40, marker="*", color="C1", label="trial (manual)")
    axes.step(numbers, best, where="post", color="C3", label="best so far")
    axes.set(xlabel="trial", ylabel="value", title=f"{study.study_name}: optimisation history")
    axes.legend()
    _save(figure, output)


def plot_importance(study: tpe_core.Study, output: str) -> None:
    """Parameter importances (``Study.importances``: random-forest impurity decrease)."""
    scores = study.importances()
    figure = _figure(7.0, 0.4 * len(scores) + 1.5)
    axes = figure.add_subplot()
    names = list(scores)[::-1]
    axes.barh(names, [scores[n] for n in names])
    axes.set(xlabel="importance (sums to 1)", title=f"{study.study_name}: parameter importance")
    _save(figure, output)


def _numeric_params(study: tpe_core.Study, trials: list[tpe_core.Trial]) -> tuple[list[str], np.ndarray]:
    """Encoded parameters of the trials (choices by index), one column per parameter."""
    names = list(study.search_space.names)
    if not names:
        raise CliError(f"study {study.study_name!r} searches no parameter (its space is all constants): "
                       "nothing to plot against; try --kind history")
    rows = np.array([study._history.rows[t.number] for t in trials])
    return names, rows


def plot_parallel(study: tpe_core.Study, output: str) -> None:
    """Parallel coordinates: one line per trial across the parameters, coloured by value."""
    trials = _complete(study)
    names, rows = _numeric_params(study, trials)
    low, high = np.nanmin(rows, axis=0), np.nanmax(rows, axis=0)
    scaled = (rows - low) / np.where(high > low, high - low, 1.0)
    values = np.array([t.value for t in trials])
    colour = (values - values.min()) / (np.ptp(values) or 1.0)
    figure = _figure(max(7.0, 1.1 * len(names)), 4.5)
    axes = figure.add_subplot()
    import matplotlib.pyplot as plt

    for line, c in zip(scaled, colour):
        axes.plot(range(len(names)), line, color=plt.cm.viridis(c), alpha=0.7)
    axes.set_xticks(range(len(names)), names, rotation=30, ha="right")
    axes.set(ylabel="scaled value", title=f"{study.study_name}: parallel coordinates (yellow = higher value)")
    _save(figure, output)


def _log_axis(axes: Any, low: float, high: float) -> None:
    """A log-scaled x axis labelled at 1, 2 and 5 times the powers of ten
    over a range of less than two decades, at the powers alone otherwise
    (matplotlib's own labels of a narrow range overlap, or are a single one)."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    axes.set_xscale("log")
    if high < 100 * low:
        axes.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        axes.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:g}"))
    axes.xaxis.set_minor_formatter(NullFormatter())


def plot_slice(study: tpe_core.Study, output: str) -> None:
    """The value against each parameter, one panel per parameter."""
    trials = _complete(study)
    names, rows = _numeric_params(study, trials)
    values = np.array([t.value for t in trials])
    manual = np.array([t.source == "manual" for t in trials])
    columns = min(3, len(names))
    figure = _figure(4.0 * columns, 3.0 * ((len(names) + columns - 1) // columns))
    for j, name in enumerate(names):
        axes = figure.add_subplot((len(names) + columns - 1) // columns, columns, j + 1)
        axes.scatter(rows[~manual, j], values[~manual], s=10, label="sampler")
        if manual.any():
            axes.scatter(rows[manual, j], values[manual], s=40, marker="*", color="C1", label="manual")
            if j == 0:
                axes.legend()
        axes.set(xlabel=name, ylabel="value")
        distribution = study.search_space.params[j].distribution
        if isinstance(distribution, tpe_core.Categorical):  # the options by name, not by index
            labels = [_option_label(option) for option in distribution.choices]
            crowded = sum(map(len, labels)) > 24
            axes.set_xticks(range(len(labels)), labels, rotation=30 if crowded else 0,
                            ha="right" if crowded else "center")
        elif getattr(distribution, "log", False):
            _log_axis(axes, distribution.low, distribution.high)
    _save(figure, output)


PLOTS: dict[str, Callable[[tpe_core.Study, str], None]] = {
    "history": plot_history,
    "importance": plot_importance,
    "parallel": plot_parallel,
    "slice": plot_slice,
}
