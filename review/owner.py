"""Which process owns a running review round, and whether that process is still alive.

A round is marked `running` while its process asks the reviewer. If that process dies (kill -9,
power loss), nobody records the round as interrupted; so each round carries its owner: the
machine's boot id, the pid and the process's start time (a pid is reused, a pid with the same
start time on the same boot is the same process). A round whose owner is provably gone is
interrupted at once. An owner on another machine (several daemons on one PostgreSQL) cannot be
checked from here: its rounds are left to the round's time limit.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

_BOOT_ID = Path("/proc/sys/kernel/random/boot_id")


@dataclass(frozen=True)
class Owner:
    boot_id: str
    pid: int
    started: str

    def __str__(self) -> str:
        return f"{self.boot_id}/{self.pid}/{self.started}"

    @classmethod
    def parse(cls, text: str | None) -> Owner | None:
        parts = (text or "").split("/")
        if len(parts) != 3 or not parts[1].isdigit():
            return None
        return cls(parts[0], int(parts[1]), parts[2])


@cache
def _boot_id() -> str:
    try:
        return _BOOT_ID.read_text().strip()
    except OSError:
        # No /proc (macOS...): the host name stands in; liveness is then checked by pid alone.
        return f"host-{os.uname().nodename}"


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (field 22 of /proc/<pid>/stat)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after its last ')'.
    fields = stat[stat.rfind(")") + 2 :].split()
    return fields[19] if len(fields) > 19 else None


def _pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def current() -> Owner:
    pid = os.getpid()
    return Owner(_boot_id(), pid, _start_time(pid) or "?")


def is_gone(owner: Owner) -> bool:
    """True only when the owner is certainly dead: same machine and boot, and no process with
    that pid and start time."""
    if owner.boot_id != _boot_id():
        return False
    if not _pid_exists(owner.pid):
        return True
    started = _start_time(owner.pid)
    return started is not None and owner.started != "?" and started != owner.started


def gone(recorded: str | None) -> bool:
    """Whether the owner recorded on a round (its text form) is certainly dead."""
    found = Owner.parse(recorded)
    return found is not None and is_gone(found)
