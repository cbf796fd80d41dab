"""Persistent storage of studies."""

from tpe_core._storage._sqlite import (
    SQLiteStorage,
    StorageError,
    StoredStudy,
    StoredTrial,
    TrialFinishedError,
)

__all__ = ["SQLiteStorage", "StorageError", "StoredStudy", "StoredTrial", "TrialFinishedError"]
