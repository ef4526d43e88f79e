"""One drain at a time, across threads and processes: an exclusive ``flock`` beside the database.

The kernel drops the lock when its holder dies (even on ``kill -9``), so a crashed drain never
leaves the queue stuck the way a lease with an expiry would.
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path
from types import TracebackType

from offline_cache.errors import SyncBusy


class DrainLock:
    """``with DrainLock(db_path):`` holds the drain lock or raises ``SyncBusy``.

    ``wait`` seconds: how long to wait for another drain to finish first (0: not at all). A
    person who asked to send now waits for the background drain rather than get an error.
    """

    POLL_SECONDS = 0.05

    def __init__(self, db_path: Path | str, wait: float = 0.0) -> None:
        self.path = Path(str(db_path) + ".sync-lock")
        self.wait = wait
        self._fd: int | None = None

    def __enter__(self) -> DrainLock:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + self.wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() < deadline:
                    # Polled rather than a blocking flock: a blocking one cannot time out.
                    time.sleep(self.POLL_SECONDS)
                    continue
                owner = os.pread(fd, 64, 0).decode(errors="replace").strip()
                os.close(fd)
                raise SyncBusy(owner) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fd = fd
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
