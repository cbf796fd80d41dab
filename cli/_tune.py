"""``parzen tune``: settings from a config file and flags, then the tuning job."""

from __future__ import annotations

import collections
import contextlib
import logging
import math
import numbers
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from typing import Any

import click
import numpy as np

import tpe_core
from cli._config import default_space, parse_space, read_config, yaml_load
from cli._data import Data, check_task, load_csv, load_dataset
from cli._errors import CliError, did_you_mean
from tpe_core._validation import is_integer

__all__ = ["Settings", "run_tune"]

_SAMPLERS = ("tpe", "random", "grid")
_PRUNERS = ("none", "median", "asha", "hyperband")
_MODELS = ("mlp", "convnet")
_DEVICES = ("auto", "cpu", "cuda")
_DEFAULT_SCORING = {"classification": "accuracy", "regression": "r2"}  # what the estimators' score() gives
TEST_FRACTION = 0.2
_CONFIG_ONLY = ("space", "replace_space")  # settings a config file gives, no flag
_TYPE_NAMES = {str: "a string", int: "a whole number", float: "a number", bool: "true or false", dict: "a table"}


@dataclass
class Settings:
    """Everything ``parzen tune`` needs; flags override the config file, which overrides these defaults."""

    dataset: str | None = None
    csv: str | None = None
    target: str | None = None
    task: str | None = None
    model: str = "mlp"
    sampler: str = "tpe"
    n_trials: int = 20
    timeout: float | None = None
    seed: int = 0
    cv: int | None = None
    validation_fraction: float = 0.2
    scoring: str | None = None
    pruner: str = "none"
    jobs: int = 1
    dask_scheduler: str | None = None
    device: str = "auto"
    max_epochs: int | None = None
    storage: str = "sqlite:///parzen.db"
    study: str | None = None
    space: dict[str, Any] = field(default_factory=dict)
    replace_space: bool = False

    @classmethod
    def from_sources(cls, config_file: str | None, flags: dict[str, Any], *, search: bool = True) -> Settings:
        """The settings of the file, overridden by the flags; ``search=False`` for ``try``, which uses
        no sampler or pruner."""
        values = read_config(config_file) if config_file else {}
        given = {"csv" if k == "csv_file" else k: v for k, v in flags.items() if v is not None}
        # a source of data given by a flag replaces the file's, whichever it is, and the file's task with it
        for flag, other in (("dataset", ("csv", "target", "task")), ("csv", ("dataset", "task"))):
            if flag in given:
                for name in other:
                    values.pop(name, None)
        values.update(given)
        settings = cls(**values)
        settings.check(search=search)
        return settings

    def check(self, *, search: bool = True) -> None:
        """Refuse settings that cannot work, naming the setting and the fix (those of a search only
        with ``search``)."""
        self._check_types()
        if (self.dataset is None) == (self.csv is None):
            raise CliError("give one source of data: --dataset NAME or --csv FILE --target COLUMN")
        if self.dataset is not None and self.target is not None:
            raise CliError(f"--target names the column of --csv to predict; --dataset {self.dataset} has its own "
                           f"target: leave --target out (got --target {self.target})")
        if self.task is not None:
            check_task(self.task)
        if self.study is not None and not self.study.strip():
            raise CliError(f"--study must be a name, got {self.study!r}; leave it out for the default, DATASET-MODEL")
        for name, allowed in (("sampler", _SAMPLERS), ("pruner", _PRUNERS), ("model", _MODELS),
                              ("device", _DEVICES)):
            if getattr(self, name) not in allowed:
                raise CliError(f"--{name} must be one of {', '.join(allowed)}, got {getattr(self, name)!r}")
        positive = [("n_trials", self.n_trials), ("jobs", self.jobs), ("cv", self.cv), ("max_epochs", self.max_epochs)]
        for name, value in positive:
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
                raise CliError(f"--{name.replace('_', '-')} must be a whole number >= 1, got {value!r}")
        if self.scoring is not None:
            from sklearn.metrics import get_scorer_names

            scorers = get_scorer_names()
            if self.scoring not in scorers:
                raise CliError(f"unknown --scoring {self.scoring!r}" + did_you_mean(self.scoring, scorers))
        if not 0 <= self.seed <= 2**32 - 1:
            raise CliError(f"--seed must be a whole number from 0 to 2**32 - 1 = {2**32 - 1}, got {self.seed!r}")
        if search and self.cv is not None and self.pruner != "none":
            raise CliError(f"--pruner {self.pruner} stops a trial between the epochs of its validation, and --cv "
                           "trains a network per fold without reporting epochs: use --validation-fraction with "
                           "--pruner, or --pruner none with --cv")
        if self.cv == 1:
            raise CliError("--cv needs at least 2 folds, got 1")
        if not 0.0 < self.validation_fraction < 1.0:
            raise CliError(f"--validation-fraction must be between 0 and 1, got {self.validation_fraction!r}")
        if self.timeout is not None and not self.timeout > 0:
            raise CliError(f"--timeout must be a positive number of seconds, got {self.timeout!r}")
        if self.device == "cuda":
            import torch

            if not torch.cuda.is_available():
                raise CliError("--device cuda: torch sees no CUDA GPU here; use --device auto (GPU when there is one)")

    def _check_types(self) -> None:
        """Refuse a value of the wrong type, as a config file may hold (``"0.2"`` for a number)."""
        hints = typing.get_type_hints(type(self))
        for f in fields(self):
            value = getattr(self, f.name)
            hint = hints[f.name]
            kinds = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
            kinds = tuple(typing.get_origin(k) or k for k in kinds)
            if not any(_is_a(value, kind) for kind in kinds):
                expected = " or ".join("null" if k is type(None) else _TYPE_NAMES[k] for k in kinds)
                setting = f.name if f.name in _CONFIG_ONLY else f"--{f.name.replace('_', '-')}"
                raise CliError(f"{setting} must be {expected}, got {value!r}")

    def metric(self, task: str) -> str:
        """The scorer's name: ``scoring``, or the one the estimators score with for ``task``."""
        return self.scoring or _DEFAULT_SCORING[task]

    def score_label(self, task: str) -> str:
        """What a trial's value is: ``validation accuracy``, or ``3-fold CV accuracy`` (the folds' mean)."""
        return f"{self.cv}-fold CV {self.metric(task)}" if self.cv is not None else f"validation {self.metric(task)}"

    @property
    def study_name(self) -> str:
        source = self.dataset if self.dataset is not None else str(self.csv).rsplit("/", 1)[-1].rsplit(".", 1)[0]
        return self.study or f"{source}-{self.model}"


def _is_a(value: Any, kind: type) -> bool:
    """Whether ``value`` is of ``kind``, as a setting reads it: a bool is not a number."""
    if kind is float:
        return isinstance(value, numbers.Real) and not isinstance(value, bool)
    if kind is int:
        return is_integer(value)
    return isinstance(value, kind)


def _load_data(settings: Settings) -> Data:
    if settings.dataset is not None:
        data = load_dataset(settings.dataset)
        if settings.task is not None and settings.task != data.task:
            raise CliError(f"dataset {settings.dataset!r} is a {data.task} task, not {settings.task}")
        return data
    return load_csv(settings.csv, settings.target, settings.task)  # type: ignore[arg-type]


def _space(settings: Settings, data: Data) -> dict[str, Any]:
    space = {} if settings.replace_space else default_space(settings.model, data.task)
    space.update(parse_space(settings.space))
    if settings.max_epochs is not None:
        space["max_epochs"] = settings.max_epochs
    elif settings.pruner in ("asha", "hyperband") and isinstance(space.get("max_epochs"), tpe_core.Int):
        space["max_epochs"] = space["max_epochs"].high  # rungs need one full length of training
    return space


def _estimator(settings: Settings, data: Data) -> Any:
    from models import ConvNetClassifier, MLPClassifier, MLPRegressor

    if settings.model == "convnet":
        side = math.isqrt(data.X.shape[1])
        if data.task != "classification" or side * side != data.X.shape[1]:
            raise CliError(
                "--model convnet classifies square single-channel images (e.g. --dataset digits); "
                f"this data has {data.X.shape[1]} features for {data.task}: use --model mlp"
            )
        return ConvNetClassifier(device=settings.device, random_state=settings.seed)
    cls = MLPClassifier if data.task == "classification" else MLPRegressor
    return cls(device=settings.device, random_state=settings.seed)


def _sampler(settings: Settings) -> tpe_core.BaseSampler:
    if settings.sampler == "tpe":
        return tpe_core.TPESampler(seed=settings.seed)
    if settings.sampler == "random":
        return tpe_core.RandomSampler(seed=settings.seed)
    # shuffled: the points a run that stops short of the grid visits are spread over all of it
    return tpe_core.GridSampler(n_points=3, shuffle=True, seed=settings.seed)


def _pruner(settings: Settings, space: dict[str, Any]) -> tpe_core.BasePruner | None:
    epochs = space.get("max_epochs", 20)
    epochs = epochs if isinstance(epochs, int) else 20
    if settings.pruner != "none" and epochs < 2:
        raise CliError(f"--pruner {settings.pruner} stops trials between epochs: it needs --max-epochs 2 or more, "
                       f"got {epochs}")
    if settings.pruner == "median":
        return tpe_core.MedianPruner(n_startup_trials=5)
    if settings.pruner == "asha":  # the bootstrap saves the first trials' full trainings (benchmarks/pruning.md)
        return tpe_core.SuccessiveHalvingPruner(
            min_resource=1, reduction_factor=3, max_resource=epochs, bootstrap_count=3
        )
    if settings.pruner == "hyperband":
        if epochs < 3:
            raise CliError(f"--pruner hyperband (reduction factor 3) has rungs from epoch 3: it needs --max-epochs "
                           f"3 or more, got {epochs}")
        return tpe_core.HyperbandPruner(min_resource=1, max_resource=epochs, reduction_factor=3)
    return None


def _split(data: Data, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Hold out a test part for the final score; standardise with the training part's statistics."""
    from sklearn.model_selection import train_test_split

    stratify = data.y if data.task == "classification" else None
    if stratify is not None:
        labels, counts = np.unique(stratify, return_counts=True)
        single = labels[counts == 1].tolist()
        if single:
            shown = ", ".join(map(repr, single[:5])) + (", ..." if len(single) > 5 else "")
            raise CliError(
                f"the target has {len(single)} class{'es' * (len(single) > 1)} of a single row ({shown}): each "
                "class needs 2 rows or more, one for the held-out test part; add rows, or merge or drop the class"
            )
    try:
        X_train, X_test, y_train, y_test = train_test_split(
            data.X, data.y, test_size=TEST_FRACTION, random_state=seed, stratify=stratify
        )
    except ValueError as e:  # too few rows for a stratified test part with a row of every class
        raise CliError(f"cannot hold out the test part ({TEST_FRACTION:.0%} of the {len(data.y)} rows, stratified by "
                       f"class): {e}; add rows, or merge or drop classes") from None
    mean, std = X_train.mean(axis=0), X_train.std(axis=0)
    std[std == 0] = 1.0
    return (X_train - mean) / std, (X_test - mean) / std, y_train, y_test


@dataclass
class _Job:
    """What tune and try share: the data split, the estimator, the study and the objective."""

    data: Data
    split: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
    estimator: Any
    study: tpe_core.Study
    objective: Any


def _prepare(settings: Settings, say: Any, given: dict[str, Any] | None = None, *, search: bool = True) -> _Job:
    """Data, space, estimator, objective and study; ``given`` (the values of
    --fix or --set) is checked against the space before any study is opened.
    ``search=False`` (``try``) trains one configuration to its end: the
    settings' sampler and pruner are not used (a config file's ``pruner``
    still shapes the space, as in the study ``tune`` made with it)."""
    from models import make_objective

    data = _load_data(settings)
    if data.note:
        say(data.note)
    _check_scoring(settings.scoring, data)
    space = _space(settings, data)
    compiled = tpe_core.SearchSpace(space)  # once: the grid sampler keeps its grid for this very space
    if given:
        if settings.max_epochs is not None and "max_epochs" in given:
            raise CliError(f"max_epochs={given['max_epochs']!r} and --max-epochs {settings.max_epochs} both set the "
                           "epochs: give one of them")
        compiled.encode_partial(given)  # a SpaceError names the value or the name
    sampler = _sampler(settings) if search else tpe_core.TPESampler(seed=settings.seed)
    grid_size = _grid_size(sampler, compiled) if isinstance(sampler, tpe_core.GridSampler) else None
    split = _split(data, settings.seed)
    estimator = _estimator(settings, data)
    _check_space(space, estimator, settings.model, data.X.shape[1])
    pruner = _pruner(settings, space) if search else None
    # Refuses a --cv or --validation-fraction that cannot split the training part.
    objective = make_objective(
        estimator, split[0], split[2], cv=settings.cv, validation_fraction=settings.validation_fraction,
        scoring=settings.scoring,
    )
    try:
        study = tpe_core.Study(
            compiled, sampler=sampler, direction="maximize", pruner=pruner,
            storage=settings.storage, study_name=settings.study_name,
        )
    except tpe_core.StudyMismatchError as e:
        hint = ""
        if "'max_epochs'" in e.reason and settings.max_epochs is None:
            if settings.pruner in ("asha", "hyperband"):
                hint = (f" (--pruner {settings.pruner} trains every trial to the most epochs, so max_epochs is a "
                        "constant here; resume this study with --pruner none or median)")
            else:
                stored = tpe_core.load_study(storage=settings.storage, study_name=settings.study_name).search_space
                epochs = stored.space.get("max_epochs") if isinstance(stored.space, dict) else None
                if isinstance(epochs, int):
                    hint = (f" (pass --max-epochs {epochs}: --max-epochs, or --pruner asha or hyperband, fixed it "
                            "in this study)")
        raise CliError(f"study {settings.study_name!r} in {settings.storage} {e.reason}{hint}; "
                       "pass --study NEW_NAME to start another study") from None
    _check_measures(study, settings, data)
    before = len(study.trials)
    say(f"Resuming study {settings.study_name!r} ({before} trial{'s' * (before != 1)} so far) in {study.storage.path}."
        if before else f"Created study {settings.study_name!r} in {study.storage.path}.")
    if grid_size is not None and not given:
        _say_grid_left(study, grid_size, settings, say)
    return _Job(data, split, estimator, study, objective)


def _check_scoring(scoring: str | None, data: Data) -> None:
    """Refuse a --scoring that cannot score this task, before any trial (each would fail)."""
    if scoring is None:
        return
    from sklearn.dummy import DummyClassifier, DummyRegressor
    from sklearn.metrics import get_scorer

    scorer = get_scorer(scoring)
    module = getattr(getattr(scorer, "_score_func", None), "__module__", "")
    if data.task == "classification" and module.endswith("_regression"):
        raise CliError(f"--scoring {scoring} is a regression metric, and this data is a classification; "
                       "use e.g. accuracy, balanced_accuracy, f1_macro or neg_log_loss")
    dummy = (DummyClassifier() if data.task == "classification" else DummyRegressor()).fit(data.X, data.y)
    try:
        scorer(dummy, data.X, data.y)
    except (ValueError, TypeError) as e:
        reason = " ".join(str(e).split())
        raise CliError(f"--scoring {scoring} cannot score this {data.task}: {reason}") from None


def _grid_size(sampler: tpe_core.GridSampler, space: tpe_core.SearchSpace) -> int:
    """The number of points of the grid; a grid too large to enumerate is refused."""
    try:
        return len(sampler.grid(space))
    except ValueError as e:
        what = str(e).split(";")[0]  # the library's advice names GridSampler's own arguments
        raise CliError(f"--sampler grid: {what}; give a config file whose space has a few values per "
                       "parameter (e.g. hidden_units = { choices = [32, 64, 128] }), or use --sampler "
                       "random or tpe") from None


def _say_grid_left(study: tpe_core.Study, size: int, settings: Settings, say: Any) -> None:
    """Say when the trials cover only part of what is left of the grid, or nothing is left."""
    assert isinstance(study.sampler, tpe_core.GridSampler)
    left = study.sampler.n_left(study.search_space, study._history)
    if left == 0:
        say(f"--sampler grid: the grid's {size} points have all been visited; nothing is left to run")
    elif settings.n_trials < left:
        say(f"--sampler grid runs {settings.n_trials} of the {left} points left of the grid's {size}, in an order "
            "shuffled by --seed (the same study resumed visits the others); a config file's space with a few "
            "values per parameter makes a grid to finish")


#: The study attribute in which ``parzen tune`` records what the values measure.
MEASURES = "parzen_measures"


def _check_measures(study: tpe_core.Study, settings: Settings, data: Data) -> None:
    """Record what the study's values measure; refuse to add values that measure something else.

    A study made before this was recorded (or by the library) takes this
    run's settings.
    """
    source = (f"--dataset {settings.dataset}" if settings.dataset is not None
              else f"--csv {settings.csv} --target {settings.target}")
    measures = {
        "data": f"{source} ({data.task})",
        "data_digest": data.digest(),
        "scoring": f"--scoring {settings.metric(data.task)}",
        "validation": (f"--cv {settings.cv}" if settings.cv is not None
                       else f"--validation-fraction {settings.validation_fraction}"),
        "seed": f"--seed {settings.seed}",
    }
    stored = study.user_attrs.get(MEASURES)
    if stored is None:
        study.set_user_attr(MEASURES, measures)
        return
    # The same data under another path or name is the same data; a setting recorded by no earlier run is taken.
    same_data = stored.get("data_digest") == measures["data_digest"] and stored.get("data", "").endswith(
        f"({data.task})")
    keys = [key for key in ("data", "scoring", "validation", "seed") if key in stored
            and not (key == "data" and same_data)]
    why = {"seed": ", which chooses the test and validation rows"}
    changes = [f"{stored[key]} (this run: {measures[key]}{why.get(key, '')})"
               for key in keys if stored[key] != measures[key]]
    if not changes and not same_data:
        changes = [f"the data of {stored['data']}, which has changed since"]
    if changes:
        raise CliError(
            f"study {settings.study_name!r} holds values measured with {'; '.join(changes)}: they would not "
            "compare. Run with the study's settings, or pass --study NEW_NAME"
        )
    if "seed" not in stored:  # a study from before the seed was recorded
        study.set_user_attr(MEASURES, {**stored, "seed": measures["seed"]})


def _check_space(space: dict[str, Any], estimator: Any, model: str, n_features: int) -> None:
    """Refuse, before any trial, a hyperparameter the network does not have and a value it cannot take
    (each option of a choice, both ends of a range, each constant, also inside conditional options).

    ``a__b`` names are skorch's to route: only their values are checked.
    """
    known = sorted(name for name in estimator.get_params(deep=False) if not name.startswith("_"))

    def check(entries: dict[str, Any], held: dict[str, Any]) -> None:
        # Constants first, each checked with those before it, then the distributions with all of them
        # (a conditional option's constants go with its other entries).
        held = dict(held)
        for name, entry in sorted(entries.items(), key=lambda item: isinstance(item[1], tpe_core.Distribution)):
            if "__" not in name and name not in known:
                raise CliError(f"unknown hyperparameter {name!r} in the space of --model {model}"
                               + did_you_mean(name, known))
            if isinstance(entry, tpe_core.Categorical):
                values = [c for c in entry.choices if not isinstance(c, dict)]
                for option in entry.choices:
                    if isinstance(option, dict):
                        check(option, held)
            elif isinstance(entry, (tpe_core.Float, tpe_core.Int)):
                values = [entry.low, entry.high]
            else:  # a constant (other distributions: unbounded, nothing to check)
                values = [] if isinstance(entry, tpe_core.Distribution) else [entry]
            for value in values:
                try:
                    estimator.check_params(n_features, **{**held, name: value})
                except (ValueError, TypeError) as e:
                    raise CliError(
                        f"the space's {name!r} may be {value!r}, which --model {model} refuses: {e}"
                    ) from None
                except (RuntimeError, MemoryError) as e:  # torch cannot allocate such a network
                    reason = (str(e).strip().splitlines() or [type(e).__name__])[0]
                    raise CliError(
                        f"the space's {name!r} may be {value!r}, for which --model {model} cannot build its "
                        f"network ({reason}); narrow the range"
                    ) from None
            if not isinstance(entry, tpe_core.Distribution):
                held[name] = entry

    check(space, {})


def _executor(settings: Settings) -> tpe_core.DaskExecutor | None:
    if settings.dask_scheduler is None:
        return None
    try:
        return tpe_core.DaskExecutor(settings.dask_scheduler)
    except OSError as e:  # unreachable
        raise CliError(f"--dask-scheduler {settings.dask_scheduler!r}: {e}; is a scheduler running there? "
                       "(`dask scheduler` starts one, `dask worker ADDRESS` its workers), or leave the option "
                       "out to run the trials here") from None
    except ValueError as e:  # not an address (no port)
        raise CliError(f"--dask-scheduler {settings.dask_scheduler!r}: {e}; give HOST:PORT, as "
                       "tcp://127.0.0.1:8786") from None


@contextlib.contextmanager
def _trial_logs(quiet: bool) -> Iterator[None]:
    """With ``quiet``, no "Trial N failed" warnings (and tracebacks) from the study while it runs."""
    logger = logging.getLogger("tpe_core")
    level = logger.level
    if quiet:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _sayer(quiet: bool) -> Any:
    return (lambda message: None) if quiet else (lambda message: click.echo(message, err=True))


def _interrupted(settings: Settings, study: tpe_core.Study, *, refit: bool = False) -> SystemExit:
    counts = collections.Counter(t.state.value for t in study.trials if t.state.is_finished())
    states = ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
    click.echo(
        f"\nInterrupted{' during the final refit' * refit}. The {counts.total()} trials of "
        f"{settings.study_name!r} ({states or 'none finished'}; an interrupted trial is a FAIL) are stored in "
        f"{study.storage.path}; "
        + (f"`parzen best {settings.study_name}` shows the best configuration." if refit
           else "run the same command again to resume."), err=True
    )
    return SystemExit(130)


def run_tune(settings: Settings, *, quiet: bool, fixed: dict[str, Any] | None = None) -> None:
    """Load the data, open (or resume) the study, run the trials, report the best."""
    from models._estimators import _user_interrupts

    executor = _executor(settings)
    job = _prepare(settings, _sayer(quiet), fixed)
    # SIGTERM (kill, a batch system's stop) stops the command as Ctrl-C does, between trainings too
    with _user_interrupts():
        try:
            with _trial_logs(quiet):
                job.study.optimize(
                    job.objective, n_trials=settings.n_trials, timeout=settings.timeout, n_jobs=settings.jobs,
                    executor=executor, show_progress=not quiet, fixed=fixed or None,
                )
        except KeyboardInterrupt:
            raise _interrupted(settings, job.study) from None
        try:
            _report(job.study, settings, job.data, job.estimator, job.split)
        except KeyboardInterrupt:
            raise _interrupted(settings, job.study, refit=True) from None


def parse_assignments(assignments: tuple[str, ...]) -> dict[str, Any]:
    """``("lr=1e-2", "optimizer=adam")`` -> ``{"lr": 0.01, "optimizer": "adam"}`` (YAML 1.2 scalars)."""
    values = {}
    for item in assignments:
        name, sep, text = item.partition("=")
        if not sep or not name.strip():
            raise CliError(f"--set and --fix take NAME=VALUE, got {item!r}")
        values[name.strip()] = yaml_load(text) if text.strip() else ""
    return values


def _inside(dist: Any, name: str, value: Any, conditional: bool) -> Any:
    """A model default brought inside a distribution of the space (for a conditional choice, the index
    of the first option that is the default or a branch that sets ``name`` to it, else 0)."""
    if conditional:
        return next((i for i, c in enumerate(dist.choices)
                     if (c.get(name) if isinstance(c, dict) else c) == value), 0)
    if isinstance(dist, tpe_core.Categorical):
        return value if value in dist.choices else dist.choices[0]
    if isinstance(dist, (tpe_core.Float, tpe_core.Int)) and isinstance(value, (int, float)):
        value = min(max(value, dist.low), dist.high)
        if dist.step is not None:
            value = min(dist.low + round((value - dist.low) / dist.step) * dist.step, dist.high)
        return int(value) if isinstance(dist, tpe_core.Int) else float(value)
    return None


def _manual_config(study: tpe_core.Study, estimator: Any, values: dict[str, Any]) -> dict[str, Any]:
    """The given values, and the model's defaults (inside the space) for the other parameters that are
    active: those of the chosen branch of a conditional choice too."""
    defaults = estimator.get_params()
    params = study.search_space.params
    implied = study.search_space.encode_partial(values)  # a branch's parameter given chooses its branch
    config: dict[str, Any] = {}
    for j, p in enumerate(params):  # a branch's parameters come after the choice that holds them
        chosen = {**config, **values}
        if p.parent is not None and chosen.get(params[p.parent].name) != p.branch:
            continue
        key = p.path[-1]
        if p.conditional and p.name not in values and not np.isnan(implied[j]):
            config[p.name] = int(implied[j])
        elif p.name not in values and key in defaults:
            default = _inside(p.distribution, key, defaults[key], p.conditional)
            if default is not None:
                config[p.name] = default
    config.update(values)
    return config


def run_try(settings: Settings, values: dict[str, Any], *, quiet: bool) -> None:
    """Evaluate one configuration by hand, store it as "manual", and rank it in the study."""
    from models import estimator_params
    from models._estimators import _user_interrupts

    job = _prepare(settings, _sayer(quiet), values, search=False)
    study = job.study
    study.enqueue(_manual_config(study, job.estimator, values))
    try:
        with _user_interrupts(), _trial_logs(quiet):
            study.optimize(job.objective, n_trials=1)
    except KeyboardInterrupt:
        raise _interrupted(settings, study) from None
    trial = study.trials[-1]
    label = settings.score_label(job.data.task)
    if trial.state is not tpe_core.TrialState.COMPLETE:
        click.echo(f"Trial {trial.number} (manual) ended {trial.state.value}: {trial.error}")
        if trial.state is tpe_core.TrialState.FAIL:
            raise SystemExit(1)  # as tune exits when no trial completed
        return
    complete = sorted((t.value for t in study.get_trials([tpe_core.TrialState.COMPLETE])), reverse=True)
    best = study.best_trial
    click.echo(f"Trial {trial.number} (manual): {label} {trial.value:.4f}")
    _echo_params(estimator_params(trial.config))
    click.echo(
        f"Rank {complete.index(trial.value) + 1} of {len(complete)} complete trials; the study's best is "
        f"{best.value:.4f} (trial {best.number})."
    )


def _echo_params(params: dict[str, Any]) -> None:
    """The network's hyperparameters, one a line, names aligned."""
    width = max((len(name) for name in params), default=0)
    for name, value in params.items():
        click.echo(f"  {name.ljust(width)}  {f'{value:.4g}' if isinstance(value, float) else value}")


def _report(study: tpe_core.Study, settings: Settings, data: Data, estimator: Any, split: tuple) -> None:
    """Print the best configuration, its validation score and the refit model's test score."""
    try:
        best = study.best_trial
    except ValueError:
        failed = study.get_trials([tpe_core.TrialState.FAIL])
        pruned = len(study.get_trials([tpe_core.TrialState.PRUNED]))
        timed_out = settings.timeout is not None and not any(t.state.is_finished() for t in study.trials)
        click.echo(f"No trial of {settings.study_name!r} completed; see `parzen show {settings.study_name}`."
                   + (f" --timeout {settings.timeout:g} s ended the run before any trial finished." if timed_out
                      else "")
                   + (f" The last failure: {failed[-1].error}" if failed and failed[-1].error else "")
                   + (f" {pruned} {'was' if pruned == 1 else 'were'} pruned: run more trials so that some train "
                      "to the end." if pruned else ""),
                   err=True)
        if failed:  # an error, not a study too short for its pruner
            raise SystemExit(1) from None
        return
    from models import estimator_params

    metric = settings.metric(data.task)
    epochs = best.user_attrs.get("best_epoch")
    click.echo(f"Best of {len(study.trials)} trials: trial {best.number}, {settings.score_label(data.task)} "
               f"{best.value:.4f}")
    params = estimator_params(best.config)
    _echo_params(params)
    X_train, X_test, y_train, y_test = split
    if epochs is not None:
        unit = "epoch" if epochs == 1 else "epochs"
        click.echo(f"  (its best validation epoch was {epochs}: the refit trains {epochs} {unit})")
        params["max_epochs"] = epochs
    refit = estimator.set_params(**params, train_split=None).fit(X_train, y_train)  # on every training row
    outputs = refit.predict_proba(X_test) if data.task == "classification" else refit.predict(X_test)
    if not np.isfinite(outputs).all():
        click.echo(f"Refit on the training data ({len(y_train)} rows) diverged: its outputs are not finite, so it "
                   "has no test score; try another configuration (parzen try) or more trials.")
        return
    if settings.scoring is None:
        score = refit.score(X_test, y_test)
    else:
        from sklearn.metrics import get_scorer

        score = get_scorer(settings.scoring)(refit, X_test, y_test)
    click.echo(f"Refit on the training data ({len(y_train)} rows): test {metric} {score:.4f} ({len(y_test)} rows).")
