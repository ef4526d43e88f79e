"""What every part of the services facade shares: settings, client, the locked database.

The facade (:class:`terminal.services.TillServices`) is assembled from one mixin per concern
(sale, members, back office); each relies only on what :class:`ServiceBase` provides.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlite_utils import Database

from loyalty.program import Program
from loyalty.receipt import Receipt
from offline_cache.audit import AuditLog
from offline_cache.print_jobs import PrintJobs
from offline_cache.snapshots import ProgramCache
from processing.client import ProcessingClient
from terminal.cashiers import Cashiers, cashiers_path
from terminal.config import Settings
from terminal.connection import Connection
from terminal.errors import TillError

Clock = Callable[[], datetime]
"""Returns the current time, aware; injected so tests and snapshots are repeatable."""

__all__ = ["Clock", "ServiceBase", "TillError", "utc_now"]


def utc_now() -> datetime:
    """The system clock in UTC."""
    return datetime.now(UTC)


class ServiceBase:
    """Settings, the processing client, the till database behind a lock, who is working."""

    def __init__(
        self,
        settings: Settings,
        client: ProcessingClient,
        db: Database,
        *,
        clock: Clock = utc_now,
    ) -> None:
        self.settings = settings
        """The configuration (replaced after an admin save)."""
        self.client = client
        """The processing client, shared with the sync worker (httpx is thread-safe)."""
        self.clock = clock
        """Current time."""
        self._db = db
        # One connection shared by the workers; SQLite work is short, so a lock is enough.
        self._lock = threading.RLock()
        self._budget_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="identify")
        self.cashiers = Cashiers(cashiers_path(settings.offline.db_path))
        """Who may log in at this till."""
        self.cashier: str | None = None
        """The logged-in cashier; every audit line names them."""
        self.shift_id: str | None = None
        """The open shift."""
        self.connection = Connection(client)
        """Whether the server answers, derived from the client's outcomes (read, never set)."""
        self.kick_sync: Callable[[], None] = lambda: None
        """Wake the background sync (set by whoever started it)."""

    @contextmanager
    def database(self) -> Iterator[Database]:
        """The till database, locked for the caller's block."""
        with self._lock:
            yield self._db

    def cached_program(self) -> Program | None:
        """The program last fetched from the server (None before the first refresh)."""
        with self.database() as db:
            cached = ProgramCache(db).load()
        return Program.from_dict(cached.program) if cached is not None else None

    def close(self) -> None:
        """Release the network pool and the database (bounded; called on app exit)."""
        self._budget_pool.shutdown(wait=False, cancel_futures=True)
        self.client.close()
        with self._lock:
            self._db.close()

    def _queue_print(self, receipt: Receipt, check_id: str, kind: str) -> tuple[str, int | None]:
        """The receipt's preview text, and its print job (None when no printer is set up)."""
        from terminal import receipts

        text = receipts.receipt_text(self.settings, receipt)
        if self.settings.printer.kind == "none":
            return text, None
        data = receipts.receipt_bytes(self.settings, receipt)
        with self.database() as db:
            job = PrintJobs(db, self.clock).enqueue(data, check_id, kind)
        return text, job

    def _audit(
        self,
        action: str,
        *,
        record_id: str | None,
        source: str | None = None,
        online: bool,
        detail: dict[str, object] | None = None,
        override_by: str | None = None,
    ) -> None:
        with self.database() as db:
            AuditLog(db, self.clock).append(
                action,
                cashier=self.cashier,
                online=online,
                source=source,
                record_id=record_id,
                detail=detail,
                override_by=override_by,
            )
