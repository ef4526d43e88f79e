"""The write lock of one SQLite database, shared by threads and processes.

Writers of this process queue on a thread lock first, then on an advisory lock file next to
the database (``flock``) shared with other server processes (``serve --workers N``): SQLite's
own busy handler polls with sleeps of up to 100 ms, which under 50 tills turns into seconds of
tail latency. The file lock is only a queue; BEGIN IMMEDIATE is still what excludes every other
writer (a process without the file lock included).
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class WriteLock:
    """The write lock of one database: a thread lock, then the advisory lock file next to the
    database shared with other processes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._thread_lock = threading.Lock()
        self._fd: int | None = None

    def _file(self) -> int:
        """The advisory write lock file of this database (opened once; call under the thread
        lock)."""
        if self._fd is None:
            self._fd = os.open(
                f"{self.path}.write-lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600
            )
        return self._fd

    @contextmanager
    def held(self) -> Iterator[None]:
        """Hold both locks (waiting for them) for the duration of the block."""
        with self._thread_lock:
            fd = self._file()
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)

    def try_acquire(self) -> bool:
        """Take both locks if they are free at once; True when taken."""
        if not self._thread_lock.acquire(blocking=False):
            return False
        try:
            fcntl.flock(self._file(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._thread_lock.release()
            return False
        except BaseException:
            self._thread_lock.release()
            raise
        return True

    def acquire(self) -> None:
        """Take both locks, waiting for them."""
        self._thread_lock.acquire()
        try:
            fcntl.flock(self._file(), fcntl.LOCK_EX)
        except BaseException:
            self._thread_lock.release()
            raise

    def release(self) -> None:
        """Release both locks (taken by :meth:`acquire` or :meth:`try_acquire`)."""
        try:
            fcntl.flock(self._file(), fcntl.LOCK_UN)
        finally:
            self._thread_lock.release()

    def close(self) -> None:
        """Close the lock file (waiting for the thread lock)."""
        with self._thread_lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
