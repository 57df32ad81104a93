"""An exclusive lock on a file (``flock``): one srprint process at a time on a folder.

The lock is held on an open file descriptor, so the kernel releases it when the process ends, even
when it is killed: a lock is never left stale. The file records who holds it, for the message
another process shows.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from ..errors import SrprintError


class LockedError(SrprintError):
    """Another process holds a lock this command needs."""


def _holder(fd: int) -> str:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        text = os.read(fd, 200).decode("utf-8", "replace").strip()
    except OSError:
        text = ""
    return text or "another srprint process"


@contextlib.contextmanager
def exclusive_lock(path: str | Path, *, what: str, wait: bool = False, hint: str = "") -> Iterator[Path]:
    """Hold an exclusive lock on ``path`` for the ``with`` block.

    Parameters
    ----------
    path : str or Path
        The lock file (created, with its folder, if missing; never deleted, so that two processes
        always lock the same file).
    what : str
        What the lock protects, for the message (e.g. ``the study folder /x``).
    wait : bool
        Wait until the holder finishes, instead of refusing at once.
    hint : str
        What the user can do instead, appended to the message.

    Yields
    ------
    Path
        The lock file.

    Raises
    ------
    LockedError
        If another process holds the lock and ``wait`` is False.
    """
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(p, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            if not wait:
                raise LockedError(f"{what} is in use by {holder}; {hint}".rstrip("; ")) from None
            sys.stderr.write(f"waiting for {holder} to finish with {what} ...\n")
            sys.stderr.flush()
            fcntl.flock(fd, fcntl.LOCK_EX)
        os.ftruncate(fd, 0)
        stamp = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
        os.pwrite(fd, f"srprint pid {os.getpid()} (since {stamp})\n".encode(), 0)
        yield p
    finally:
        os.close(fd)  # releases the lock
