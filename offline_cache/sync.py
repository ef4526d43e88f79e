"""The sync engine: drains the outbox to the server in order, in batches, exactly once.

The engine knows nothing of HTTP: it drives a :class:`Transport` (see ``offline_cache.link``
for the one over ``processing.ProcessingClient``). Per batch:

1. the records are marked ``sending`` (durably) and handed to the transport in ``seq`` order;
2. each answer is stored as it comes: ``acknowledged`` with the server's figures (which win:
   differences with what the till decided offline become ``conflicts`` rows), or ``dead`` with
   the reason when the server refused the record for good — the rest carry on;
3. a transient failure (offline, 5xx, garbled answer) puts the unanswered records back to
   ``pending`` and stops the drain with exponential backoff and jitter. Nothing after a
   transiently failed record is sent before it, so order is kept (per member and overall).

Re-sending a record whose answer was lost is safe: the server deduplicates by the record id
(the Idempotency-Key) and answers the same result.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

from sqlite_utils import Database

from offline_cache.clock import Clock, to_text, utc_now
from offline_cache.db import open_database
from offline_cache.lock import DrainLock
from offline_cache.members import MemberCache
from offline_cache.outbox import Outbox, OutboxRecord
from offline_cache.snapshots import SyncState
from offline_cache.txn import canonical_json, write_transaction


class TransientFailure(Exception):
    """Nothing can be concluded about the records not yet answered; try again later."""


@dataclass(frozen=True)
class Difference:
    """A figure the server decided differently from the till (``kind`` names which)."""

    kind: str
    local: str | None
    server: str | None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Delivery:
    """The server's answer for one record."""

    record_id: str
    acknowledged: bool
    response: dict[str, Any]
    reason: str | None = None
    """Why the server refused it (``code: sentence``) when not acknowledged."""
    differences: tuple[Difference, ...] = ()
    earned: Decimal | None = None
    spent: Decimal | None = None
    member_id: str | None = None
    balance_after: Decimal | None = None


class Transport(Protocol):
    """Sends outbox records, in order, and yields one :class:`Delivery` per answered record.

    Raises :class:`TransientFailure` when the rest cannot be answered now; records already
    yielded stay answered.
    """

    def deliver(self, records: Sequence[OutboxRecord]) -> Iterator[Delivery]: ...


@dataclass
class DrainReport:
    """What one drain did."""

    acknowledged: int = 0
    dead: list[tuple[str, str]] = field(default_factory=list)
    conflicts: int = 0
    batches: int = 0
    remaining: int = 0
    error: str | None = None
    """The transient failure that stopped the drain, if one did."""

    @property
    def ok(self) -> bool:
        """True when the queue is empty and nothing died in this drain."""
        return self.remaining == 0 and not self.dead and self.error is None


@dataclass(frozen=True)
class SendOutcome:
    """Where one record stands after :meth:`SyncEngine.send_one`."""

    state: str
    """``acknowledged``, ``dead`` (refused for good) or ``pending`` (the background sync
    sends it again)."""
    response: dict[str, Any] | None = None
    """The server's stored answer: its result when acknowledged, the refusal (``code``,
    ``message``, ``details``) when dead."""
    error: str | None = None
    """Why it is still pending, when it is."""


Borrow = Callable[[], AbstractContextManager[Database]]
"""Lends the caller's database for a block (the till's one connection, under its lock)."""


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with full jitter: a delay in ``[d/2, d]``, ``d = base·2^n ≤ cap``."""

    base: float = 1.0
    cap: float = 300.0

    def delay(self, failures: int, rand: Callable[[], float] = random.random) -> float:
        """Seconds to wait after ``failures`` consecutive failures (≥1)."""
        ceiling = min(self.cap, self.base * 2 ** max(0, failures - 1))
        return float(ceiling / 2 + rand() * ceiling / 2)


class SyncEngine:
    """Drains one till database through a transport. Opens its own connection (thread-safe)."""

    def __init__(
        self,
        db_path: Path | str,
        transport: Transport,
        *,
        batch_size: int = 100,
        backoff: Backoff | None = None,
        clock: Clock = utc_now,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.db_path = Path(db_path)
        self.transport = transport
        self.batch_size = batch_size
        self.backoff = backoff or Backoff()
        self._clock = clock
        self._rand = rand

    def drain(
        self,
        *,
        max_batches: int | None = None,
        respect_backoff: bool = False,
        wait_busy: float = 0.0,
    ) -> DrainReport:
        """Send everything unsent, batch after batch, until empty or a transient failure.

        ``respect_backoff`` (the background loop) returns at once while the backoff from an
        earlier failure has not elapsed; ``till sync`` drains now regardless.
        Raises ``SyncBusy`` when another drain (thread or process) is still running after
        ``wait_busy`` seconds.
        """
        with DrainLock(self.db_path, wait=wait_busy):
            db = open_database(self.db_path)
            try:
                return self._drain(db, max_batches, respect_backoff)
            finally:
                db.close()

    def send_one(self, record_id: str, database: Borrow | None = None) -> SendOutcome:
        """Deliver one committed record now: the till's only way to send a write at once.

        Sale confirmations, cancellations, claims, returns and registrations all come here
        right after they were committed to the outbox, and are classified as the drain does:
        acknowledged (the server's figures win, differences become conflicts), dead-lettered
        with a ``refused`` conflict when refused for good, or left pending on a transient
        failure (``hold_expired`` of a confirmation included) for the background sync.

        ``database`` lends the caller's connection (taken only to read the record and to store
        the answer, never across the network call); without it the engine opens its own. No
        drain lock is taken: a drain sending the same record at the same time uses the same
        Idempotency-Key, and whichever answer is stored second is ignored.
        """
        borrow = database or self._own_database
        with borrow() as db:
            outbox = Outbox(db, self._clock)
            record = outbox.get(record_id)
            if record.state not in ("pending", "sending"):
                return _outcome(record)
            outbox.mark_sending([record_id])
        failure: TransientFailure | None = None
        deliveries: list[Delivery] = []
        reason: str | None = None
        try:
            deliveries = [d for d in self.transport.deliver([record]) if d.record_id == record_id]
        except TransientFailure as error:
            failure = error
        with borrow() as db:
            outbox = Outbox(db, self._clock)
            if deliveries:
                self._store(db, outbox, deliveries[0], DrainReport())
            else:
                reason = str(failure) if failure is not None else "no answer"
                # Due at once: the background sync's own backoff paces the retries.
                outbox.mark_retry([record_id], reason, self._clock())
            return _outcome(outbox.get(record_id), reason)

    @contextmanager
    def _own_database(self) -> Iterator[Database]:
        db = open_database(self.db_path)
        try:
            yield db
        finally:
            db.close()

    def next_attempt_in(self) -> float:
        """Seconds until the background loop should try again (0 when due or idle)."""
        db = open_database(self.db_path)
        try:
            return max(0.0, self._wait_seconds(db))
        finally:
            db.close()

    def _wait_seconds(self, db: Database) -> float:
        row = db.execute(
            "SELECT next_attempt_at FROM outbox WHERE state IN ('pending', 'sending')"
            " ORDER BY seq LIMIT 1"
        ).fetchone()
        if row is None or row[0] is None:
            return 0.0
        wait = (datetime.fromisoformat(row[0]) - self._clock()).total_seconds()
        # A till clock moved back must not park the queue for a day: never wait beyond the cap.
        return min(wait, self.backoff.cap)

    def _drain(self, db: Database, max_batches: int | None, respect_backoff: bool) -> DrainReport:
        outbox = Outbox(db, self._clock)
        state = SyncState(db)
        report = DrainReport()
        if respect_backoff and self._wait_seconds(db) > 0:
            report.remaining = outbox.unsent_count()
            report.error = state.get("last_error")
            return report
        while max_batches is None or report.batches < max_batches:
            batch = outbox.next_batch(self.batch_size)
            if not batch:
                break
            report.batches += 1
            outbox.mark_sending([r.id for r in batch])
            answered: set[str] = set()
            deliveries: list[Delivery] = []
            failed: TransientFailure | None = None
            try:
                for delivery in self.transport.deliver(batch):
                    deliveries.append(delivery)
                    answered.add(delivery.record_id)
            except TransientFailure as failure:
                failed = failure
            # One transaction (one fsync) for the batch's answers: if the till dies before it
            # commits, the records are still 'sending' and are re-sent; the server answers the
            # same results for the same keys.
            with write_transaction(db):
                for delivery in deliveries:
                    self._store(db, outbox, delivery, report)
            if failed is not None:
                self._back_off(db, outbox, [r.id for r in batch if r.id not in answered], failed)
                report.error = str(failed)
                break
            if len(answered) < len(batch):
                # A transport that stops early without saying why: retry the rest later.
                missing = [r.id for r in batch if r.id not in answered]
                self._back_off(db, outbox, missing, TransientFailure("no answer for some records"))
                report.error = "no answer for some records"
                break
        if report.error is None:
            with write_transaction(db):
                state.set("failures", "0", self._clock())
                state.set("last_error", None, self._clock())
        if report.batches:
            state.set("last_sync", to_text(self._clock()), self._clock())
        report.remaining = outbox.unsent_count()
        return report

    def _store(self, db: Database, outbox: Outbox, delivery: Delivery, report: DrainReport) -> None:
        """Record one answer, its differences and the server's figures in one transaction."""
        now = self._clock()
        with write_transaction(db):
            if not outbox.is_unsent(delivery.record_id):
                # Answered already (a send-now and a drain crossed): stored once, not twice.
                return
            if delivery.acknowledged:
                outbox.mark_acknowledged(delivery.record_id, delivery.response)
                report.acknowledged += 1
                if delivery.earned is not None or delivery.spent is not None:
                    db.execute(
                        "UPDATE checks SET server_earned = ?, server_spent = ? WHERE id = ?",
                        [_text(delivery.earned), _text(delivery.spent), delivery.record_id],
                    )
                if delivery.member_id is not None and delivery.balance_after is not None:
                    MemberCache(db).take_server_balance(delivery.member_id, delivery.balance_after)
            else:
                reason = delivery.reason or "refused by the server"
                outbox.mark_dead(delivery.record_id, reason, delivery.response)
                report.dead.append((delivery.record_id, reason))
            for diff in delivery.differences:
                db.execute(
                    "INSERT INTO conflicts (record_id, kind, local, server, detail, created_at)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    [
                        delivery.record_id,
                        diff.kind,
                        diff.local,
                        diff.server,
                        canonical_json(diff.detail),
                        to_text(now),
                    ],
                )
                report.conflicts += 1

    def _back_off(
        self, db: Database, outbox: Outbox, record_ids: list[str], failure: Exception
    ) -> None:
        state = SyncState(db)
        now = self._clock()
        with write_transaction(db):
            failures = int(state.get("failures") or 0) + 1
            delay = self.backoff.delay(failures, self._rand)
            outbox.mark_retry(record_ids, str(failure), now + timedelta(seconds=delay))
            state.set("failures", str(failures), now)
            state.set("last_error", str(failure), now)


def _outcome(record: OutboxRecord, error: str | None = None) -> SendOutcome:
    state = record.state if record.state in ("acknowledged", "dead") else "pending"
    return SendOutcome(state, record.response, error if state == "pending" else None)


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


class SyncWorker:
    """The background drain loop of the till: wakes on :meth:`kick` or when backoff elapses."""

    def __init__(self, engine: SyncEngine, idle_seconds: float = 30.0) -> None:
        self.engine = engine
        self.idle_seconds = idle_seconds
        self.last_report: DrainReport | None = None
        self.last_error: Exception | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the daemon thread (idempotent)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="till-sync", daemon=True)
            self._thread.start()

    def kick(self) -> None:
        """Drain soon (call after committing a record)."""
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the loop and join the thread, bounded by ``timeout``."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            wait = self.idle_seconds
            try:
                self.last_report = self.engine.drain(respect_backoff=True)
                self.last_error = None
                if self.last_report.remaining:
                    wait = max(0.05, min(wait, self.engine.next_attempt_in()))
            except Exception as error:  # one place for worker errors: kept for status
                self.last_error = error
            self._wake.wait(wait)
            self._wake.clear()
