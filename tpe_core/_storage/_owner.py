"""Which process owns a running trial, and whether that process still lives."""

from __future__ import annotations

import functools
import os
import socket
import sys
from dataclasses import dataclass

__all__ = ["Owner", "this_process"]


def _proc_stat(pid: int) -> list[str] | None:
    """Fields of ``/proc/<pid>/stat`` after the command name, or None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            text = f.read().decode("ascii", "replace")
    except OSError:
        return None
    return text[text.rfind(")") + 2 :].split()


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux), which
    tells a process apart from a later one that reuses its pid."""
    fields = _proc_stat(pid)
    return fields[19] if fields is not None and len(fields) > 19 else None


@functools.lru_cache(maxsize=1)
def _pid_space() -> str | None:
    """This boot of this machine and this pid namespace (Linux), or None.

    Processes in containers that share a host name (``--network=host``,
    ``hostNetwork``), or cloned machines that share one and a file, have
    the same host name but not the same pids: a pid is checked only within
    the pid space that gave it.
    """
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            boot = f.read().strip()
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        return None
    return f"{boot}/{namespace}"


@dataclass(frozen=True)
class Owner:
    """A process: host name, pid, and ``started``, where the system tells
    them, its start time and its pid space (``"TICKS@SPACE"``; older
    records hold the start time alone)."""

    host: str
    pid: int
    started: str | None

    def is_alive_here(self) -> bool | None:
        """Whether this process still runs, for an owner on this host.

        Returns None when the host is another one, or the same host name in
        another boot or pid namespace, or when this system cannot tell (then
        only the heartbeat decides).
        """
        if self.host != socket.gethostname():
            return None
        ticks, _, space = (self.started or "").partition("@")
        if space and space != _pid_space():
            return None
        ticks = ticks or None
        if self.pid == os.getpid() and ticks == _start_time(self.pid):
            return True
        if sys.platform == "win32":  # os.kill would terminate the process
            return None
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:  # exists, owned by another user
            pass
        fields = _proc_stat(self.pid)
        if fields is None:
            return True if not os.path.isdir("/proc") else False
        if fields[0] in ("Z", "X"):  # zombie or dead: exited, not yet reaped
            return False
        return ticks is None or fields[19] == ticks

    def describe(self) -> str:
        return f"pid {self.pid} on host {self.host!r}"


def this_process() -> Owner:
    """The owner record of the calling process."""
    ticks, space = _start_time(os.getpid()), _pid_space()
    return Owner(socket.gethostname(), os.getpid(), f"{ticks or ''}@{space}" if space else ticks)
