"""What the services are given: the session, the till's store, the receipt printer, the sync.

Each is one plain object built once by the composition root (:mod:`terminal.composition`)
and handed to every service that needs it. A service reads the session; it never keeps a
copy of the cashier, the shift or the connection state, so a login seen by one service is
seen by all.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlite_utils import Database

from loyalty.program import Program
from loyalty.receipt import Receipt
from offline_cache.audit import AuditLog
from offline_cache.print_jobs import PrintJobs
from offline_cache.snapshots import ProgramCache
from offline_cache.sync import SendOutcome, SyncEngine
from terminal import receipts
from terminal.config import Settings
from terminal.connection import Connection
from terminal.errors import TillError

Clock = Callable[[], datetime]
"""Returns the current time, aware; injected so tests and snapshots are repeatable."""

__all__ = [
    "Clock",
    "ReceiptPrinter",
    "Session",
    "SyncLink",
    "TillError",
    "TillStore",
    "utc_now",
]


def utc_now() -> datetime:
    """The system clock in UTC."""
    return datetime.now(UTC)


@dataclass
class Session:
    """Who works at the till now, in which shift, and whether the server answers.

    One object for the whole till; the services read it. Only the office service's
    ``start_shift``/``close_shift`` write the cashier and the shift; only the processing
    client's outcomes write the connection state.
    """

    connection: Connection
    """Whether the server answers, derived from the client's outcomes (read, never set)."""
    cashier: str | None = None
    """The logged-in cashier; every audit line names them."""
    shift_id: str | None = None
    """The open shift."""

    @property
    def online(self) -> bool:
        """The connection state as it is now."""
        return self.connection.online


class TillStore:
    """The till database behind one lock, for the workers that share its connection."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock
        # One connection shared by the workers; SQLite work is short, so a lock is enough.
        self._lock = threading.RLock()

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

    def audit(
        self,
        action: str,
        *,
        cashier: str | None,
        record_id: str | None,
        online: bool,
        source: str | None = None,
        detail: dict[str, Any] | None = None,
        override_by: str | None = None,
    ) -> None:
        """Append one line to the till's audit log."""
        with self.database() as db:
            AuditLog(db, self._clock).append(
                action,
                cashier=cashier,
                online=online,
                source=source,
                record_id=record_id,
                detail=detail,
                override_by=override_by,
            )

    def close(self) -> None:
        """Close the database (after every worker is done with it)."""
        with self._lock:
            self._db.close()


class ReceiptPrinter:
    """Receipts as text for the screen and as print jobs for the printer's worker."""

    def __init__(self, settings: Settings, store: TillStore, clock: Clock) -> None:
        self._settings = settings
        self._store = store
        self._clock = clock

    @property
    def enabled(self) -> bool:
        """False when the till has no printer (``[printer] kind = "none"``)."""
        return self._settings.printer.kind != "none"

    def text(self, receipt: Receipt) -> str:
        """The receipt as the screen previews it."""
        return receipts.receipt_text(self._settings, receipt)

    def queue(self, receipt: Receipt, check_id: str, kind: str) -> tuple[str, int | None]:
        """The receipt's preview text, and its print job (None when no printer is set up)."""
        text = self.text(receipt)
        if not self.enabled:
            return text, None
        data = receipts.receipt_bytes(self._settings, receipt)
        with self._store.database() as db:
            job = PrintJobs(db, self._clock).enqueue(data, check_id, kind)
        return text, job

    def queue_bytes(self, data: bytes, kind: str) -> int:
        """Queue bytes already rendered (the shift report)."""
        with self._store.database() as db:
            return PrintJobs(db, self._clock).enqueue(data, None, kind)


@dataclass
class SyncLink:
    """The sync engine, as the services see it: deliver one record now, wake it, or drain now.

    :meth:`deliver_now` is the one way a service sends a write it has just committed to the
    outbox (a sale's confirmation, a cancelled hold, a claim, a return): the services never
    call the client's delivery methods themselves. The background loop runs only once the
    composition root starts it (:func:`terminal.composition.start_sync`); a till built
    without it (a test, ``till bridge simulate``) delivers at once but never wakes anything.
    """

    engine: SyncEngine
    """The offline cache's engine over the services' client."""
    store: TillStore
    """The till database the records are committed to (its one connection is lent)."""
    kick: Callable[[], None] = field(default=lambda: None)
    """Wake the background sync."""
    running: bool = False
    """True once the background loop runs (the sync screen's "send now" needs it)."""

    def deliver_now(self, record_id: str) -> SendOutcome:
        """Send the committed record ``record_id`` now; a pending one wakes the background."""
        outcome = self.engine.send_one(record_id, self.store.database)
        if outcome.state == "pending":
            self.kick()
        return outcome
