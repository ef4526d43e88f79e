"""Outbox: durable, ordered, idempotent appends; one transaction per check; a verifiable chain."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from offline_cache.audit import AuditLog
from offline_cache.checks import CheckRecord, commit_check, queue_record
from offline_cache.db import open_database
from offline_cache.errors import ChainBroken, DuplicateRecord
from offline_cache.outbox import (
    KIND_REGISTRATION,
    KIND_RETURN,
    Outbox,
    verify_chain,
)

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def _check(n: int, member: str = "m1", offline: bool = True) -> CheckRecord:
    return CheckRecord(
        check_id=f"chk-{n:05d}",
        member_id=member,
        total=Decimal("100.00"),
        earned=Decimal("3.00"),
        spent=Decimal("1.50"),
        offline=offline,
        provisional=offline,
        payload={"check_id": f"chk-{n:05d}", "member_id": member, "spent_offline": "1.50"},
        cashier="anna",
    )


def test_commit_writes_check_outbox_and_audit_together(tmp_path: Path) -> None:
    db = open_database(tmp_path / "t.db")
    record = commit_check(db, _check(1), source="scanned", clock=lambda: NOW)
    assert record.state == "pending" and record.offline and record.spend == Decimal("1.50")
    assert db.execute("SELECT spent FROM checks WHERE id = 'chk-00001'").fetchone() == ("1.50",)
    entries = AuditLog(db).for_record("chk-00001")
    assert [(e.action, e.source, e.online) for e in entries] == [
        ("check_committed", "scanned", False),
        ("offline_spend", None, False),
    ]


def test_a_failing_commit_leaves_nothing_behind(tmp_path: Path) -> None:
    db = open_database(tmp_path / "t.db")
    bad = CheckRecord(**{**_check(1).__dict__, "details": {"oops": 1.5}})
    with pytest.raises(TypeError):
        commit_check(db, bad)
    for table in ("outbox", "checks", "audit_log"):
        assert db.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0


def test_recommit_is_idempotent_and_other_content_is_refused(tmp_path: Path) -> None:
    db = open_database(tmp_path / "t.db")
    first = commit_check(db, _check(1))
    again = commit_check(db, _check(1))
    assert again.seq == first.seq and again.hash == first.hash
    # one check line and one offline-spend line, not repeated by the retry
    assert db.execute("SELECT count(*) FROM audit_log").fetchone()[0] == 2
    changed = CheckRecord(**{**_check(1).__dict__, "payload": {"check_id": "x"}})
    with pytest.raises(DuplicateRecord):
        commit_check(db, changed)


def test_states_and_order(tmp_path: Path) -> None:
    db = open_database(tmp_path / "t.db")
    outbox = Outbox(db, clock=lambda: NOW)
    for n in range(5):
        commit_check(db, _check(n, member=f"m{n % 2}"), clock=lambda: NOW)
    queue_record(
        db, "ret-1", KIND_RETURN, {"return_id": "ret-1"}, action="return", cashier="a", online=True
    )
    batch = outbox.next_batch(3)
    assert [r.id for r in batch] == ["chk-00000", "chk-00001", "chk-00002"]
    outbox.mark_sending([r.id for r in batch])
    outbox.mark_acknowledged("chk-00000", {"status": "applied"})
    outbox.mark_dead("chk-00001", "member_blocked: the member is blocked")
    outbox.mark_retry(["chk-00002"], "offline", NOW + timedelta(seconds=5))
    got = {r.id: r for r in outbox.next_batch(10)}
    assert list(got) == ["chk-00002", "chk-00003", "chk-00004", "ret-1"]
    assert got["chk-00002"].attempts == 1 and got["chk-00002"].last_error == "offline"
    assert outbox.unsent_count() == 4
    assert [r.dead_reason for r in outbox.dead()] == ["member_blocked: the member is blocked"]
    assert outbox.get("chk-00000").response == {"status": "applied"}
    assert outbox.oldest_unsent_at() == NOW
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("DELETE FROM outbox WHERE id = 'chk-00002'")
    assert verify_chain(db) == 6


def test_chain_detects_an_edit_a_gap_and_a_dropped_tail(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    db = open_database(path)
    for n in range(4):
        commit_check(db, _check(n))
    db.close()

    def tamper(sql: str) -> None:
        conn = sqlite3.connect(path)
        conn.execute("DROP TRIGGER IF EXISTS outbox_content_immutable")
        conn.execute("DROP TRIGGER IF EXISTS outbox_keep_unacknowledged")
        conn.execute(sql)
        conn.commit()
        conn.close()

    tamper("UPDATE outbox SET spend_cents = 1 WHERE seq = 2")
    with pytest.raises(ChainBroken) as caught:
        verify_chain(open_database(path))
    assert caught.value.seq == 2
    tamper("UPDATE outbox SET spend_cents = 150 WHERE seq = 2")
    assert verify_chain(open_database(path)) == 4
    tamper("DELETE FROM outbox WHERE seq = 3")
    with pytest.raises(ChainBroken):
        verify_chain(open_database(path))


def test_dropped_tail_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    db = open_database(path)
    for n in range(3):
        commit_check(db, _check(n))
    db.execute("DROP TRIGGER outbox_keep_unacknowledged")
    db.execute("DELETE FROM outbox WHERE seq = 3")
    with pytest.raises(ChainBroken, match="newest"):
        verify_chain(db)


def test_pruning_keeps_the_chain_verifiable(tmp_path: Path) -> None:
    db = open_database(tmp_path / "t.db")
    outbox = Outbox(db)
    for n in range(10):
        commit_check(db, _check(n))
    for n in range(6):
        outbox.mark_acknowledged(f"chk-{n:05d}", {})
    assert outbox.prune_acknowledged(keep_last=2) == 6
    assert verify_chain(db) == 4
    commit_check(db, _check(99))
    assert verify_chain(db) == 5
    queue_record(
        db,
        "reg-1",
        KIND_REGISTRATION,
        {"phone": "+7..."},
        action="register",
        cashier=None,
        online=False,
    )
    assert outbox.get("reg-1").offline
