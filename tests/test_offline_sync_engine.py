"""The sync engine's state machine, driven by a scripted transport.

The transport here is an in-process stand-in for the network so each transition can be forced
exactly; the same engine runs against the real server on loopback in the reliability tests.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlite_utils import Database

from offline_cache.checks import CheckRecord, commit_check
from offline_cache.db import open_database
from offline_cache.errors import ShiftCloseRefused, SyncBusy
from offline_cache.lock import DrainLock
from offline_cache.outbox import Outbox, OutboxRecord, verify_chain
from offline_cache.shifts import close_shift, open_shift
from offline_cache.status import sync_status
from offline_cache.sync import Backoff, Delivery, Difference, SyncEngine, TransientFailure

NOW = datetime(2025, 1, 1, 10, 0, tzinfo=UTC)


class Scripted:
    """Acknowledges everything, except ids in ``refuse`` (dead) and a failure after N sends."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.refuse: set[str] = set()
        self.fail_after: int | None = None

    def deliver(self, records: Sequence[OutboxRecord]) -> Iterator[Delivery]:
        for record in records:
            if self.fail_after is not None and len(self.sent) >= self.fail_after:
                raise TransientFailure("The processing server cannot be reached.")
            self.sent.append(record.id)
            if record.id in self.refuse:
                yield Delivery(record.id, False, {}, "member_blocked: blocked")
                continue
            diffs = (Difference("earn", str(record.earn), "2.00"),) if record.earn else ()
            yield Delivery(
                record.id,
                True,
                {"ok": True},
                differences=diffs,
                earned=Decimal("2.00"),
                spent=record.spend,
            )


def _fill(path: Path, count: int, earn: str = "0") -> None:
    db = open_database(path)
    for n in range(count):
        commit_check(
            db,
            CheckRecord(
                f"c{n:04d}",
                f"m{n % 3}",
                Decimal("10"),
                Decimal(earn),
                Decimal("0"),
                offline=True,
                payload={"n": n},
            ),
            clock=lambda: NOW,
        )
    db.close()


def test_drains_in_order_in_batches_and_dead_items_do_not_block(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    _fill(path, 25, earn="3.00")
    transport = Scripted()
    transport.refuse = {"c0003"}
    report = SyncEngine(path, transport, batch_size=10, clock=lambda: NOW).drain()
    assert transport.sent == [f"c{n:04d}" for n in range(25)]
    assert report.batches == 3 and report.acknowledged == 24 and report.remaining == 0
    assert report.dead == [("c0003", "member_blocked: blocked")] and not report.ok
    db = open_database(path)
    assert db.execute("SELECT count(*) FROM conflicts WHERE kind = 'earn'").fetchone()[0] == 24
    assert db.execute("SELECT server_earned FROM checks WHERE id='c0001'").fetchone() == ("2.00",)
    status = sync_status(db, NOW)
    assert (status.unsent, status.dead, status.open_conflicts) == (0, 1, 24)
    assert verify_chain(db) == 25


def test_transient_failure_keeps_order_and_backs_off(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    _fill(path, 12)
    transport = Scripted()
    transport.fail_after = 5
    clock = [NOW]
    engine = SyncEngine(
        path,
        transport,
        batch_size=4,
        clock=lambda: clock[0],
        backoff=Backoff(base=10, cap=60),
        rand=lambda: 1.0,
    )
    report = engine.drain()
    assert report.acknowledged == 5 and report.remaining == 7 and report.error
    db = open_database(path)
    acked = [r[0] for r in db.execute("SELECT id FROM outbox WHERE state='acknowledged'")]
    assert acked == [f"c{n:04d}" for n in range(5)]  # nothing after the failed one
    assert engine.next_attempt_in() == 10.0
    assert engine.drain(respect_backoff=True).batches == 0  # still backing off
    transport.fail_after = 6
    clock[0] = NOW + timedelta(seconds=11)
    engine.drain(respect_backoff=True)
    assert engine.next_attempt_in() == 20.0  # second failure doubles
    # A till clock moved back a whole day does not park the queue beyond the cap.
    clock[0] = NOW - timedelta(days=1)
    assert engine.next_attempt_in() == 60.0
    transport.fail_after = None
    final = engine.drain()
    assert final.ok and transport.sent[:6] == [f"c{n:04d}" for n in range(6)]
    assert sync_status(db, NOW).last_error is None


def another_drain(path: Path, release: threading.Event) -> threading.Thread:
    """A thread holding the drain lock of ``path`` until ``release`` is set (started, locked)."""
    entered = threading.Event()

    def hold() -> None:
        with DrainLock(path):
            entered.set()
            release.wait(10)

    thread = threading.Thread(target=hold)
    thread.start()
    assert entered.wait(10)
    return thread


def test_only_one_drain_at_a_time(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    _fill(path, 1)
    release = threading.Event()
    thread = another_drain(path, release)
    with pytest.raises(SyncBusy):
        SyncEngine(path, Scripted()).drain()
    release.set()
    thread.join(10)
    assert SyncEngine(path, Scripted()).drain().ok


def test_a_drain_asked_to_wait_runs_once_the_other_drain_ends(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    _fill(path, 3)
    release = threading.Event()
    thread = another_drain(path, release)
    with pytest.raises(SyncBusy):  # a short wait still gives up while the other one runs
        SyncEngine(path, Scripted()).drain(wait_busy=0.2)
    threading.Timer(0.3, release.set).start()
    report = SyncEngine(path, Scripted()).drain(wait_busy=10)
    thread.join(10)
    assert report.ok and report.acknowledged == 3


def test_backoff_grows_with_jitter_and_is_capped() -> None:
    backoff = Backoff(base=1, cap=8)
    assert [backoff.delay(n, lambda: 1.0) for n in (1, 2, 3, 4, 5)] == [1, 2, 4, 8, 8]
    assert backoff.delay(3, lambda: 0.0) == 2


def test_shift_close_refused_while_unsent_unless_a_manager_overrides(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    _fill(path, 2)
    db = open_database(path)
    open_shift(db, "s1", "anna")
    with pytest.raises(ShiftCloseRefused) as refused:
        close_shift(db, "s1", "anna", online=False)
    assert refused.value.pending == 2
    assert close_shift(db, "s1", "anna", online=False, manager="boss") == 2
    row = db.execute(
        "SELECT override_by, detail FROM audit_log WHERE action='shift_closed'"
    ).fetchone()
    assert row == ("boss", '{"unsent":2}')
    open_shift(db, "s2", "anna")
    SyncEngine(path, Scripted()).drain()
    assert close_shift(db, "s2", "anna", online=True) == 0
    assert Outbox(db).unsent_count() == 0


@contextmanager
def lent(path: Path) -> Iterator[Callable[[], AbstractContextManager[Database]]]:
    """A connection lent to the engine block by block, as the till's store lends its own."""
    db = open_database(path)

    @contextmanager
    def borrow() -> Iterator[Database]:
        yield db

    try:
        yield borrow
    finally:
        db.close()


def test_send_one_classifies_as_the_drain_does_on_a_lent_connection(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    _fill(path, 3, earn="3.00")
    transport = Scripted()
    transport.refuse = {"c0001"}
    # Opening a connection of its own would fail: the engine must use the lent one.
    engine = SyncEngine(tmp_path / "missing" / "t.db", transport, clock=lambda: NOW)
    with lent(path) as borrow:
        sent = engine.send_one("c0000", borrow)
        refused = engine.send_one("c0001", borrow)
        transport.fail_after = len(transport.sent)
        waiting = engine.send_one("c0002", borrow)
        with borrow() as db:
            outbox = Outbox(db)
            states = [outbox.get(f"c{n:04d}").state for n in range(3)]
            conflicts = db.execute("SELECT record_id, kind FROM conflicts").fetchall()
    assert (sent.state, sent.response) == ("acknowledged", {"ok": True})
    assert refused.state == "dead" and refused.error is None
    assert waiting.state == "pending" and waiting.error is not None
    assert states == ["acknowledged", "dead", "pending"]
    assert conflicts == [("c0000", "earn")]


def test_a_record_answered_already_is_not_sent_or_stored_again(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    _fill(path, 1, earn="3.00")
    transport = Scripted()
    engine = SyncEngine(path, transport, clock=lambda: NOW)
    assert engine.drain().acknowledged == 1
    # The background drain won the race: send-now finds the stored answer.
    outcome = engine.send_one("c0000")
    assert outcome.state == "acknowledged" and transport.sent == ["c0000"]
    db = open_database(path)
    try:
        assert db.execute("SELECT count(*) FROM conflicts").fetchone()[0] == 1
    finally:
        db.close()
