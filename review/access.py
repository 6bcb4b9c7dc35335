"""Whether another local user may read a directory: the kernel's permission rules applied to
a uid that is not this process's (os.access only answers for this process)."""

from __future__ import annotations

import os
import pwd
import stat
from pathlib import Path


def _groups(uid: int) -> set[int]:
    try:
        user = pwd.getpwuid(uid)
    except KeyError:
        return set()
    return set(os.getgrouplist(user.pw_name, user.pw_gid))


def _allowed(
    info: os.stat_result, uid: int, groups: set[int], owner: int, group: int, other: int
) -> bool:
    if info.st_uid == uid:
        return bool(info.st_mode & owner)
    if info.st_gid in groups:
        return bool(info.st_mode & group)
    return bool(info.st_mode & other)


def readable_by(path: Path, uid: int) -> bool:
    """`uid` can list `path` (read and search it) and reach it (search every parent)."""
    if uid == 0:
        return True
    groups = _groups(uid)
    try:
        for parent in reversed(path.parents):
            if not _allowed(os.stat(parent), uid, groups, stat.S_IXUSR, stat.S_IXGRP, stat.S_IXOTH):
                return False
        info = os.stat(path)
    except OSError:
        return False
    return _allowed(info, uid, groups, stat.S_IRUSR, stat.S_IRGRP, stat.S_IROTH) and _allowed(
        info, uid, groups, stat.S_IXUSR, stat.S_IXGRP, stat.S_IXOTH
    )
