"""Trials evaluated by a ``concurrent.futures.Executor``, Dask's included.

The study (the driver) asks the sampler, submits ``_evaluate`` with the
configuration, and records the outcome when the future completes. The
objective's stand-in trial puts its reports on a queue that the driver
drains while trials run, and gets ``should_prune`` answers on a queue of
its own: with Dask these are ``distributed.Queue`` objects (kept by the
scheduler, reachable from every worker); with other executors,
``multiprocessing.Manager`` queues. Importing this module does not import
dask.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import multiprocessing
import queue as queue_module
import time
import uuid
import weakref
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from tpe_core._trial import describe_exception
from tpe_core._workers import apply_message, picklable_exception, picklable_result, start_trial, trial_task

if TYPE_CHECKING:
    from tpe_core._trial import Trial
    from tpe_core._workers import Outcome

__all__ = ["DaskExecutor", "ExecutorRun"]

#: Seconds between two looks at the trials' messages while they run.
_POLL = 0.05


def _started_before(name: str) -> bool:
    """Whether this Dask task ran before: Dask re-runs the task of a worker that
    died, and that trial must end "worker lost", not run (and maybe kill) again."""
    from distributed import Event

    started = Event(f"{name}-started")
    if started.is_set():
        return True
    started.set()
    return False


def _replies_on_dask(name: str) -> Callable[[], Any]:
    """The ``get`` of the Dask queue called ``name``, created on first use."""

    def get() -> Any:
        from distributed import Queue

        return Queue(name).get()

    return get


def _sender_on_dask(name: str, number: int) -> tuple[Callable[[tuple[Any, ...]], None], Callable[[], None]]:
    """Put trial ``number``'s messages on the Dask queue called ``name``, opened on first use; and
    close it (the scheduler keeps a queue until every opener closed it).

    Tasks carry queue names, never queues: a scheduler running in the
    driver's process would open an unpickled queue from its own event loop
    and wait for itself.
    """
    opened: list[Any] = []

    def send(message: tuple[Any, ...]) -> None:
        if not opened:
            from distributed import Queue

            opened.append(Queue(name))
        opened[0].put((number, *message))

    def close() -> None:
        for queue in opened:
            queue.close()

    return send, close


def _evaluate(
    objective: Callable[..., Any],
    with_trial: bool,
    task: tuple[Any, ...],
    out: Any,
    replies: Any,
) -> Outcome:
    """Run on a worker: evaluate one configuration (``task``, :func:`trial_task`); never raises.

    ``out`` and ``replies`` are queues, or on Dask the names of queues
    (``replies`` made only when the objective asks ``should_prune``, to
    spare a round trip per trial).
    """
    if isinstance(replies, str) and _started_before(replies):
        return "failure", "worker lost: the worker running this trial died"
    number = task[0]
    ask_prune = _replies_on_dask(replies) if isinstance(replies, str) else replies.get
    if isinstance(out, str):
        send, close = _sender_on_dask(out, number)
    else:
        send, close = (lambda message: out.put((number, *message))), (lambda: None)
    try:
        trial = start_trial(task, send, ask_prune)
        try:
            result = objective(trial.config, trial) if with_trial else objective(trial.config)
        except BaseException as e:
            return "raise", picklable_exception(e)
        return "result", picklable_result(result)
    finally:
        close()


class DaskExecutor(concurrent.futures.Executor):
    """Run trials on a Dask cluster.

    Parameters
    ----------
    client : distributed.Client or str
        A client, or the address of a scheduler (``"tcp://host:8786"``) to
        connect to.
    resources : dict, optional
        Dask resources each trial needs, e.g. ``{"GPU": 1}`` so that each
        worker started with ``--resources GPU=1`` runs one trial at a time.

    Notes
    -----
    ``Study.optimize(..., executor=DaskExecutor(client))`` keeps as many
    trials in flight as the cluster has worker threads (or ``n_jobs`` when
    it is larger than 1). A trial whose worker dies ends FAIL
    ("worker lost"); Dask's retry of it is refused.

    Examples
    --------
    >>> from tpe_core import DaskExecutor  # doctest: +SKIP
    >>> from distributed import Client, LocalCluster  # doctest: +SKIP
    >>> with LocalCluster(n_workers=2) as cluster, Client(cluster) as client:  # doctest: +SKIP
    ...     study.optimize(objective, n_trials=20, executor=DaskExecutor(client))
    """

    def __init__(self, client: Any, resources: dict[str, float] | None = None) -> None:
        from distributed import Client

        if isinstance(client, Client) and client.status != "running":
            raise ValueError(f"DaskExecutor: the client is {client.status}; give a running distributed.Client, "
                             "or a scheduler's address")
        self._owns_client = not isinstance(client, Client)  # made here from an address: closed at shutdown
        self.client = client if isinstance(client, Client) else Client(client)
        self.resources = resources
        self._executor = self.client.get_executor(pure=False, resources=resources)
        self._futures: weakref.WeakSet[concurrent.futures.Future] = weakref.WeakSet()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> concurrent.futures.Future:
        future = self._executor.submit(fn, *args, **kwargs)
        self._futures.add(future)
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop taking tasks; with ``cancel_futures``, cancel the unfinished
        ones first (on Dask those already running too: the client cannot
        tell them from the queued ones). A client made here from an address
        is closed; one given is the caller's to close."""
        if cancel_futures:
            for future in list(self._futures):
                future.cancel()
        self._executor.shutdown(wait=wait)
        if self._owns_client:
            self.client.close()

    def default_n_in_flight(self) -> int:
        return max(1, sum(self.client.nthreads().values()))

    def new_queue(self, name: str | None = None) -> Any:
        from distributed import Queue

        return Queue(name or f"parzen-{uuid.uuid4().hex}", client=self.client)


class ExecutorRun:
    """The driver's side of one ``optimize`` call on an executor."""

    def __init__(
        self, executor: concurrent.futures.Executor, objective: Callable[..., Any], with_trial: bool, n_jobs: int
    ) -> None:
        self.executor = executor
        self.objective = objective
        self.with_trial = with_trial
        self._dask = isinstance(executor, DaskExecutor)
        # Threads share this process's queues; processes need a Manager's (a spawned process).
        self._threads = isinstance(executor, concurrent.futures.ThreadPoolExecutor)
        self._manager = None if self._dask or self._threads else multiprocessing.get_context("spawn").Manager()
        self._out = self._new_queue()
        self._futures: dict[concurrent.futures.Future, tuple[Trial, Any]] = {}
        self._trials: dict[int, tuple[Trial, Any]] = {}
        if n_jobs > 1:
            self.n_in_flight = n_jobs
        elif self._dask:
            self.n_in_flight = executor.default_n_in_flight()  # type: ignore[attr-defined]
        else:  # ProcessPoolExecutor and ThreadPoolExecutor say how many workers they have
            self.n_in_flight = max(1, getattr(executor, "_max_workers", 1))

    def _new_queue(self) -> Any:
        if self._dask:
            return self.executor.new_queue()  # type: ignore[attr-defined]
        return queue_module.Queue() if self._threads else self._manager.Queue()  # type: ignore[union-attr]

    @property
    def n_free(self) -> int:
        """How many more trials may start now."""
        return self.n_in_flight - len(self._futures)

    @property
    def running(self) -> list[Trial]:
        return [trial for trial, _ in self._futures.values()]

    def submit(self, trial: Trial) -> None:
        replies = f"parzen-{uuid.uuid4().hex}" if self._dask else self._new_queue()
        out = self._out.name if self._dask else self._out
        future = self.executor.submit(
            _evaluate, self.objective, self.with_trial, trial_task(trial), out, replies,
        )
        self._futures[future] = (trial, replies)
        self._trials[trial.number] = (trial, replies)

    def wait(self, timeout: float) -> list[tuple[Trial, Outcome]]:
        """Serve reports and ``should_prune`` asks for up to ``timeout`` seconds, looking every
        :data:`_POLL` seconds (an ask waited for a trial to end, up to ``timeout``); return the trials
        that ended."""
        deadline = time.monotonic() + timeout
        done: set[concurrent.futures.Future] = set()
        while self._futures:
            self._drain()
            left = deadline - time.monotonic()
            done, _ = concurrent.futures.wait(
                list(self._futures), timeout=max(0.0, min(_POLL, left)), return_when="FIRST_COMPLETED"
            )
            if done or left <= _POLL:
                break
        self._drain()  # a finished trial's last reports arrive before its outcome is recorded
        ended = []
        for future in done:
            trial, replies = self._futures.pop(future)
            del self._trials[trial.number]
            if self._dask:  # the scheduler keeps an event until it is cleared: one a trial, for good
                from distributed import Event

                with contextlib.suppress(Exception):  # a cluster gone
                    Event(f"{replies}-started", client=self.executor.client).clear()  # type: ignore[attr-defined]
            try:
                outcome = future.result()
            except Exception as e:  # the worker died (or the pool broke) under it
                outcome = ("failure", f"worker lost: {describe_exception(e)}")
            ended.append((trial, outcome))
        return ended

    def _drain(self) -> None:
        for number, kind, *args in self._messages():
            if number not in self._trials:
                continue  # a late message of a trial already recorded
            trial, replies = self._trials[number]
            if kind == "should_prune":
                queue = self.executor.new_queue(replies) if isinstance(replies, str) else replies  # type: ignore[attr-defined]
                queue.put(trial.should_prune())
            else:
                apply_message(trial, kind, args)

    def _messages(self) -> Iterator[tuple[Any, ...]]:
        while True:
            try:
                if self._dask:
                    if self._out.qsize() == 0:
                        return
                    yield self._out.get(timeout=5)
                else:
                    yield self._out.get_nowait()
            except queue_module.Empty:
                return

    def close(self) -> None:
        """Cancel the trials not started; answer "prune" to the running ones' ``should_prune``, asked or
        to come, so that they end (a thread waiting for an answer kept its executor, or a Dask worker's
        thread, from ever finishing)."""
        for future in self._futures:
            future.cancel()
        for _, replies in self._trials.values():
            queue = self.executor.new_queue(replies) if isinstance(replies, str) else replies  # type: ignore[attr-defined]
            with contextlib.suppress(Exception):  # a pool, or a cluster, already gone
                queue.put(True)
        if self._dask:
            with contextlib.suppress(Exception):
                self._out.close()
        if self._manager is not None:
            self._manager.shutdown()
