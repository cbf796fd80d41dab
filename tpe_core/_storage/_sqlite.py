"""A study in an SQLite file: crash-safe, shared by several processes.

Every change of a trial is committed when it happens (the parameters when
the trial is asked, each reported value, the final state), in WAL mode, so a
kill loses nothing that was reported. Each write is one ``BEGIN IMMEDIATE``
transaction; waits for the lock are bounded by ``timeout`` and retried, so
concurrent workers never see "database is locked".

Every write also bumps the study's ``revision`` and stamps the rows it
touches with it. A :class:`~tpe_core.Study` keeps its trials and the encoded
history in memory and, before each ask, reads only the trials stamped after
the revision it last saw: the history is never re-read row by row.
"""

from __future__ import annotations

import atexit
import contextlib
import datetime
import functools
import json
import logging
import math
import os
import pickle
import random
import sqlite3
import stat
import threading
import time
import urllib.parse
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, NoReturn, TypeVar

import numpy as np

from tpe_core._storage._owner import Owner, this_process
from tpe_core._trial import TrialState, short_reason
from tpe_core._validation import check_seconds

__all__ = ["SQLiteStorage", "StorageError", "StoredStudy", "StoredTrial", "TrialFinishedError"]

#: Version of the file layout; a file with a higher one is refused.
SCHEMA_VERSION = 1
#: ``PRAGMA application_id`` of parzen files ("PZEN"): tells them from other programs' files.
APPLICATION_ID = 0x505A454E
_SQLITE_HEADER = b"SQLite format 3\x00"

# Files written before study attributes existed lack this table: it is made by
# their first set_study_user_attr. Readers of any version ignore it, so the
# file layout version stays the same.
_STUDY_USER_ATTRS = """
CREATE TABLE IF NOT EXISTS study_user_attrs (
    study_id INTEGER NOT NULL REFERENCES studies (study_id),
    key TEXT NOT NULL,
    value TEXT NOT NULL,            -- JSON
    PRIMARY KEY (study_id, key)
) WITHOUT ROWID
"""

# Ids of deleted studies, so that a study created later under the same name
# gets a new id: a process still running the deleted study then finds its id
# gone (and says so) instead of writing into the new study. Made by the first
# delete_study, as the table above.
_DELETED_STUDIES = """
CREATE TABLE IF NOT EXISTS deleted_studies (
    study_id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    datetime_deleted TEXT NOT NULL
)
"""

_SCHEMA = """
CREATE TABLE studies (
    study_id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    direction TEXT NOT NULL,
    space BLOB NOT NULL,            -- pickled space definition
    space_repr TEXT NOT NULL,       -- the same, readable
    sampler TEXT NOT NULL,          -- repr of the sampler that created the study
    datetime_created TEXT NOT NULL,
    revision INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE trials (
    trial_id INTEGER PRIMARY KEY,
    study_id INTEGER NOT NULL REFERENCES studies (study_id),
    number INTEGER NOT NULL,
    state TEXT NOT NULL,            -- RUNNING, COMPLETE, PRUNED, FAIL
    params TEXT NOT NULL,           -- encoded row as JSON: numbers, choice indices, null if inactive
    value REAL,
    diverged INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    user_attrs TEXT NOT NULL DEFAULT '{}',
    datetime_start TEXT NOT NULL,
    datetime_complete TEXT,
    owner_host TEXT,
    owner_pid INTEGER,
    owner_started TEXT,
    heartbeat REAL,                 -- time.time() of the owner's last sign of life
    revision INTEGER NOT NULL,
    UNIQUE (study_id, number)
);
CREATE INDEX trials_by_revision ON trials (study_id, revision);
CREATE INDEX trials_by_state ON trials (study_id, state);
CREATE TABLE intermediate_values (
    trial_id INTEGER NOT NULL REFERENCES trials (trial_id),
    step INTEGER NOT NULL,
    value REAL,                     -- NULL stands for NaN
    PRIMARY KEY (trial_id, step)
) WITHOUT ROWID;
""" + _STUDY_USER_ATTRS + ";" + _DELETED_STUDIES


_logger = logging.getLogger("tpe_core")

# The storages with a connection open in this process, closed (their -wal folded in) when it exits.
_OPEN: weakref.WeakSet[SQLiteStorage] = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    for storage in list(_OPEN):
        storage.close()


class StorageError(ValueError):
    """A storage URL or file that parzen cannot use; nothing was written."""


class TrialFinishedError(ValueError):
    """A result for a trial that is already finished; the stored one stands."""


@dataclass
class StoredStudy:
    """A study's row: its id in the file, name, direction and space definition."""

    study_id: int
    name: str
    direction: str
    space: Any


@dataclass
class StoredTrial:
    """A trial as read back from storage."""

    number: int
    state: str
    row: np.ndarray
    value: float | None
    diverged: bool
    error: str | None
    user_attrs: dict[str, Any]
    datetime_start: datetime.datetime
    datetime_complete: datetime.datetime | None
    intermediate_values: dict[int, float] = field(default_factory=dict)


_TRIAL_STATES = tuple(state.value for state in TrialState)  # what a trial's row may hold


def _path_from_url(url: str) -> str:
    if not isinstance(url, str) or not url.startswith("sqlite:///"):
        raise StorageError(
            f"storage must be an SQLite URL such as 'sqlite:///parzen.db' (a relative path) or "
            f"'sqlite:////abs/path/parzen.db', got storage={url!r}"
        )
    rest = url[len("sqlite:///") :]
    if "?" in rest:
        raise StorageError(
            f"storage={url!r} has a query part ({rest[rest.index('?'):]!r}), which parzen does not read; give "
            "SQLiteStorage(url, timeout=...) for settings, and write a '?' in a file name as %3F"
        )
    path = urllib.parse.unquote(rest)
    if path in ("", ":memory:"):
        raise StorageError(
            f"storage={url!r} names no file: give one (sqlite:///parzen.db); a study kept in memory has "
            "storage=None"
        )
    return path


def _row_to_json(row: np.ndarray) -> str:
    return json.dumps([None if math.isnan(x) else x for x in row.tolist()])


def _row_from_json(text: str) -> np.ndarray:
    return np.array([np.nan if x is None else x for x in json.loads(text)], dtype=float)


def _is_locked(e: sqlite3.OperationalError) -> bool:
    message = str(e).lower()
    return "locked" in message or "busy" in message


def _while_locked(conn: sqlite3.Connection, statement: str, timeout: float) -> None:
    """Execute ``statement``, retried with a growing random wait (8 tries at
    most, for ``timeout`` seconds in all) while another connection holds the
    lock it needs: SQLite's busy timeout waits within a try, and a lock it
    reports at once (without waiting) is tried again."""
    deadline = time.monotonic() + timeout
    for attempt in range(8):
        try:
            conn.execute(statement)
            return
        except sqlite3.OperationalError as e:
            if not _is_locked(e) or attempt == 7 or time.monotonic() >= deadline:
                raise
            time.sleep(min(random.uniform(0.01, 0.1) * 2**attempt, max(0.0, deadline - time.monotonic())))


_Method = TypeVar("_Method", bound=Callable[..., Any])


def _file_errors(method: _Method) -> _Method:
    """``method``, with SQLite's errors about the file raised as a
    :class:`StorageError` that names it and says what to do."""

    @functools.wraps(method)
    def wrapper(self: SQLiteStorage, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.DatabaseError as e:
            raise StorageError(self._cannot_use(e)) from e

    return wrapper  # type: ignore[return-value]


class SQLiteStorage:
    """Studies kept in an SQLite file.

    Parameters
    ----------
    url : str
        ``"sqlite:///relative/path.db"`` or ``"sqlite:////absolute/path.db"``.
    timeout : float, default=60.0
        Seconds a write waits for another process's lock before retrying.
    heartbeat_interval : float, default=30.0
        Seconds between the heartbeats that a process with running trials
        writes; a trial whose owner runs on another host is given up
        ("worker lost") when its heartbeat is older than ``grace_period``.
    grace_period : float, optional
        Defaults to four heartbeat intervals. On the owner's own host no
        wait is needed: a trial whose process no longer exists is given up
        as soon as any process opens the study or asks a trial.

    Notes
    -----
    The space is stored with :mod:`pickle`, so that a study can be opened
    without restating it; open only study files you trust, as with any
    pickle. Commits use ``synchronous=NORMAL`` in WAL mode: a killed process
    loses nothing it committed; a power cut may lose the last commits.
    Parameters round-trip exactly (the encoded row is stored as JSON);
    values are SQLite REALs, so a value of ``-0.0`` reads back as ``0.0``.

    Examples
    --------
    >>> import os, tempfile
    >>> from tpe_core import Float, Study, load_study
    >>> folder = tempfile.TemporaryDirectory()
    >>> url = "sqlite:///" + os.path.join(folder.name, "study.db")
    >>> study = Study({"x": Float(-1, 1)}, storage=url, study_name="demo")
    >>> study.optimize(lambda c: c["x"] ** 2, n_trials=3)
    >>> len(load_study(storage=url, study_name="demo").trials)
    3
    >>> folder.cleanup()
    """

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 60.0,
        heartbeat_interval: float = 30.0,
        grace_period: float | None = None,
    ) -> None:
        self.url = url
        self.path = _path_from_url(url)
        # Resolved once: an objective that changes the working directory must not move the study file.
        self._file = os.path.abspath(self.path)
        self.timeout = check_seconds("timeout", timeout)
        self.heartbeat_interval = check_seconds("heartbeat_interval", heartbeat_interval)
        self.grace_period = (
            4 * self.heartbeat_interval if grace_period is None else check_seconds("grace_period", grace_period)
        )
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        self._conn_pid: int | None = None
        self._identity: tuple[int, int] | None = None  # the file the connection has open
        self._heartbeat: threading.Thread | None = None
        self._heartbeat_wake = threading.Event()  # set: beat now (and end, when no trial of this process runs)

    @classmethod
    def coerce(cls, storage: str | SQLiteStorage) -> SQLiteStorage:
        """The storage for a ``storage=`` argument: a URL or a storage."""
        return storage if isinstance(storage, SQLiteStorage) else cls(storage)

    def __repr__(self) -> str:
        return f"SQLiteStorage({self.url!r})"

    def __getstate__(self) -> dict[str, Any]:
        # A copy in another process opens its own connection.
        state = self.__dict__.copy()
        state.update(_lock=None, _conn=None, _conn_pid=None, _heartbeat=None, _identity=None, _heartbeat_wake=None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.RLock()
        self._heartbeat_wake = threading.Event()

    # ------------------------------------------------------------ connection
    def _connection(self, *, create: bool = False) -> sqlite3.Connection:
        """This process's connection, opened (and the file checked) on first use."""
        if self._conn is None or self._conn_pid != os.getpid():
            self._conn = self._open(create)
            self._conn_pid = os.getpid()
            _OPEN.add(self)
        return self._conn

    def close(self) -> None:
        """Fold the study file's ``-wal`` file into it and close this process's connection.

        The study file then holds every result, and can be copied alone. A
        later use of the storage opens it again. It is done for every open
        storage when the process exits; while a process writes, or after one
        was killed, the ``-wal`` file holds the latest results: copy it too,
        or copy with ``sqlite3 FILE ".backup COPY"``.
        """
        with self._lock:
            conn, mine = self._conn, self._conn_pid == os.getpid()
            self._conn = self._conn_pid = None
            if conn is None or not mine:
                return
            with contextlib.suppress(sqlite3.Error):  # another connection reading may hold part of it back
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.close()

    def _open(self, create: bool) -> sqlite3.Connection:
        self._check_file(create)
        try:
            conn = sqlite3.connect(
                _uri(self._file, create), uri=True, timeout=self.timeout, isolation_level=None,
                check_same_thread=False,
            )
            self._identity = _identity(self._file)  # SQLite made the file, if it was not there
            tables = self._check_schema(conn)
        except sqlite3.DatabaseError as e:
            raise StorageError(self._cannot_use(e)) from e
        if not tables and not create:  # reading only: an empty file is left as it is
            conn.close()
            raise StorageError(f"{self.path!r} holds no study: it is an empty file (storage={self.url!r})")
        if not tables:
            self._create_schema(conn)
        # it takes the file alone: concurrent creators hold it
        _while_locked(conn, "PRAGMA journal_mode=WAL", self.timeout)
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    def _cannot_use(self, e: sqlite3.DatabaseError) -> str:
        """What an SQLite error about the file means for the user."""
        message = str(e).lower()
        if "readonly" in message or "read-only" in message or "unable to open" in message:
            return (f"cannot use {self.path!r} ({e}): parzen writes to the study file and, beside it, to its "
                    "-wal and -shm files, even to read it; check that the file and its folder can be written, "
                    "or copy the file to a folder that can")
        if isinstance(e, sqlite3.OperationalError) and _is_locked(e):
            return (f"{self.path!r} stayed locked by another connection for more than {self.timeout:g} s ({e}); "
                    "pass SQLiteStorage(url, timeout=...) to wait longer")
        return f"{self.path!r} is not a usable SQLite file: {e}"

    def _check_file(self, create: bool) -> None:
        try:
            mode = os.stat(self._file).st_mode
            if not stat.S_ISDIR(mode):
                with open(self._file, "rb") as f:
                    header = f.read(len(_SQLITE_HEADER))
        except FileNotFoundError:
            if not create:
                raise StorageError(f"no study file at {self.path!r} (storage={self.url!r})") from None
            directory = os.path.dirname(self._file)
            if not os.path.isdir(directory):
                raise StorageError(f"cannot create {self.path!r}: no directory {directory!r}") from None
            return
        except OSError as e:  # no permission to the file or a folder above it
            raise StorageError(
                f"cannot use {self.path!r} ({e.strerror or e}): parzen reads and writes the study file and, "
                "beside it, its -wal and -shm files; check that the file and its folders can be read and written"
            ) from e
        if stat.S_ISDIR(mode):
            raise StorageError(f"{self.path!r} is a directory, not a study file")
        if header and header != _SQLITE_HEADER:
            raise StorageError(f"{self.path!r} is not an SQLite file; parzen leaves it untouched")

    def _check_schema(self, conn: sqlite3.Connection) -> list[str]:
        """The file's tables, after checking that it is a parzen file we can
        read (or an empty one: no table, view, index or trigger, and neither
        an application id nor a user version, which other programs set)."""
        entries = conn.execute("SELECT type, name FROM sqlite_master ORDER BY type, name").fetchall()
        tables = [name for kind, name in entries if kind == "table"]
        (app_id,) = conn.execute("PRAGMA application_id").fetchone()
        (version,) = conn.execute("PRAGMA user_version").fetchone()
        if not entries and not app_id and not version:
            return tables
        if app_id != APPLICATION_ID:
            found = ", ".join(f"{kind} {name}" for kind, name in entries if not name.startswith("sqlite_")) or (
                f"no table, but application_id {app_id} and user_version {version}")
            raise StorageError(
                f"{self.path!r} is an SQLite file of another program ({found}); "
                "parzen leaves it untouched; choose another file for the study"
            )
        if version > SCHEMA_VERSION:
            raise StorageError(
                f"{self.path!r} was written by a newer parzen (file layout {version}, this parzen reads "
                f"up to {SCHEMA_VERSION}); upgrade parzen to open it"
            )
        return tables

    def _create_schema(self, conn: sqlite3.Connection) -> None:
        """Create the tables of an empty file, once, even with concurrent creators."""
        with self._transaction(conn):
            if conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]:
                self._check_schema(conn)  # another process made it meanwhile
                return
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @contextlib.contextmanager
    def _transaction(self, conn: sqlite3.Connection | None = None) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` write transaction, retried while the file is locked.

        The body must not have side effects outside the database before it
        can fail on a lock: only ``BEGIN`` is retried.
        """
        with self._lock:
            conn = conn if conn is not None else self._connection()
            if _identity(self._file) != self._identity:
                raise StorageError(
                    f"{self.path!r} was removed or replaced while this process had it open: what it writes "
                    "now would not be in the file there (this write is not stored); open the study again"
                )
            _while_locked(conn, "BEGIN IMMEDIATE", self.timeout)
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    @staticmethod
    def _bump(conn: sqlite3.Connection, study_id: int) -> int:
        """Increase the study's revision; return the new one."""
        conn.execute("UPDATE studies SET revision = revision + 1 WHERE study_id = ?", (study_id,))
        return conn.execute("SELECT revision FROM studies WHERE study_id = ?", (study_id,)).fetchone()[0]

    # ------------------------------------------------------------ studies
    @_file_errors
    def study_names(self) -> list[str]:
        """Names of the studies in the file, oldest first."""
        if self._conn is None and os.path.isfile(self._file) and not os.path.getsize(self._file):
            return []  # an empty file, left as it is
        rows = self._connection().execute("SELECT name FROM studies ORDER BY study_id")
        return [r[0] for r in rows]

    @_file_errors
    def delete_study(self, name: str) -> int:
        """Remove the study called ``name`` and all its trials; return how many trials it had.

        Raises
        ------
        StorageError
            When there is no such study, or some of its trials are running
            in a live process (they would be lost mid-run).
        """
        (study_id,) = self._study_row(name, "study_id")  # not its space: one that cannot be unpickled goes too
        self.fail_lost_trials(study_id)
        conn = self._connection()
        with self._transaction(conn):
            running = [r[0] for r in conn.execute(
                "SELECT number FROM trials WHERE study_id = ? AND state = 'RUNNING' ORDER BY number", (study_id,)
            )]
            if running:
                raise StorageError(
                    f"study {name!r} in {self.path!r} has running trials {running}; "
                    "let them finish (or stop their processes) before deleting it"
                )
            trial_ids = "SELECT trial_id FROM trials WHERE study_id = ?"
            conn.execute(f"DELETE FROM intermediate_values WHERE trial_id IN ({trial_ids})", (study_id,))
            n_trials = conn.execute("DELETE FROM trials WHERE study_id = ?", (study_id,)).rowcount
            if _has_table(conn, "study_user_attrs"):
                conn.execute("DELETE FROM study_user_attrs WHERE study_id = ?", (study_id,))
            conn.execute("DELETE FROM studies WHERE study_id = ?", (study_id,))
            conn.execute(_DELETED_STUDIES)
            conn.execute(
                "INSERT INTO deleted_studies (study_id, name, datetime_deleted) VALUES (?, ?, ?)",
                (study_id, name, datetime.datetime.now().isoformat()),
            )
        return n_trials

    @_file_errors
    def create_or_load_study(self, name: str, space: Any, direction: str, sampler: str) -> StoredStudy:
        """The study called ``name``, created when it does not exist yet."""
        try:
            blob = pickle.dumps(space)
        except Exception as e:
            raise ValueError(
                f"a stored study keeps its space with pickle, and this space cannot be pickled ({e}); "
                "use module-level functions and classes instead of lambdas or local objects"
            ) from e
        conn = self._connection(create=True)
        with self._transaction(conn):
            last = conn.execute("SELECT max(study_id) FROM studies").fetchone()[0] or 0
            if _has_table(conn, "deleted_studies"):  # never the id of a deleted study
                last = max(last, conn.execute("SELECT max(study_id) FROM deleted_studies").fetchone()[0] or 0)
            conn.execute(
                "INSERT INTO studies (study_id, name, direction, space, space_repr, sampler, datetime_created) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING",
                (last + 1, name, direction, blob, repr(space), sampler, datetime.datetime.now().isoformat()),
            )
        return self.load_study(name)

    def _study_row(self, name: str, columns: str) -> tuple[Any, ...]:
        """``columns`` of the study called ``name``; a :class:`StorageError` lists the names there are."""
        row = self._connection().execute(f"SELECT {columns} FROM studies WHERE name = ?", (name,)).fetchone()
        if row is None:
            names = self.study_names()
            raise StorageError(
                f"no study named {name!r} in {self.path!r}; "
                + (f"it holds: {', '.join(map(repr, names))}" if names else "it holds no study")
            )
        return row

    @_file_errors
    def load_study(self, name: str) -> StoredStudy:
        """The study called ``name``; a :class:`StorageError` lists the names there are."""
        row = self._study_row(name, "study_id, direction, space")
        try:
            space = pickle.loads(row[2])
        except Exception as e:
            raise StorageError(
                f"the space of study {name!r} cannot be unpickled here ({type(e).__name__}: {e}); "
                "import the modules that define its objects, or pass the space to Study(...)"
            ) from e
        return StoredStudy(row[0], name, row[1], space)

    @_file_errors
    def study_user_attrs(self, study_id: int) -> dict[str, Any]:
        """The user attributes of a study (none in a file that never stored one)."""
        conn = self._connection()
        self._check_study(conn, study_id)
        if not _has_table(conn, "study_user_attrs"):
            return {}
        rows = conn.execute("SELECT key, value FROM study_user_attrs WHERE study_id = ? ORDER BY key", (study_id,))
        return {key: json.loads(value) for key, value in rows}

    @_file_errors
    def set_study_user_attr(self, study_id: int, key: str, value: Any) -> None:
        """Store a user attribute of a study, replacing one of the same key."""
        with self._transaction() as conn:
            self._check_study(conn, study_id)
            conn.execute(_STUDY_USER_ATTRS)
            conn.execute(
                "INSERT OR REPLACE INTO study_user_attrs (study_id, key, value) VALUES (?, ?, ?)",
                (study_id, key, json.dumps(value)),
            )

    # ------------------------------------------------------------ trials
    @_file_errors
    def changed_trials(self, study_id: int, since: int) -> tuple[list[StoredTrial], int]:
        """Trials written after revision ``since``, by number, and the current revision."""
        with self._lock:
            conn = self._connection()
            conn.execute("BEGIN")
            try:
                return self._read_changes(conn, study_id, since)
            finally:
                conn.execute("COMMIT")

    def _read_changes(self, conn: sqlite3.Connection, study_id: int, since: int) -> tuple[list[StoredTrial], int]:
        row = conn.execute("SELECT revision FROM studies WHERE study_id = ?", (study_id,)).fetchone()
        if row is None:
            self._deleted(conn, study_id)
        (revision,) = row
        if revision == since:
            return [], revision
        rows = conn.execute(
            "SELECT trial_id, number, state, params, value, diverged, error, user_attrs, datetime_start, "
            "datetime_complete FROM trials WHERE study_id = ? AND revision > ? ORDER BY number",
            (study_id, since),
        ).fetchall()
        trials = {}
        for r in rows:
            try:
                if r[2] not in _TRIAL_STATES:
                    raise ValueError(f"state {r[2]!r} is none of {', '.join(_TRIAL_STATES)}")
                trials[r[0]] = StoredTrial(
                    number=r[1],
                    state=r[2],
                    row=_row_from_json(r[3]),
                    value=r[4],
                    diverged=bool(r[5]),
                    error=r[6],
                    user_attrs=json.loads(r[7]),
                    datetime_start=datetime.datetime.fromisoformat(r[8]),
                    datetime_complete=None if r[9] is None else datetime.datetime.fromisoformat(r[9]),
                )
            except (ValueError, TypeError) as e:  # a row edited by hand
                raise StorageError(
                    f"trial {r[1]} of the study in {self.path!r} cannot be read ({e}); its row in table 'trials' "
                    "was changed outside parzen"
                ) from e
        if trials:
            marks = ",".join("?" * len(trials))
            for trial_id, step, value in conn.execute(
                f"SELECT trial_id, step, value FROM intermediate_values WHERE trial_id IN ({marks})",
                tuple(trials),
            ):
                trials[trial_id].intermediate_values[step] = math.nan if value is None else value
        return list(trials.values()), revision

    @_file_errors
    def create_trial(
        self,
        study_id: int,
        since: int,
        propose: Callable[[list[StoredTrial], int], tuple[int, np.ndarray, datetime.datetime]],
    ) -> int:
        """Allocate the study's next trial under the write lock.

        ``propose(changed, revision)`` receives the trials changed since
        ``since`` (so the caller's history is complete) and returns the new
        trial's number, encoded row and start time. Returns the revision of
        the new trial.
        """
        owner = this_process()
        with self._transaction() as conn:
            changed, revision = self._read_changes(conn, study_id, since)
            number, row, start = propose(changed, revision)
            revision = self._bump(conn, study_id)
            conn.execute(
                "INSERT INTO trials (study_id, number, state, params, datetime_start, owner_host, owner_pid, "
                "owner_started, heartbeat, revision) VALUES (?, ?, 'RUNNING', ?, ?, ?, ?, ?, ?, ?)",
                (study_id, number, _row_to_json(row), start.isoformat(), owner.host, owner.pid,
                 owner.started, time.time(), revision),
            )
        self._keep_heartbeat()
        return revision

    def _trial_id(self, conn: sqlite3.Connection, study_id: int, number: int, action: str) -> int:
        """The id of a RUNNING trial, or :class:`TrialFinishedError` saying how it ended."""
        row = conn.execute(
            "SELECT trial_id, state, error FROM trials WHERE study_id = ? AND number = ?", (study_id, number)
        ).fetchone()
        if row is None:
            self._check_study(conn, study_id)
            raise KeyError(f"no trial {number} in this study")
        if row[1] != "RUNNING":
            reason = f" ({row[2]})" if row[2] else ""
            raise TrialFinishedError(
                f"cannot {action} trial {number}: it is already finished as {row[1]}{reason}; "
                "a finished trial never changes"
            )
        return row[0]

    def _check_study(self, conn: sqlite3.Connection, study_id: int) -> None:
        """Raise :meth:`_deleted`'s error when the study is no longer in the file."""
        if conn.execute("SELECT 1 FROM studies WHERE study_id = ?", (study_id,)).fetchone() is None:
            self._deleted(conn, study_id)

    def _deleted(self, conn: sqlite3.Connection, study_id: int) -> NoReturn:
        """Raise the :class:`StorageError` of a study deleted while this process used it."""
        row = conn.execute("SELECT name, datetime_deleted FROM deleted_studies WHERE study_id = ?",
                           (study_id,)).fetchone() if _has_table(conn, "deleted_studies") else None
        what = f"study {row[0]!r} was deleted from {self.path!r} at {row[1]}" if row else (
            f"the study (id {study_id}) is no longer in {self.path!r}")
        raise StorageError(f"{what} while a Study was using it; nothing more is written to it")

    @_file_errors
    def set_datetime_start(self, study_id: int, number: int, datetime_start: datetime.datetime) -> None:
        """Move a running trial's start to when its evaluation began (a worker's start-up excluded)."""
        with self._transaction() as conn:
            trial_id = self._trial_id(conn, study_id, number, "start")
            revision = self._bump(conn, study_id)
            conn.execute(
                "UPDATE trials SET datetime_start = ?, revision = ? WHERE trial_id = ?",
                (datetime_start.isoformat(), revision, trial_id),
            )

    @_file_errors
    def report(self, study_id: int, number: int, step: int, value: float) -> None:
        """Store an intermediate value of a running trial."""
        with self._transaction() as conn:
            trial_id = self._trial_id(conn, study_id, number, "report to")
            revision = self._bump(conn, study_id)
            conn.execute(
                "INSERT OR REPLACE INTO intermediate_values (trial_id, step, value) VALUES (?, ?, ?)",
                (trial_id, step, None if math.isnan(value) else value),
            )
            conn.execute(
                "UPDATE trials SET revision = ?, heartbeat = ? WHERE trial_id = ?", (revision, time.time(), trial_id)
            )

    @_file_errors
    def set_user_attr(self, study_id: int, number: int, key: str, value: Any) -> None:
        """Store a user attribute of a running trial."""
        with self._transaction() as conn:
            trial_id = self._trial_id(conn, study_id, number, "set an attribute of")
            (attrs,) = conn.execute("SELECT user_attrs FROM trials WHERE trial_id = ?", (trial_id,)).fetchone()
            attrs = {**json.loads(attrs), key: value}
            revision = self._bump(conn, study_id)
            conn.execute(
                "UPDATE trials SET user_attrs = ?, revision = ? WHERE trial_id = ?",
                (json.dumps(attrs), revision, trial_id),
            )

    @_file_errors
    def finish_trial(
        self,
        study_id: int,
        number: int,
        state: str,
        value: float | None,
        error: str | None,
        diverged: bool,
        datetime_complete: datetime.datetime,
    ) -> None:
        """Record the final state of a running trial; a finished one is never changed."""
        with self._transaction() as conn:
            trial_id = self._trial_id(conn, study_id, number, "finish")
            revision = self._bump(conn, study_id)
            conn.execute(
                "UPDATE trials SET state = ?, value = ?, error = ?, diverged = ?, datetime_complete = ?, "
                "revision = ? WHERE trial_id = ?",
                (state, value, None if error is None else short_reason(error), int(diverged),
                 datetime_complete.isoformat(), revision, trial_id),
            )

    # ------------------------------------------------------------ lost workers
    @_file_errors
    def fail_lost_trials(self, study_id: int) -> list[str]:
        """Mark FAIL the running trials whose process is gone; describe each one marked.

        A trial is lost when its owner ran on this host and no longer
        exists, or ran elsewhere and its heartbeat is older than
        ``grace_period``. Of several processes doing this at once, exactly
        one marks each lost trial.
        """
        conn = self._connection()
        running = conn.execute(
            "SELECT trial_id, number, owner_host, owner_pid, owner_started, heartbeat FROM trials "
            "WHERE study_id = ? AND state = 'RUNNING'",
            (study_id,),
        ).fetchall()
        lost = []
        now = time.time()
        for trial_id, number, host, pid, started, heartbeat in running:
            owner = Owner(host, pid, started)
            alive = owner.is_alive_here()
            if alive is False:
                lost.append((trial_id, number, f"worker lost: {owner.describe()} is gone"))
            elif alive is None and heartbeat is not None and now - heartbeat > self.grace_period:
                lost.append((trial_id, number, f"worker lost: no heartbeat from {owner.describe()} "
                             f"for {now - heartbeat:.0f} s"))
        if not lost:
            return []
        marked = []
        with self._transaction(conn):
            revision = self._bump(conn, study_id)
            for trial_id, number, reason in lost:
                cursor = conn.execute(
                    "UPDATE trials SET state = 'FAIL', error = ?, datetime_complete = ?, revision = ? "
                    "WHERE trial_id = ? AND state = 'RUNNING'",
                    (reason, datetime.datetime.now().isoformat(), revision, trial_id),
                )
                if cursor.rowcount:  # 0 when another process marked it first
                    marked.append(f"trial {number}: {reason}")
        return marked

    def wake_heartbeat(self) -> None:
        """Have the heartbeat thread beat now rather than at its next interval: it ends, with its
        connection, when this process owns no running trial (a study calls it when an optimize ends)."""
        self._heartbeat_wake.set()

    def _keep_heartbeat(self) -> None:
        """Run the heartbeat thread while this process owns running trials."""
        with self._lock:
            if self._heartbeat is None or not self._heartbeat.is_alive():
                self._heartbeat = threading.Thread(
                    target=_beat, args=(self, this_process()), name="parzen-heartbeat", daemon=True
                )
                self._heartbeat.start()


def _has_table(conn: sqlite3.Connection, name: str) -> bool:
    """Whether the file has table ``name`` (older files lack those made on first use)."""
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)).fetchone() is not None


def _identity(path: str) -> tuple[int, int] | None:
    """Which file ``path`` names (device and inode), None when there is none."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_dev, info.st_ino


def _uri(path: str, create: bool) -> str:
    """The SQLite URI of the absolute ``path``: read-write, and created only when ``create``."""
    return "file:" + urllib.parse.quote(path) + ("?mode=rwc" if create else "?mode=rw")


def _heartbeat_stopped(storage: SQLiteStorage, error: sqlite3.Error) -> None:
    """Say that the heartbeat thread ends on ``error``, and let the next running trial start another.

    A file removed or replaced is not said here: a trial of it has no file to be kept alive in, and the
    process's next write says so."""
    if _identity(storage._file) == storage._identity:
        _logger.warning("The heartbeat of %r stopped: %s; its running trials may be marked worker lost.",
                        storage.path, error)
    storage._heartbeat = None


def _beat(storage: SQLiteStorage, owner: Owner) -> None:
    """Refresh the heartbeat of ``owner``'s running trials until it has none (or its file is gone)."""
    try:
        conn = sqlite3.connect(
            _uri(storage._file, create=False), uri=True, timeout=storage.timeout, isolation_level=None,
            check_same_thread=False,
        )
    except sqlite3.OperationalError as e:  # the file was removed: no trial of it to keep alive
        _heartbeat_stopped(storage, e)
        return
    try:
        while True:
            storage._heartbeat_wake.wait(storage.heartbeat_interval)
            storage._heartbeat_wake.clear()
            with storage._lock:
                try:
                    cursor = conn.execute(
                        "UPDATE trials SET heartbeat = ? WHERE state = 'RUNNING' AND owner_host = ? AND "
                        "owner_pid = ? AND owner_started IS ?",  # the same pid in another pid space is not it
                        (time.time(), owner.host, owner.pid, owner.started),
                    )
                except sqlite3.DatabaseError as e:
                    if isinstance(e, sqlite3.OperationalError) and _is_locked(e) and os.path.exists(storage._file):
                        continue  # locked for longer than the timeout: try at the next beat
                    _heartbeat_stopped(storage, e)  # the file is gone or damaged: the next write says so
                    return
                if cursor.rowcount == 0:
                    storage._heartbeat = None
                    return
    finally:
        conn.close()
