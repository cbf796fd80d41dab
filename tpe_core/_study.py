"""Studies: a space, a sampler and the trials run so far."""

from __future__ import annotations

import concurrent.futures
import contextlib
import copy
import datetime
import functools
import inspect
import logging
import math
import os
import reprlib
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

import numpy as np

from tpe_core._executors import ExecutorRun
from tpe_core._history import History
from tpe_core._pruners import BasePruner
from tpe_core._samplers import BaseSampler, SamplerExhausted, TPESampler
from tpe_core._space import SearchSpace
from tpe_core._storage import SQLiteStorage, StorageError, StoredTrial, TrialFinishedError
from tpe_core._trial import (
    SOURCE_ATTR,
    Trial,
    TrialFailed,
    TrialPruned,
    TrialState,
    as_objective_value,
    describe_exception,
    is_nonfinite_number,
    short_reason,
)
from tpe_core._validation import as_stored_user_attr, check_int, check_seconds, is_integer
from tpe_core._workers import Outcome, WorkerPool, check_picklable

__all__ = ["Study", "StudyMismatchError", "delete_study", "load_study"]

_logger = logging.getLogger("tpe_core")

_DIRECTIONS = ("minimize", "maximize")

Objective = Callable[..., Any]
Callback = Callable[["Study", Trial], None]
_Method = TypeVar("_Method", bound=Callable[..., Any])


def _locked(method: _Method) -> _Method:
    """Run a :class:`Study` method holding the study's lock: threads may share a study."""

    @functools.wraps(method)
    def locked(self: Study, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return method(self, *args, **kwargs)

    return locked  # type: ignore[return-value]


def _wants_trial(objective: Objective) -> bool:
    """Whether the objective takes ``(config, trial)`` rather than ``(config)``.

    It does when it has two or more positional parameters without defaults,
    or a second positional parameter named ``trial`` (``trial=None``); a
    keyword-only ``trial`` is refused, as the trial is passed by position.
    """
    try:
        signature = inspect.signature(objective)
    except (TypeError, ValueError):
        return False
    parameters = list(signature.parameters.values())
    if any(p.kind is p.KEYWORD_ONLY and p.name == "trial" for p in parameters):
        raise TypeError(
            f"the objective {objective!r} takes trial as a keyword-only parameter; the trial is passed as the "
            "second positional argument: define it as objective(config, trial)"
        )
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    required = [p for p in positional if p.default is p.empty]
    return len(required) >= 2 or (len(positional) >= 2 and positional[1].name == "trial")


def _check_optimize_args(
    objective: Objective,
    n_trials: int | None,
    timeout: float | None,
    trial_timeout: float | None,
    catch: Iterable[type[BaseException]],
    callbacks: Iterable[Callback],
) -> tuple[tuple[type[BaseException], ...], tuple[Callback, ...]]:
    if not callable(objective):
        raise TypeError(f"objective must be callable, got {objective!r}")
    check_int("n_trials", n_trials, minimum=0, allow_none=True)
    check_seconds("timeout", timeout, allow_none=True)
    check_seconds("trial_timeout", trial_timeout, allow_none=True)
    if isinstance(catch, BaseException):
        raise TypeError(f"catch takes exception classes, got the instance {catch!r}; pass {type(catch).__name__}")
    catch = (catch,) if isinstance(catch, type) else tuple(catch)
    for exc in catch:
        if not (isinstance(exc, type) and issubclass(exc, Exception)):
            raise TypeError(f"catch must hold Exception subclasses, got {exc!r}")
    callbacks = (callbacks,) if callable(callbacks) else tuple(callbacks)  # one callback, or several
    for cb in callbacks:
        if not callable(cb):
            raise TypeError(f"callbacks must be callables cb(study, trial), got {cb!r}")
    return catch, callbacks


def _check_n_jobs(n_jobs: int) -> int:
    if is_integer(n_jobs) and n_jobs == -1:
        return os.cpu_count() or 1
    if not is_integer(n_jobs) or n_jobs < 1:
        raise ValueError(f"n_jobs must be -1 (one per CPU) or an integer >= 1, got n_jobs={n_jobs!r}")
    return int(n_jobs)


@contextlib.contextmanager
def _interrupts_held() -> Iterator[None]:
    """Hold a Ctrl-C (SIGINT) that arrives during the body until the body is
    done, then act on it as the handler would (main thread only)."""
    handler = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or not callable(handler):
        yield
        return
    held: list[Any] = []
    signal.signal(signal.SIGINT, lambda signum, frame: held.append(frame))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, handler)
    if held:
        handler(signal.SIGINT, held[0])


#: The keys of :meth:`Study.to_records` that every record has, in order (the parameters and user
#: attributes follow).
_RECORD_KEYS = ("number", "state", "value", "last_step", "datetime_start", "datetime_complete", "duration",
                "error", "source")


class _Run:
    """One call of :meth:`Study.optimize`: its limits, callbacks and progress bar."""

    def __init__(
        self,
        study: Study,
        n_trials: int | None,
        timeout: float | None,
        callbacks: tuple[Callback, ...],
        show_progress: bool,
        fixed: Mapping[str, Any] | None,
    ) -> None:
        self.study = study
        self.fixed = fixed
        # Encoded once, before any trial: a bad name or value fails here.
        self.given = None if not fixed else study.search_space.encode_partial(fixed)
        self.n_trials = n_trials
        self.deadline = None if timeout is None else time.monotonic() + timeout
        self.callbacks = callbacks
        self.progress = _Progress(study, n_trials) if show_progress else None
        self.outer_progress = study._progress  # the bar of an optimize this one runs inside, if any
        if self.progress is not None:
            study._progress = self.progress
        self.started = 0
        self.exhausted = False
        self.stopped = False  # Study.stop() was called while this run was on

    def may_start(self) -> bool:
        """Whether another trial may start; counts it when it may."""
        study = self.study
        if self.stopped or (self.n_trials is not None and self.started >= self.n_trials):
            return False
        if self.deadline is not None and time.monotonic() >= self.deadline:
            return False
        study._sync()
        exhausted = (study.sampler.is_exhausted(study.search_space, study._history) if self.given is None
                     else study.sampler.is_exhausted(study.search_space, study._history, self.given))
        if exhausted or self.exhausted:
            _logger.info("The sampler is exhausted; stopping after %d trials.", self.started)
            return False
        self.started += 1
        return True

    def ask(self) -> Trial | None:
        """The next trial, or None when the sampler turns out exhausted (another process sharing the
        study asked the last points between :meth:`may_start` and this ask): :meth:`may_start` then
        says no more."""
        try:
            return self.study.ask(self.fixed)
        except SamplerExhausted:
            self.exhausted, self.started = True, self.started - 1
            return None

    def finished(self, trial: Trial) -> None:
        for callback in self.callbacks:
            callback(self.study, trial)
        if self.progress is not None:
            self.progress.update()

    def close(self) -> None:
        if self.progress is not None:
            if self.study._progress is self.progress:
                self.study._progress = self.outer_progress
            self.progress.close()


class Study:
    """A hyperparameter search: a space, a sampler and the trials so far.

    Parameters
    ----------
    space : dict, list, tuple, Distribution or SearchSpace
        What to search (see :class:`SearchSpace` for the language).
    sampler : BaseSampler, optional
        How to propose configurations; :class:`TPESampler` by default.
    direction : {"minimize", "maximize"}, default="minimize"
        Whether lower or higher objective values are better.
    pruner : BasePruner, optional
        Stops unpromising trials early from their reports
        (:class:`MedianPruner`, :class:`SuccessiveHalvingPruner`,
        :class:`HyperbandPruner`); :meth:`Trial.should_prune` asks it.
        None (the default) never prunes.
    storage : str or SQLiteStorage, optional
        Where the trials are kept: in memory by default, or in an SQLite
        file (``"sqlite:///parzen.db"``), committed as they change, so the
        study survives a crash and several processes can share it.
    study_name : str, optional
        The study's name. With a storage that already holds a study of this
        name, that study is resumed (its space and direction must match);
        otherwise a new one is created (with a generated name when omitted).

    Raises
    ------
    StudyMismatchError
        When the stored study of that name has another space or direction.
    StorageError
        When the storage file cannot be used.

    Examples
    --------
    >>> from tpe_core import Categorical, Float, RandomSampler
    >>> space = {"lr": Float(1e-4, 1e-1, log=True), "act": Categorical(["relu", "tanh"])}
    >>> study = Study(space, sampler=RandomSampler(seed=1))
    >>> study.optimize(lambda config: abs(config["lr"] - 0.01), n_trials=30)
    >>> sorted(study.best_params)
    ['act', 'lr']
    """

    def __init__(
        self,
        space: Any,
        *,
        sampler: BaseSampler | None = None,
        direction: str = "minimize",
        pruner: BasePruner | None = None,
        storage: str | SQLiteStorage | None = None,
        study_name: str | None = None,
    ) -> None:
        if direction not in _DIRECTIONS:
            raise ValueError(f"direction must be 'minimize' or 'maximize', got direction={direction!r}")
        if study_name is not None and (not isinstance(study_name, str) or not study_name):
            raise ValueError(f"study_name must be a non-empty string, got study_name={study_name!r}")
        search_space = SearchSpace.coerce(space)
        self._set_sampler(sampler, search_space)
        self._set_pruner(pruner)
        if storage is None:
            self._setup(search_space, direction, study_name, None, None)
            return
        storage = SQLiteStorage.coerce(storage)
        if study_name is None:
            study_name = f"study-{uuid.uuid4().hex[:12]}"
            _logger.info("Created study %r in %s.", study_name, storage.path)
        stored = storage.create_or_load_study(study_name, search_space.space, direction, repr(self.sampler))
        _check_same_study(storage, stored.name, stored.space, stored.direction, search_space, direction)
        self._setup(search_space, direction, study_name, storage, stored.study_id)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        del state["_lock"]  # a pickled study (in a pickled Trials) gets a new lock
        # A copy runs no optimize: the runs and their progress bar (which holds sys.stderr) stay here.
        state.update(_runs=[], _progress=None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update({"_log_failures": True, "_unwritten": {}, **state})  # an older parzen's pickle has none
        self._lock = threading.RLock()

    def __deepcopy__(self, memo: dict[int, Any]) -> Study:
        """An independent study: its trials are copies too (a trial copied alone is itself, see
        :class:`TrialHandle`, so that it stays its study's)."""
        twin = type(self).__new__(type(self))
        memo[id(self)] = twin
        for trial in self._trials:
            memo[id(trial)] = copy_of = object.__new__(type(trial))
            copy_of.__dict__.update(copy.deepcopy(vars(trial), memo))
        twin.__setstate__(copy.deepcopy(self.__getstate__(), memo))
        return twin

    def _set_sampler(self, sampler: BaseSampler | None, space: SearchSpace | None = None) -> None:
        """Use ``sampler`` (TPE by default), checked against ``space`` when it is given."""
        if sampler is not None and not isinstance(sampler, BaseSampler):
            raise TypeError(
                f"sampler must be a parzen sampler (RandomSampler(), GridSampler(), ...), "
                f"got {sampler!r}"
            )
        sampler = sampler if sampler is not None else TPESampler()
        if space is not None:
            sampler.check_space(space)
        self.sampler = sampler

    def _set_pruner(self, pruner: BasePruner | None) -> None:
        if pruner is not None and not isinstance(pruner, BasePruner):
            raise TypeError(
                f"pruner must be a parzen pruner (MedianPruner(), SuccessiveHalvingPruner(), "
                f"HyperbandPruner()) or None, got {pruner!r}"
            )
        self.pruner = pruner

    def _setup(
        self,
        search_space: SearchSpace,
        direction: str,
        study_name: str | None,
        storage: SQLiteStorage | None,
        study_id: int | None,
    ) -> None:
        self.search_space = search_space
        self.direction = direction
        self.study_name = study_name
        self.storage = storage
        self._study_id = study_id
        self._revision = 0  # storage revision of the trials held in memory
        self._trials: list[Trial] = []
        self._history = History(len(self.search_space), direction)
        self._runs: list[_Run] = []  # the optimize calls running now (threads, or one inside an objective)
        self._queue: list[np.ndarray] = []  # encoded configurations of enqueue(), first in first out
        self._progress: _Progress | None = None  # the bar of a running optimize(show_progress=True)
        self._user_attrs: dict[str, Any] = {}  # kept here only without a storage
        self._lock = threading.RLock()  # ask, tell and the trials' writes, from any thread
        self._log_failures = True  # a failed trial is a warning of the tpe_core logger (else debug)
        # Outcomes of trials finished in memory that the storage refused (a lock held too long, the file
        # gone): number to finish_trial's arguments, written at the next ask or tell.
        self._unwritten: dict[int, tuple[str, float | None, str | None, bool, datetime.datetime]] = {}
        if storage is not None:
            self._fail_lost_trials()
            self._sync()

    # ------------------------------------------------------------ storage
    def _fail_lost_trials(self) -> None:
        """Give up the running trials whose worker died (see :class:`SQLiteStorage`)."""
        assert self.storage is not None and self._study_id is not None
        for message in self.storage.fail_lost_trials(self._study_id):
            _logger.warning("Study %r: %s; marked FAIL.", self.study_name, message)

    @_locked
    def _write_unwritten(self) -> None:
        """Write the outcomes of trials that the storage refused when they finished."""
        assert self.storage is not None and self._study_id is not None
        for number, outcome in list(self._unwritten.items()):
            try:
                self.storage.finish_trial(self._study_id, number, *outcome)
            except TrialFinishedError as e:  # given up elsewhere meanwhile (worker lost)
                _logger.warning("Trial %d finished %s here, but its result is not stored: %s", number, outcome[0], e)
            del self._unwritten[number]

    def _sync(self) -> None:
        """Bring the trials in memory up to date with the storage."""
        if self.storage is not None:
            assert self._study_id is not None
            changed, self._revision = self.storage.changed_trials(self._study_id, self._revision)
            self._apply(changed)

    def _apply(self, changed: list[StoredTrial]) -> None:
        """Copy trials read from storage into memory, new ones appended in number order."""
        for stored in changed:
            if stored.number > len(self._trials):
                raise StorageError(
                    f"study {self.study_name!r} in {self.storage.path!r} has trial {stored.number} but no "  # type: ignore[union-attr]
                    f"trial {len(self._trials)}: trial numbers run without a gap, so a row is missing (deleted by "
                    "hand?); the other trials are still in the file (table 'trials')"
                )
            if stored.number == len(self._trials):
                self._history.append(stored.row)
                self._trials.append(Trial(self, stored.number, stored.row))
            trial = self._trials[stored.number]
            trial.datetime_start = stored.datetime_start
            trial.intermediate_values = stored.intermediate_values
            trial.user_attrs = stored.user_attrs
            if stored.state != TrialState.RUNNING.value and not trial.state.is_finished():
                self._mark_finished(
                    trial, TrialState(stored.state), stored.value, stored.error, stored.diverged,
                    stored.datetime_complete,
                )

    @_locked
    def _record_report(self, trial: Trial, step: int, value: float) -> None:
        """Persist an intermediate value (called by :meth:`Trial.report`)."""
        if self._progress is not None:
            self._progress.reported(trial, step)
        if self.storage is not None:
            assert self._study_id is not None
            self._guard_finished(lambda: self.storage.report(self._study_id, trial.number, step, value))

    @_locked
    def _record_start(self, trial: Trial, at: datetime.datetime) -> None:
        """Start a trial's clock when a worker begins to evaluate it (it started at the ask, before the
        worker's start-up); ``at`` is the worker's clock, kept between the ask and now."""
        at = min(max(at, trial.datetime_start), datetime.datetime.now())
        if self.storage is not None:
            assert self._study_id is not None
            self._guard_finished(lambda: self.storage.set_datetime_start(self._study_id, trial.number, at))
        trial.datetime_start = at

    @_locked
    def _record_user_attr(self, trial: Trial, key: str, value: Any) -> None:
        """Persist a user attribute (called by :meth:`Trial.set_user_attr`)."""
        if self.storage is not None:
            assert self._study_id is not None
            self._guard_finished(lambda: self.storage.set_user_attr(self._study_id, trial.number, key, value))

    @_locked
    def _should_prune(self, trial: Trial) -> bool:
        """The pruner's decision for a running trial (called by :meth:`Trial.should_prune`)."""
        if self.pruner is None:
            return False
        self._sync()
        return bool(self.pruner.prune(self, trial))

    def _guard_finished(self, write: Callable[[], None]) -> None:
        """Run a storage write; when the trial was finished elsewhere, sync, then re-raise."""
        try:
            write()
        except TrialFinishedError:
            self._sync()
            raise

    # ------------------------------------------------------------ ask / tell
    @_locked
    def enqueue(self, params: Mapping[str, Any]) -> None:
        """Have the next :meth:`ask` return this configuration, before the sampler's.

        Parameters
        ----------
        params : dict
            Flat parameters by name (as :attr:`Trial.params` shows them: a
            conditional choice by its branch index), all of them or some:
            the sampler proposes the missing ones. A parameter inside a
            branch selects that branch.

        Raises
        ------
        SpaceError
            For an unknown name (with the likely one) or a value outside its
            distribution; nothing is queued then.

        Notes
        -----
        The queue is kept by this study object (first in, first out), not in
        the storage. A trial made from it has ``trial.source == "manual"``
        and counts for TPE like any other.

        Examples
        --------
        >>> from tpe_core import Categorical, Float
        >>> study = Study({"lr": Float(1e-4, 1e-1, log=True), "act": Categorical(["relu", "tanh"])})
        >>> study.enqueue({"lr": 0.01})
        >>> trial = study.ask()
        >>> trial.params["lr"], trial.source
        (0.01, 'manual')
        """
        self._queue.append(self.search_space.encode_partial(params))

    @_locked
    def ask(self, fixed: Mapping[str, Any] | None = None) -> Trial:
        """Start a new trial: the next enqueued configuration, else the sampler's.

        Parameters
        ----------
        fixed : dict, optional
            Parameters to hold at these values (flat, by name); the sampler
            proposes the others. Enqueued values take precedence.

        Returns
        -------
        Trial
            A RUNNING trial; evaluate ``trial.config`` and :meth:`tell` the result.
        """
        given = self.search_space.encode_partial(fixed or {})
        manual = bool(self._queue)
        if manual:
            given = np.where(np.isnan(self._queue[0]), given, self._queue[0])
        if self.storage is None:
            number = len(self._trials)
            trial = self._start_trial(number, self._propose(number, given), datetime.datetime.now())
        else:
            trial = self._ask_stored(given)
        if manual:  # taken off the queue only once the trial exists
            self._queue.pop(0)
            trial._store_user_attr(SOURCE_ATTR, "manual")
        return trial

    def _ask_stored(self, given: np.ndarray) -> Trial:
        assert self.storage is not None and self._study_id is not None
        self._write_unwritten()
        self._fail_lost_trials()
        proposal: list[tuple[int, np.ndarray, datetime.datetime]] = []

        def propose(changed: list[StoredTrial], revision: int) -> tuple[int, np.ndarray, datetime.datetime]:
            self._apply(changed)
            self._revision = revision
            number = len(self._trials)
            proposal.append((number, self._propose(number, given), datetime.datetime.now()))
            return proposal[0]

        self._revision = self.storage.create_trial(self._study_id, self._revision, propose)
        return self._start_trial(*proposal[0])

    def _propose(self, number: int, given: np.ndarray) -> np.ndarray:
        """The row of trial ``number``: the given values, the sampler's for the rest."""
        space = self.search_space
        if np.isnan(given).all():  # nothing given (or an empty space)
            return self._sample(number)
        if np.array_equal(np.isnan(given), ~space.active_mask(given[None])[0]):
            return given  # a full configuration: no need to ask the sampler
        return np.asarray(self.sampler.sample_given(space, self._history, number, given), dtype=float)

    def _sample(self, number: int) -> np.ndarray:
        return np.asarray(self.sampler.sample(self.search_space, self._history, number), dtype=float)

    def _start_trial(self, number: int, row: np.ndarray, start: datetime.datetime) -> Trial:
        self._history.append(row)
        trial = Trial(self, number, row)
        trial.datetime_start = start
        self._trials.append(trial)
        return trial

    @_locked
    def tell(
        self,
        trial: Trial | int,
        value_or_state: float | TrialState,
        *,
        error: str | None = None,
    ) -> Trial:
        """Finish a running trial.

        Parameters
        ----------
        trial : Trial or int
            The trial, or its number.
        value_or_state : float or TrialState
            The objective value (the trial becomes COMPLETE; a NaN, an inf or
            a non-number makes it FAIL with the reason), or
            ``TrialState.PRUNED`` / ``TrialState.FAIL`` (or their names,
            ``"PRUNED"`` / ``"FAIL"``).
        error : str or BaseException, optional
            Why the trial failed, for a FAIL state (or why it was pruned);
            an exception is written as ``"ValueError: message"``. Refused
            with a value.

        Returns
        -------
        Trial
            The finished trial.

        Raises
        ------
        ValueError
            When the trial is already finished: a finished trial never
            changes (:class:`TrialFinishedError` when another process of a
            shared study finished it, e.g. as "worker lost").
        """
        trial = self._running_trial(trial)
        if self.storage is not None:
            # The reports another process (or Study object) made: a PRUNED trial keeps its last value. (A trial
            # finished there meanwhile is refused by the storage, with TrialFinishedError.)
            self._write_unwritten()
            self._sync()
        if isinstance(error, BaseException):
            error = describe_exception(error)
        elif error is not None and not isinstance(error, str):
            raise TypeError(f"tell: error must be a string or an exception, got {error!r}")
        if isinstance(value_or_state, str):
            with contextlib.suppress(ValueError):  # any other string is a non-number: FAIL
                value_or_state = TrialState.parse(value_or_state)
        if isinstance(value_or_state, TrialState):
            if value_or_state is TrialState.COMPLETE:
                raise ValueError("tell: a COMPLETE trial needs its value; pass the value instead")
            if value_or_state is TrialState.RUNNING:
                raise ValueError("tell: the state must be a finished one (PRUNED or FAIL)")
            self._finish(trial, value_or_state, None, error)
        elif error is not None:
            raise ValueError(
                f"tell: error={error!r} goes with the state FAIL, not with a value ({reprlib.repr(value_or_state)}); "
                "pass TrialState.FAIL to fail the trial"
            )
        else:
            self._tell_result(trial, value_or_state)
        return trial

    def _tell_result(self, trial: Trial, result: Any) -> None:
        """Finish a running trial with what its objective returned: COMPLETE with a number, else FAIL
        saying why (a string is a non-number here, even one naming a state)."""
        value, reason = as_objective_value(result)
        if value is None:
            self._finish(trial, TrialState.FAIL, None, reason, diverged=is_nonfinite_number(result))
        else:
            self._finish(trial, TrialState.COMPLETE, value, None)

    def _running_trial(self, trial: Trial | int) -> Trial:
        """The study's own running trial: given as such, by its number, or as the Trial of another
        Study object opened on the same stored study (its trials are this one's)."""
        if isinstance(trial, Trial) and trial._study is not self:
            if not self._same_stored_study(trial._study):
                raise ValueError(f"trial {trial.number} belongs to another study")
            trial = trial.number
        if not isinstance(trial, Trial):
            if not isinstance(trial, (int, np.integer)) or isinstance(trial, bool) or trial < 0:
                raise ValueError(f"no trial {trial!r} in this study ({len(self._trials)} trials)")
            if trial >= len(self._trials):
                self._sync()  # asked by another process since this one last read the storage
            if trial >= len(self._trials):
                raise ValueError(f"no trial {trial!r} in this study ({len(self._trials)} trials)")
            trial = self._trials[int(trial)]
        if trial.state.is_finished():
            raise ValueError(f"trial {trial.number} is already finished ({trial.state.value})")
        return trial

    def _same_stored_study(self, other: Study) -> bool:
        """Whether ``other`` is this stored study, opened by another Study object."""
        if self.storage is None or other.storage is None or self._study_id != other._study_id:
            return False
        try:
            return os.path.samefile(self.storage._file, other.storage._file)
        except OSError:  # a file gone
            return False

    @_locked
    def _finish(
        self,
        trial: Trial,
        state: TrialState,
        value: float | None,
        error: str | None,
        *,
        diverged: bool = False,
        exc_info: BaseException | None = None,
    ) -> None:
        if state is TrialState.PRUNED and trial.last_step is not None:
            value = trial.intermediate_values[trial.last_step]
            value = None if math.isnan(value) else value  # as storage keeps it
        if error is not None:
            error = short_reason(error)
        now = datetime.datetime.now()
        refused: StorageError | None = None
        with _interrupts_held():  # a Ctrl-C here would lose a finished trial's outcome half-recorded
            if self.storage is not None:
                assert self._study_id is not None
                outcome = (state.value, value, error, diverged, now)
                try:
                    self._guard_finished(lambda: self.storage.finish_trial(self._study_id, trial.number, *outcome))
                except StorageError as e:
                    # Kept, and written at the next ask or tell: a result is not dropped for a lock held too long.
                    self._unwritten[trial.number] = outcome
                    refused = e
            self._mark_finished(trial, state, value, error, diverged, now)
        if refused is not None:
            raise StorageError(
                f"{refused}; trial {trial.number} finished {state.value}"
                + ("" if value is None else f" with value {value!r}")
                + ", which this study writes to the file at its next ask, tell or optimize"
            ) from refused
        if state is TrialState.FAIL:
            reason = (error or "no reason given").splitlines()[0]
            if len(reason) > 200:
                reason = reason[:200] + "... (see trial.error)"
            _logger.log(
                logging.WARNING if self._log_failures else logging.DEBUG,
                "Trial %d failed: %s", trial.number, reason, exc_info=exc_info,
            )
        else:
            _logger.info("Trial %d finished %s with value %r.", trial.number, state.value, value)

    def _mark_finished(
        self,
        trial: Trial,
        state: TrialState,
        value: float | None,
        error: str | None,
        diverged: bool,
        datetime_complete: datetime.datetime | None,
    ) -> None:
        """Set a trial's final state in memory and in the encoded history."""
        step = trial.last_step if state is TrialState.PRUNED else None
        trial.state = state
        trial.value = value
        trial.error = error
        trial.datetime_complete = datetime_complete
        self._history.finish(
            trial.number, state.value, value, step=step, diverged=diverged, reports=trial.intermediate_values
        )

    # ------------------------------------------------------------ optimize
    def optimize(
        self,
        objective: Objective,
        n_trials: int | None = None,
        timeout: float | None = None,
        n_jobs: int = 1,
        executor: concurrent.futures.Executor | None = None,
        catch: Iterable[type[Exception]] = (Exception,),
        callbacks: Iterable[Callback] = (),
        show_progress: bool = False,
        trial_timeout: float | None = None,
        fixed: Mapping[str, Any] | None = None,
    ) -> None:
        """Run trials: ask a configuration, evaluate it, tell the result.

        Parameters
        ----------
        objective : callable
            ``objective(config) -> float``, or ``objective(config, trial) ->
            float`` when it has two positional parameters (to
            :meth:`Trial.report` intermediate values and ask
            :meth:`Trial.should_prune`).
        n_trials : int, optional
            Number of trials to run in this call.
        timeout : float, optional
            Stop starting new trials after this many seconds.
        n_jobs : int, default=1
            Trials evaluated at once, each in a worker process (-1: one per
            CPU). The study stays in this process: it asks the sampler
            (running trials count for TPE's constant liar), receives every
            report, answers ``should_prune`` and records the outcomes.
            Workers are spawned: the objective must be picklable (a
            module-level function), and a script needs an
            ``if __name__ == "__main__":`` guard.
        executor : concurrent.futures.Executor, optional
            Evaluate trials with this executor instead: a
            :class:`DaskExecutor` for a Dask cluster, or any standard
            executor (a ``ProcessPoolExecutor``, whose objective must be
            picklable, or a ``ThreadPoolExecutor``). As many trials are
            kept in flight as the executor has workers (``n_jobs`` when
            larger than 1); reports and ``should_prune`` travel over queues
            (``distributed.Queue`` on Dask), so pruning works there too.
        catch : tuple of Exception classes, default=(Exception,)
            Exceptions of the objective that fail the trial and let the
            study go on. Any other exception fails the trial, then
            propagates; so does ``KeyboardInterrupt``.
        callbacks : callable or sequence of callables
            Each is called as ``callback(study, trial)`` after every trial;
            one may call :meth:`stop`.
        show_progress : bool, default=False
            Show a progress bar with the best value so far.
        trial_timeout : float, optional
            Seconds one trial may run. Trials then run in worker processes
            (as with ``n_jobs``); a trial that runs longer is stopped and
            becomes FAIL ("timeout ..."), one whose process dies FAIL
            ("worker lost ..."), and the study goes on. The seconds count
            from the moment the worker starts the trial: a new worker's
            start-up (Python and the objective's imports) is not part of
            them (it may take up to 120 s).
        fixed : dict, optional
            Hold these parameters (flat, by name) at these values and search
            the others: a narrower search in the same study, whose trials
            a later search without ``fixed`` learns from. A configuration
            queued with :meth:`enqueue` runs first, as given (``fixed`` does
            not apply to it).

        Notes
        -----
        Without ``n_trials`` and ``timeout`` the study runs until the sampler
        is exhausted (a finished grid), :meth:`stop` is called, or Ctrl-C.
        An objective that returns NaN, inf or a non-number gives a FAIL
        trial with the reason; raising :class:`TrialPruned` gives a PRUNED one,
        and raising :class:`TrialFailed` a FAIL one with its message.
        """
        catch, callbacks = _check_optimize_args(objective, n_trials, timeout, trial_timeout, catch, callbacks)
        n_jobs = _check_n_jobs(n_jobs)
        if executor is not None:
            if not isinstance(executor, concurrent.futures.Executor):
                raise TypeError(f"executor must be a concurrent.futures.Executor, got {executor!r}")
            if trial_timeout is not None:
                raise ValueError(
                    "trial_timeout needs parzen's own worker processes (n_jobs); it cannot stop a trial "
                    "on an executor: pass one or the other"
                )
            if not isinstance(executor, concurrent.futures.ThreadPoolExecutor):  # threads need no pickling
                check_picklable(objective, "executor")
        elif n_jobs > 1 or trial_timeout is not None:
            check_picklable(objective, "n_jobs > 1" if n_jobs > 1 else "trial_timeout")
        run = _Run(self, n_trials, timeout, callbacks, show_progress, fixed)  # a bad fixed value fails here
        with self._lock:
            self._runs.append(run)
        try:
            if executor is not None:
                self._optimize_in_workers(ExecutorRun(executor, objective, _wants_trial(objective), n_jobs), run, catch)
            elif n_jobs == 1 and trial_timeout is None:
                self._optimize_here(objective, run, catch)
            else:
                pool = WorkerPool(objective, _wants_trial(objective), n_jobs, trial_timeout)
                self._optimize_in_workers(pool, run, catch)
        finally:
            with self._lock:
                self._runs.remove(run)
            run.close()
            if self.storage is not None:
                self.storage.wake_heartbeat()  # its thread and connection end now, not an interval later

    def _optimize_here(self, objective: Objective, run: _Run, catch: tuple[type[BaseException], ...]) -> None:
        """Evaluate trials one after the other in this process."""
        with_trial = _wants_trial(objective)
        pid = os.getpid()
        while run.may_start():
            trial = run.ask()
            if trial is None:
                continue  # may_start stops
            try:
                result = objective(trial.config, trial) if with_trial else objective(trial.config)
            except BaseException as e:
                if os.getpid() != pid:
                    raise  # a child the objective forked, exiting: the trial is its parent's to record
                if not self._record(trial, ("raise", e), catch):
                    raise
            else:
                self._record(trial, ("result", result), catch)
            run.finished(trial)

    def _optimize_in_workers(
        self, pool: WorkerPool | ExecutorRun, run: _Run, catch: tuple[type[BaseException], ...]
    ) -> None:
        """Keep as many trials running as the pool of workers (or the executor) takes."""
        try:
            while True:
                while pool.n_free and run.may_start():
                    trial = run.ask()
                    if trial is None:
                        break
                    try:
                        pool.submit(trial)
                    except BaseException as e:  # a broken pool: the trial never started
                        self._record(trial, ("failure", f"not started: {describe_exception(e)}"), catch)
                        for ended, outcome in pool.wait(timeout=0):  # those whose worker died, as "worker lost"
                            self._record(ended, outcome, catch)
                        raise
                if not pool.running:
                    return
                # Every outcome is recorded, then the callbacks run (one that raises must not leave a trial
                # that ended unrecorded), then an exception that stops the study propagates.
                propagates, recorded = None, []
                for trial, outcome in pool.wait(timeout=1.0):
                    if self._record(trial, outcome, catch):
                        recorded.append(trial)
                    elif propagates is None:
                        propagates = outcome[1]
                for trial in recorded:
                    run.finished(trial)
                if propagates is not None:
                    raise propagates
        finally:
            interrupted = pool.running
            pool.close()
            for trial in interrupted:
                self._record(trial, ("failure", "interrupted: the study stopped before this trial ended"), catch)

    def _record(self, trial: Trial, outcome: Outcome, catch: tuple[type[BaseException], ...]) -> bool:
        """Record what became of a trial; False when its exception must propagate."""
        kind, payload = outcome
        if trial.state.is_finished():  # the objective told its own trial: that result stands
            _logger.warning("Trial %d was told inside its objective (%s); what the objective then %s is not "
                            "recorded", trial.number, trial.state.value,
                            "returned" if kind == "result" else "raised")
            return not (kind == "raise" and not isinstance(payload, (TrialPruned, TrialFailed, *catch)))
        try:
            if kind == "result":
                self._tell_result(self._running_trial(trial), payload)
            elif kind == "failure":
                self._finish(trial, TrialState.FAIL, None, payload)
            elif isinstance(payload, TrialPruned):
                self._finish(trial, TrialState.PRUNED, None, None)
            elif isinstance(payload, TrialFailed):
                self._finish(trial, TrialState.FAIL, None, str(payload) or "TrialFailed")
            else:
                # only a caught exception's traceback is logged: one that propagates shows its own,
                # and catch holds Exception classes only (a Ctrl-C is no bug)
                caught = isinstance(payload, catch)
                self._finish(trial, TrialState.FAIL, None, describe_exception(payload),
                             exc_info=payload if caught else None)
                return caught
        except TrialFinishedError as e:
            # Another process gave this trial up (its heartbeat was late); its stored state stands.
            _logger.error("Study %r: the outcome of trial %d was not stored: %s", self.study_name, trial.number, e)
        return True

    def stop(self) -> None:
        """Ask the running :meth:`optimize` to stop after the current trial.

        Every :meth:`optimize` of this study running at the call stops (one
        per thread, or one run inside an objective); one that starts later
        runs as asked. Without a running :meth:`optimize` it does nothing.
        """
        with self._lock:
            for run in self._runs:
                run.stopped = True

    # ------------------------------------------------------------ attributes
    @property
    def user_attrs(self) -> dict[str, Any]:
        """Values attached to the study with :meth:`set_user_attr` (a new dict each
        time); with a storage, as stored, whichever process set them."""
        if self.storage is None:
            return dict(self._user_attrs)
        assert self._study_id is not None
        return self.storage.study_user_attrs(self._study_id)

    @_locked
    def set_user_attr(self, key: str, value: Any) -> None:
        """Attach a value to the study, e.g. what its objective measures.

        Parameters
        ----------
        key : str
            The attribute's name; a value set before under it is replaced.
        value : JSON-serialisable object
            Numbers, strings, booleans, None, and lists or dicts of them, so
            that a persistent study can store it.
        """
        value = as_stored_user_attr(key, value)
        if self.storage is None:
            self._user_attrs[key] = value
        else:
            assert self._study_id is not None
            self.storage.set_study_user_attr(self._study_id, key, value)

    # ------------------------------------------------------------ results
    @property
    def trials(self) -> list[Trial]:
        """All trials, in number order (a new list each time); with a storage,
        including those that other processes ran."""
        self._sync()
        return list(self._trials)

    def get_trials(
        self, states: TrialState | str | Sequence[TrialState | str] | None = None
    ) -> list[Trial]:
        """The trials in the given state or states (all of them by default).

        A state may be given by its name: ``get_trials("COMPLETE")``,
        ``get_trials(["COMPLETE", "PRUNED"])``.
        """
        if states is None:
            return self.trials
        if isinstance(states, (TrialState, str)):
            states = (states,)
        try:
            wanted = {TrialState.parse(s, "get_trials") for s in states}
        except TypeError:
            raise ValueError(
                f"get_trials: states must be a TrialState, a state's name or a sequence of them, got {states!r}"
            ) from None
        return [t for t in self.trials if t.state in wanted]

    @property
    def best_trial(self) -> Trial:
        """The COMPLETE trial with the best value (the first one on ties).

        Raises
        ------
        ValueError
            When no trial is COMPLETE yet.
        """
        complete = self.get_trials([TrialState.COMPLETE])
        if not complete:
            counts = {s.value: 0 for s in TrialState}
            for t in self._trials:
                counts[t.state.value] += 1
            raise ValueError(
                f"no COMPLETE trial yet, so no best trial (trials by state: {counts}); "
                "run more trials, or check why the trials failed (trial.error)"
            )
        pick = min if self.direction == "minimize" else max
        return pick(complete, key=lambda t: t.value)  # type: ignore[arg-type, return-value]

    @property
    def best_value(self) -> float:
        """The best objective value."""
        value = self.best_trial.value
        assert value is not None
        return value

    @property
    def best_params(self) -> dict[str, Any]:
        """The flat parameters of the best trial."""
        return self.best_trial.params

    @property
    def best_config(self) -> Any:
        """The configuration, in the shape of the space, of the best trial."""
        return self.best_trial.config

    def importances(self) -> dict[str, float]:
        """How much each parameter matters for the objective: ``{name: importance}``,
        largest first, summing to 1.

        The mean decrease in impurity of a random forest fitted to the
        COMPLETE trials (scikit-learn's ``RandomForestRegressor``, 64 trees,
        fixed seed). Needs scikit-learn and at least 2 COMPLETE trials.
        """
        from tpe_core._importance import importances

        return importances(self)

    def to_records(self) -> list[dict[str, Any]]:
        """The trials as a list of flat records, one per trial.

        Keys: ``number``, ``state``, ``value``, ``last_step`` (the last
        step reported, None without reports), ``datetime_start``,
        ``datetime_complete``, ``duration`` (seconds), ``error``, ``source``
        (``"manual"`` or ``"sampler"``), ``params_<name>`` for each
        parameter (None where inactive), and ``user_attrs_<key>`` for each
        user attribute any trial has (such as ``best_epoch``; None where
        a trial has none).
        """
        names = self.search_space.names
        trials = self.trials
        attrs = sorted({key for t in trials for key in t.user_attrs} - {SOURCE_ATTR})
        records = []
        for t in trials:
            params = t.params
            duration = t.duration
            record: dict[str, Any] = dict(zip(_RECORD_KEYS, (
                t.number, t.state.value, t.value, t.last_step, t.datetime_start, t.datetime_complete,
                None if duration is None else duration.total_seconds(), t.error, t.source,
            ), strict=True))
            record.update({f"params_{name}": params.get(name) for name in names})
            record.update({f"user_attrs_{key}": t.user_attrs.get(key) for key in attrs})
            records.append(record)
        return records

    def to_dataframe(self) -> Any:
        """The trials as a pandas DataFrame (see :meth:`to_records`).

        Raises
        ------
        ImportError
            When pandas is not installed; use :meth:`to_records` instead.
        """
        try:
            import pandas as pd
        except ImportError as e:
            raise ImportError(
                "to_dataframe() needs pandas (pip install pandas); to_records() gives the "
                "same table as a list of dicts"
            ) from e
        records = self.to_records()
        # No trial yet: the columns still are there, as for a study with trials.
        columns = None if records else [*_RECORD_KEYS, *(f"params_{name}" for name in self.search_space.names)]
        return pd.DataFrame.from_records(records, columns=columns)

    def __repr__(self) -> str:
        name = f"{self.study_name!r}, " if self.study_name else ""
        return (
            f"Study({name}direction={self.direction!r}, sampler={self.sampler!r}, "
            f"n_trials={len(self._trials)})"
        )


def load_study(
    *,
    storage: str | SQLiteStorage,
    study_name: str,
    sampler: BaseSampler | None = None,
    pruner: BasePruner | None = None,
) -> Study:
    """Open a stored study without restating its space.

    Parameters
    ----------
    storage : str or SQLiteStorage
        Where the study is, e.g. ``"sqlite:///parzen.db"``; the file must exist.
    study_name : str
        The study's name.
    sampler : BaseSampler, optional
        The sampler for further trials; :class:`TPESampler` by default.
    pruner : BasePruner, optional
        The pruner for further trials; none by default.

    Returns
    -------
    Study
        The study with all its trials; RUNNING trials whose worker died are
        marked FAIL ("worker lost").

    Raises
    ------
    StorageError
        When the file does not exist, is not a parzen study file, or holds
        no study of that name (the message lists the names it holds).
    """
    storage = SQLiteStorage.coerce(storage)
    stored = storage.load_study(study_name)
    study = Study.__new__(Study)
    space = SearchSpace(stored.space)
    study._set_sampler(sampler, None if sampler is None else space)  # any stored study can be read
    study._set_pruner(pruner)
    study._setup(space, stored.direction, stored.name, storage, stored.study_id)
    return study


def delete_study(*, storage: str | SQLiteStorage, study_name: str) -> None:
    """Remove a stored study and all its trials from its file.

    Parameters
    ----------
    storage : str or SQLiteStorage
        Where the study is, e.g. ``"sqlite:///parzen.db"``.
    study_name : str
        The study's name.

    Raises
    ------
    StorageError
        When there is no such study (the message lists the names there
        are), or some of its trials are still running in a live process.
    """
    SQLiteStorage.coerce(storage).delete_study(study_name)


def _check_same_study(
    storage: SQLiteStorage,
    name: str,
    stored_space: Any,
    stored_direction: str,
    space: SearchSpace,
    direction: str,
) -> None:
    """Refuse to resume a stored study with another space or direction."""
    where = f"study {name!r} in {storage.path!r}"
    if stored_direction != direction:
        raise StudyMismatchError(where, f"has direction={stored_direction!r}, not {direction!r}", name)
    changes = space.changes_from(SearchSpace(stored_space))
    if changes:
        raise StudyMismatchError(where, f"has another space: {'; '.join(changes)}", name)


class StudyMismatchError(ValueError):
    """A stored study of the name given to :class:`Study` has another space or direction.

    Attributes
    ----------
    reason : str
        What differs (``"has another space: 'lr' is new"``).
    """

    def __init__(self, where: str, reason: str, name: str) -> None:
        self.reason = reason
        super().__init__(
            f"{where} {reason}; choose a new study_name, or open the stored study with "
            f"load_study(storage=..., study_name={name!r})"
        )


class _Progress:
    """A tqdm progress bar: trials done, the best value so far, and the step
    (e.g. epoch) that a running trial last reported."""

    def __init__(self, study: Study, n_trials: int | None) -> None:
        from tqdm.auto import tqdm

        self._study = study
        # disable=None: no bar when stderr is not a terminal (a log file, a pipe)
        self._bar = tqdm(total=n_trials, unit="trial", desc="parzen", disable=None)
        self._best: str | None = None

    def _show(self, **running: int) -> None:
        shown = {"best": self._best} if self._best is not None else {}
        self._bar.set_postfix(**shown, **running)

    def reported(self, trial: Trial, step: int) -> None:
        self._show(trial=trial.number, step=step)

    def update(self) -> None:
        try:
            self._best = f"{self._study.best_value:.6g}"
        except ValueError:
            pass
        self._show()
        self._bar.update(1)

    def close(self) -> None:
        self._bar.close()
