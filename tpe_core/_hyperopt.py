"""A hyperopt-compatible layer: ``fmin``, ``Trials``, ``space_eval``.

hyperopt code runs on parzen by changing its imports::

    from tpe_core import hp, fmin, rand, Trials, space_eval, STATUS_OK

``fmin`` drives a :class:`Study` (minimising the loss); ``Trials`` exposes
it in hyperopt's record format; the study itself is ``trials.study``.
"""

from __future__ import annotations

import datetime
import functools
import math
import numbers
import os
import pickle
from collections.abc import Callable, Iterator, Mapping, MutableMapping, Sequence
from typing import Any

import numpy as np

from tpe_core._distributions import Categorical
from tpe_core._samplers import BaseSampler
from tpe_core._samplers._base import check_seed
from tpe_core._space import SearchSpace, SpaceError
from tpe_core._study import Study
from tpe_core._trial import Trial, TrialFailed, TrialState, describe_exception
from tpe_core._validation import check_int

__all__ = [
    "JOB_STATE_DONE",
    "JOB_STATE_ERROR",
    "JOB_STATE_NEW",
    "JOB_STATE_RUNNING",
    "STATUS_FAIL",
    "STATUS_NEW",
    "STATUS_OK",
    "STATUS_RUNNING",
    "AllTrialsFailed",
    "Suggest",
    "Trials",
    "fmin",
    "space_eval",
]

STATUS_OK = "ok"
STATUS_FAIL = "fail"
STATUS_NEW = "new"  # the result of a trial not finished yet
STATUS_RUNNING = "running"

# hyperopt's job states, as found in ``trials.trials[i]["state"]``.
JOB_STATE_NEW = 0
JOB_STATE_RUNNING = 1
JOB_STATE_DONE = 2  # the objective returned (a 'fail' it reported too)
JOB_STATE_ERROR = 3  # it raised, or returned no number
_JOB_STATE = {
    TrialState.RUNNING: JOB_STATE_RUNNING,
    TrialState.COMPLETE: JOB_STATE_DONE,
    TrialState.PRUNED: JOB_STATE_DONE,
    TrialState.FAIL: JOB_STATE_ERROR,
}


class AllTrialsFailed(ValueError):
    """No trial of the search returned a loss with status ``"ok"``."""


class Suggest:
    """An algorithm for ``fmin(algo=...)``, such as ``rand.suggest``.

    It may be wrapped in ``functools.partial`` with hyperopt's option names
    (for instance ``n_startup_jobs``) as hyperopt users do; ``fmin`` turns it
    into a parzen sampler.

    Parameters
    ----------
    name : str
        How users spell it (``"tpe.suggest"``).
    sampler : type
        The parzen sampler class it stands for.
    options : dict of str to (str, callable or None)
        hyperopt option names to the sampler's keyword names, with a
        function that converts the value (None: passed as is).
    """

    def __init__(
        self,
        name: str,
        sampler: type[BaseSampler],
        options: Mapping[str, tuple[str, Callable[[Any], Any] | None]],
    ) -> None:
        self.name = name
        self.sampler = sampler
        self.options = dict(options)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(
            f"{self.name} is an algorithm to pass to fmin(algo={self.name}); it is not called directly"
        )

    def make_sampler(self, seed: int | None, **options: Any) -> BaseSampler:
        """The sampler for these hyperopt options."""
        unknown = sorted(set(options) - set(self.options))
        if unknown:
            known = ", ".join(sorted(self.options)) or "none"
            raise TypeError(f"{self.name} got unknown option(s) {unknown}; it takes: {known}")
        kwargs = {}
        for key, value in options.items():
            name, convert = self.options[key]
            kwargs[name] = value if convert is None else convert(value)
        try:
            return self.sampler(seed=seed, **kwargs)
        except ValueError as e:
            message = str(e)
            for key in options:  # in the names the user wrote
                message = message.replace(self.options[key][0], key)
            raise ValueError(f"{self.name}: {message}") from None

    def __repr__(self) -> str:
        return self.name


def _resolve_algo(algo: Any, seed: int | None) -> BaseSampler:
    options: dict[str, Any] = {}
    while isinstance(algo, functools.partial):
        if algo.args:
            raise TypeError(f"fmin: algo may be partially applied by keyword only, got {algo!r}")
        options = {**algo.keywords, **options}
        algo = algo.func
    if isinstance(algo, BaseSampler):
        return algo
    if not isinstance(algo, Suggest):
        raise TypeError(
            "fmin: algo must be tpe.suggest or rand.suggest from tpe_core (optionally wrapped in "
            f"functools.partial), or a parzen sampler; got {algo!r}"
        )
    return algo.make_sampler(seed, **options)


def _seed_from_rstate(rstate: Any) -> int | None:
    if rstate is None:  # hyperopt's default: the seed in $HYPEROPT_FMIN_SEED, when set
        seed = os.environ.get("HYPEROPT_FMIN_SEED", "")
        return check_seed(int(seed)) if seed.strip() else None
    if isinstance(rstate, np.random.Generator):
        return int(rstate.integers(2**31 - 1))
    if isinstance(rstate, np.random.RandomState):
        return int(rstate.randint(2**31 - 1))
    return check_seed(rstate)


class Trials:
    """The record of an ``fmin`` search, in hyperopt's format.

    Pass the same ``Trials`` to several ``fmin`` calls to continue a search:
    ``max_evals`` counts the trials it already holds, as in hyperopt.

    Attributes
    ----------
    study : Study or None
        The parzen study behind it (None before the first ``fmin``).
    """

    def __init__(self) -> None:
        self.study: Study | None = None
        self._results: dict[int, dict[str, Any]] = {}
        self._records: dict[int, dict[str, Any]] = {}  # of finished trials, which never change
        self.attachments: dict[str, Any] = {}  # "ATTACH::<tid>::<name>", as hyperopt keeps them

    def trial_attachments(self, trial: Mapping[str, Any]) -> MutableMapping[str, Any]:
        """The attachments of ``trial`` (a record of :attr:`trials`): what its result dict gave under
        ``'attachments'``, by name, as hyperopt's ``Trials.trial_attachments``."""
        return _Attachments(self.__dict__.setdefault("attachments", {}), f"ATTACH::{trial['tid']}::")

    def __len__(self) -> int:
        return 0 if self.study is None else len(self.study.trials)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.trials)

    def _result(self, trial: Trial) -> dict[str, Any]:
        """The trial's result dict: what the objective returned, with the
        study's verdict on its status (a NaN loss is a failure)."""
        stored = self._results.get(trial.number, {})
        if trial.state is TrialState.COMPLETE:
            return {**stored, "loss": trial.value, "status": STATUS_OK}
        if trial.state is TrialState.RUNNING:
            return {"status": STATUS_NEW}
        if stored.get("status") == STATUS_FAIL or _is_infinite_loss(stored):
            # a failure the objective reported, or a loss of inf (valid in hyperopt, the worst; the
            # study keeps the trial FAIL, which TPE ranks last): the dict as the objective returned it
            return dict(stored)
        failed = {k: v for k, v in stored.items() if k != "loss"}
        return {**failed, "status": STATUS_FAIL, "error": (trial.error or "").splitlines()[0] or None}

    def _record(self, trial: Trial) -> dict[str, Any]:
        """The trial's hyperopt record: the same dict at every access once the
        trial is finished (so an edit of it stays, as in hyperopt)."""
        records = self.__dict__.setdefault("_records", {})  # a Trials pickled by an older parzen has none
        record = records.get(trial.number)
        if record is None:
            record = self._new_record(trial)
            if trial.state.is_finished():
                records[trial.number] = record
        return record

    def _new_record(self, trial: Trial) -> dict[str, Any]:
        assert self.study is not None
        vals = self.study.search_space.decode_params(trial._row, index_categoricals=True)
        names = self.study.search_space.names
        return {
            "tid": trial.number,
            "state": _JOB_STATE[trial.state] if trial.number not in self._results else JOB_STATE_DONE,
            "result": self._result(trial),
            "misc": {
                "tid": trial.number,
                "vals": {name: [vals[name]] if name in vals else [] for name in names},
                "idxs": {name: [trial.number] if name in vals else [] for name in names},
            },
            "book_time": _utc(trial.datetime_start),
            "refresh_time": _utc(trial.datetime_complete),
        }

    @property
    def trials(self) -> list[dict[str, Any]]:
        """One hyperopt-style record per trial: ``tid``, ``state``, ``result``,
        ``misc['vals']`` (label to ``[value]``, ``[]`` when inactive) and
        ``misc['idxs']`` (label to ``[tid]``, ``[]`` when inactive)."""
        return [] if self.study is None else [self._record(t) for t in self.study.trials]

    @property
    def tids(self) -> list[int]:
        """The id of each trial."""
        return [] if self.study is None else [t.number for t in self.study.trials]

    @property
    def miscs(self) -> list[dict[str, Any]]:
        """The ``misc`` entry of each record (``tid``, ``vals`` and ``idxs``)."""
        return [record["misc"] for record in self.trials]

    @property
    def idxs_vals(self) -> tuple[dict[str, list[int]], dict[str, list[Any]]]:
        """``(idxs, vals)``: for each label, the ids of the trials where it
        was active, and its values there (an index for ``hp.choice``)."""
        idxs: dict[str, list[int]] = {}
        vals: dict[str, list[Any]] = {}
        for misc in self.miscs:
            for label, values in misc["vals"].items():
                idxs.setdefault(label, []).extend([misc["tid"]] * len(values))
                vals.setdefault(label, []).extend(values)
        return idxs, vals

    @property
    def idxs(self) -> dict[str, list[int]]:
        """For each label, the ids of the trials where it was active."""
        return self.idxs_vals[0]

    @property
    def vals(self) -> dict[str, list[Any]]:
        """For each label, its values in the trials where it was active, in
        trial order (an index for ``hp.choice``), as ``trials.vals`` in hyperopt."""
        return self.idxs_vals[1]

    @property
    def results(self) -> list[dict[str, Any]]:
        """What the objective returned, as ``{'loss': ..., 'status': ...}`` dicts: a
        ``'fail'`` it returned as it is, a failure it did not report (an
        exception, a NaN loss) with the reason under ``'error'``."""
        return [record["result"] for record in self.trials]

    def losses(self) -> list[float | None]:
        """The loss of each trial's result, None where it has none (a failure, unless the objective's
        'fail' result gave one), as in hyperopt."""
        return [r.get("loss") for r in self.results]

    def statuses(self) -> list[str]:
        """The status of each trial."""
        return [r["status"] for r in self.results]

    @property
    def best_trial(self) -> dict[str, Any]:
        """The record of the trial with the lowest loss among ``"ok"`` ones (the
        first of those whose loss is ``inf`` when every one is)."""
        if self.study is None:
            raise AllTrialsFailed("no trials yet; run fmin() first")
        try:
            best = self.study.best_trial
        except ValueError as e:
            infinite = [t for t in self.study.trials if _is_infinite_loss(self._results.get(t.number, {}))]
            if not infinite:
                raise AllTrialsFailed(f"no trial succeeded: {e}") from e
            best = infinite[0]  # an 'ok' loss of inf is a result, the worst one (the study keeps it FAIL)
        return self._record(best)

    @property
    def argmin(self) -> dict[str, Any]:
        """The best trial's active values by label (an index for ``hp.choice``)."""
        vals = self.best_trial["misc"]["vals"]
        return {name: v[0] for name, v in vals.items() if v}


class _Attachments(MutableMapping[str, Any]):
    """One trial's attachments: the entries of ``Trials.attachments`` under its prefix."""

    def __init__(self, store: dict[str, Any], prefix: str) -> None:
        self._store, self._prefix = store, prefix

    def __getitem__(self, name: str) -> Any:
        return self._store[self._prefix + name]

    def __setitem__(self, name: str, value: Any) -> None:
        self._store[self._prefix + name] = value

    def __delitem__(self, name: str) -> None:
        del self._store[self._prefix + name]

    def __iter__(self) -> Iterator[str]:
        return (key[len(self._prefix):] for key in list(self._store) if key.startswith(self._prefix))

    def __len__(self) -> int:
        return sum(1 for _ in self)


def _utc(when: datetime.datetime | None) -> datetime.datetime | None:
    """A local time as hyperopt keeps its times: naive UTC, to the millisecond."""
    if when is None:
        return None
    when = when.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return when.replace(microsecond=when.microsecond // 1000 * 1000)


def _best_loss(study: Study) -> float:
    """The lowest loss of the study's trials, this call's and earlier ones' (inf before any)."""
    try:
        return study.best_value
    except ValueError:
        return math.inf


def _is_infinite_loss(result: Mapping[str, Any]) -> bool:
    return result.get("status") == STATUS_OK and _is_inf(result.get("loss"))


def _is_inf(loss: Any) -> bool:
    return isinstance(loss, (int, float, np.number)) and loss == math.inf


def _objective(fn: Callable[[Any], Any], trials: Trials) -> Callable[[Any, Trial], float]:
    """Wrap a hyperopt objective: it may return a loss or a result dict."""

    def objective(config: Any, trial: Trial) -> float:
        result = fn(config)
        if not isinstance(result, Mapping):
            if _is_inf(result):
                trials._results[trial.number] = {"loss": math.inf, "status": STATUS_OK}
            return result
        result = dict(result)
        attachments = result.pop("attachments", {})
        if attachments:
            trials.trial_attachments({"tid": trial.number}).update(attachments)
        status = result.get("status")
        if status not in (STATUS_OK, STATUS_FAIL):
            raise ValueError(
                f"the objective's result dict needs 'status' 'ok' or 'fail', got {status!r}"
            )
        trials._results[trial.number] = result
        if status == STATUS_FAIL:  # left out by TPE, as hyperopt leaves it out
            raise TrialFailed("the objective returned status 'fail'")
        if "loss" not in result:
            raise ValueError("a result dict with status 'ok' needs a 'loss'")
        return result["loss"]

    return objective


def _check_same_space(trials: Trials, space: Any) -> None:
    """Refuse to continue ``trials`` over another space."""
    assert trials.study is not None
    changes = SearchSpace.coerce(space).changes_from(trials.study.search_space)
    if changes:
        raise ValueError(
            f"fmin: these trials belong to a search over a different space: {'; '.join(changes)}; "
            "pass a new Trials() to search the new space"
        )


def _point_params(space: SearchSpace, point: Mapping[str, Any]) -> dict[str, Any]:
    """A point of ``points_to_evaluate`` (values by label, an option index for
    each ``hp.choice``) as the parameters ``Study.enqueue`` takes."""
    params = {p.name: p for p in space.params}
    out = {}
    for label, value in point.items():
        p = params.get(label)
        if p is not None and isinstance(p.distribution, Categorical) and not p.conditional:
            value = p.distribution.choices[int(p.distribution._encode_index(value))]
        out[label] = value
    return out


def _enqueue_points(trials: Trials, points: Sequence[Mapping[str, Any]]) -> None:
    """Queue ``points_to_evaluate`` in the study, all of them or (on an error) none."""
    assert trials.study is not None
    study = trials.study
    if len(study.trials):
        raise ValueError(
            f"fmin: points_to_evaluate are evaluated at the start of a search, and these trials already hold "
            f"{len(study.trials)}; drop points_to_evaluate, or queue them with trials.study.enqueue(...)"
        )
    if isinstance(points, Mapping) or not isinstance(points, Sequence):
        raise TypeError(f"fmin: points_to_evaluate must be a list of dicts (values by label), got {points!r}")
    queue = []
    for i, point in enumerate(points):
        if not isinstance(point, Mapping):
            raise TypeError(f"fmin: points_to_evaluate[{i}] must be a dict of values by label, got {point!r}")
        try:
            params = _point_params(study.search_space, point)
            study.search_space.encode_partial(params)
        except ValueError as e:
            raise SpaceError(f"fmin: points_to_evaluate[{i}] = {point!r}: {e}") from e
        queue.append(params)
    for params in queue:
        study.enqueue(params)


def _early_stop(
    early_stop_fn: Callable[..., tuple[bool, Any]], trials: Trials
) -> Callable[[Study, Trial], None]:
    """A study callback that calls ``early_stop_fn(trials, *args)`` after each
    trial, as hyperopt does, keeping the ``args`` it returns for the next call."""
    args: list[Any] = []

    def callback(study: Study, trial: Trial) -> None:
        stop, new_args = early_stop_fn(trials, *args)
        args[:] = list(new_args) if new_args is not None else []
        if stop:
            study.stop()

    return callback


def fmin(
    fn: Callable[[Any], Any],
    space: Any,
    algo: Any = None,
    max_evals: int | None = None,
    timeout: float | None = None,
    loss_threshold: float | None = None,
    trials: Trials | None = None,
    rstate: Any = None,
    catch_eval_exceptions: bool = False,
    verbose: bool = True,
    return_argmin: bool = True,
    points_to_evaluate: Sequence[Mapping[str, Any]] | None = None,
    show_progressbar: bool | None = None,
    early_stop_fn: Callable[..., tuple[bool, Any]] | None = None,
    trials_save_file: str = "",
    max_queue_len: int = 1,
    allow_trials_fmin: bool = True,
    pass_expr_memo_ctrl: bool | None = None,
) -> dict[str, Any] | None:
    """Minimise ``fn`` over ``space``, as hyperopt's ``fmin`` does.

    Parameters
    ----------
    fn : callable
        ``fn(config)`` returns a loss, or a dict with ``'status'`` (``STATUS_OK``
        or ``STATUS_FAIL``), ``'loss'`` and any other entries to keep.
    space : object
        A space built with :mod:`tpe_core.hp` or parzen distributions.
    algo : Suggest, optional
        ``tpe.suggest`` (the default) or ``rand.suggest``, possibly under
        ``functools.partial``, or any parzen sampler. Continuing ``trials``,
        ``algo`` and ``rstate`` apply to the trials this call runs; with
        neither, the search goes on with the algorithm it had.
    max_evals : int, optional
        Total number of trials in ``trials`` once this call returns.
    timeout : float, optional
        Stop starting trials after this many seconds.
    loss_threshold : float, optional
        Stop after a trial once the lowest loss of ``trials`` (earlier calls'
        trials included) is below this, as in hyperopt; the first trial of
        the call always runs.
    trials : Trials, optional
        Where to record the search (and continue an earlier one, over the
        same space: another space is a ``ValueError`` naming what changed).
    rstate : numpy.random.Generator or int, optional
        Seed of the search; by default, as in hyperopt, the integer in the
        environment variable ``HYPEROPT_FMIN_SEED`` when it is set.
    catch_eval_exceptions : bool, default=False
        Record an exception of ``fn`` as a failed trial and go on, instead of
        raising it (the trial is recorded either way).
    verbose : bool, default=True
        Whether to print progress: it is the default of ``show_progressbar``
        (``verbose=False`` hides the bar unless ``show_progressbar=True``).
    return_argmin : bool, default=True
        Return the best values by label (an option index for an
        ``hp.choice``); otherwise the best point itself,
        ``space_eval(space, trials.argmin)`` (None without trials).
    points_to_evaluate : list of dict, optional
        Points to evaluate first, in order, each a dict of values by label
        as :attr:`Trials.argmin` gives them (an option index for an
        ``hp.choice``); labels left out are proposed by the algorithm. They
        count in ``max_evals`` (and are all evaluated even beyond it). Only
        at the start of a search: with ``trials`` that already hold trials
        they are a ``ValueError`` (hyperopt ignores them there).
    show_progressbar : bool, optional
        Show a progress bar; by default, when ``verbose``.
    early_stop_fn : callable, optional
        Called after each trial as ``early_stop_fn(trials, *args)``, returning
        ``(stop, args)``: the search stops when ``stop`` is true, and the
        next call gets the ``args`` returned (none at the first call), as in
        hyperopt.
    trials_save_file : str, optional
        A file the trials are pickled to after each trial (written whole,
        then renamed over the old one, so a crash leaves the last complete
        copy); when it exists and ``trials`` is not given, the search
        resumes from it, as in hyperopt.
    max_queue_len : int, default=1
        Accepted for hyperopt's code; trials are proposed one at a time.
    allow_trials_fmin : bool, default=True
        Accepted for hyperopt's code (a ``Trials`` here has no ``fmin`` of its own to hand over to).
    pass_expr_memo_ctrl : None or False
        Accepted for hyperopt's code when off: ``fn`` gets the configuration, never hyperopt's
        expression, memo and control (``True`` is a ``ValueError``).

    Returns
    -------
    dict or None
        The best trial's values by label, with the option index for an
        ``hp.choice``: pass it to :func:`space_eval` to get the configuration.

    Examples
    --------
    >>> import numpy as np
    >>> from tpe_core import fmin, hp, rand, Trials
    >>> trials = Trials()
    >>> best = fmin(lambda x: (x - 1) ** 2, hp.uniform("x", -5, 5), algo=rand.suggest,
    ...             max_evals=50, trials=trials, rstate=np.random.default_rng(0),
    ...             show_progressbar=False)
    >>> abs(best["x"] - 1) < 1
    True
    """
    from tpe_core import tpe

    if isinstance(max_evals, float) and max_evals.is_integer():
        max_evals = int(max_evals)
    check_int("max_evals", max_evals, minimum=0, allow_none=True)
    if loss_threshold is not None and (
        isinstance(loss_threshold, bool) or not isinstance(loss_threshold, numbers.Real)
    ):
        raise ValueError(f"loss_threshold must be a number, got loss_threshold={loss_threshold!r}")
    check_int("max_queue_len", max_queue_len, minimum=1)
    if pass_expr_memo_ctrl:
        raise ValueError("pass_expr_memo_ctrl=True is not supported: fn gets the configuration, not hyperopt's "
                         "expression, memo and control")
    if trials is None and trials_save_file and os.path.exists(trials_save_file):
        trials = _load_trials(trials_save_file)
    trials = Trials() if trials is None else trials
    if trials.study is None:
        sampler = _resolve_algo(tpe.suggest if algo is None else algo, _seed_from_rstate(rstate))
        trials.study = Study(space, sampler=sampler)
    else:
        _check_same_space(trials, space)
        if algo is not None or rstate is not None:  # they apply to the trials this call runs
            sampler = _resolve_algo(tpe.suggest if algo is None else algo, _seed_from_rstate(rstate))
            trials.study._set_sampler(sampler, trials.study.search_space)
    study = trials.study
    points = [] if points_to_evaluate is None else points_to_evaluate
    if points_to_evaluate is not None:
        _enqueue_points(trials, points)
    n_trials = None if max_evals is None else max(0, max_evals - len(trials), len(points))
    callbacks = []
    if loss_threshold is not None:
        callbacks.append(lambda s, t: s.stop() if _best_loss(s) < loss_threshold else None)
    if early_stop_fn is not None:
        callbacks.append(_early_stop(early_stop_fn, trials))
    if trials_save_file:
        _save_trials(trials, trials_save_file)  # here, so that trials that cannot be pickled fail first
        callbacks.append(lambda s, t: _save_trials(trials, trials_save_file))
    study._log_failures = bool(verbose)
    try:
        study.optimize(
            _objective(fn, trials),
            n_trials=n_trials,
            timeout=timeout,
            catch=(Exception,) if catch_eval_exceptions else (),
            callbacks=callbacks,
            show_progress=verbose if show_progressbar is None else show_progressbar,
        )
    finally:
        study._log_failures = True
        if trials_save_file:
            _save_trials(trials, trials_save_file)  # with a trial whose exception propagates
    if return_argmin:
        return trials.argmin
    return space_eval(space, trials.argmin) if len(trials) else None


def _save_trials(trials: Trials, path: str) -> None:
    """Pickle ``trials`` to ``path``: written whole, then renamed over it."""
    try:
        blob = pickle.dumps(trials)
    except Exception as e:
        raise ValueError(
            f"trials_save_file={path!r}: these trials cannot be pickled ({describe_exception(e)}); a space "
            "saved with them must hold module-level functions and classes, not lambdas"
        ) from e
    partial = f"{path}.partial"
    with open(partial, "wb") as f:
        f.write(blob)
    os.replace(partial, path)


def _load_trials(path: str) -> Trials:
    try:
        with open(path, "rb") as f:
            trials = pickle.load(f)
    except Exception as e:
        raise ValueError(f"trials_save_file={path!r} cannot be read back ({describe_exception(e)})") from e
    if not isinstance(trials, Trials):
        raise ValueError(f"trials_save_file={path!r} holds a {type(trials).__name__}, not parzen's Trials")
    return trials


def space_eval(space: Any, hp_assignment: Mapping[str, Any]) -> Any:
    """Fill ``space`` with values by label, as hyperopt's ``space_eval`` does.

    Parameters
    ----------
    space : object
        The space given to ``fmin``.
    hp_assignment : dict
        Values by label, an option index for each ``hp.choice`` (what
        ``fmin`` returns). Values of branches not chosen, and labels the
        space does not have, are ignored, as hyperopt ignores them.

    Returns
    -------
    object
        The configuration in the shape of the space.

    Examples
    --------
    >>> from tpe_core import hp
    >>> space = {"act": hp.choice("act", ["relu", "tanh"]), "lr": hp.uniform("lr", 0, 1)}
    >>> space_eval(space, {"act": 1, "lr": 0.5})
    {'act': 'tanh', 'lr': 0.5}
    """
    compiled = SearchSpace.coerce(space)
    known = {label: value for label, value in hp_assignment.items() if label in compiled.names}
    row = compiled.encode_params(known, index_categoricals=True, ignore_inactive=True)
    return compiled.decode_config(row)
