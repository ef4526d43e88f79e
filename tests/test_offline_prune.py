"""Pruning the outbox never drops a delivered registration still waiting for its SMS code."""

from __future__ import annotations

import uuid
from pathlib import Path

from sqlite_utils import Database

from offline_cache.checks import queue_record
from offline_cache.db import open_database
from offline_cache.outbox import KIND_HOLD_CANCEL, KIND_REGISTRATION, Outbox, verify_chain
from offline_cache.registrations import mark_confirmed, pending_registrations

CODE_SENT = {"code_id": "code-1", "expires_at": "2030-01-01T00:00:00+00:00"}


def _queue(db: Database, kind: str, payload: dict[str, object]) -> str:
    record_id = str(uuid.uuid4())
    queue_record(db, record_id, kind, payload, action="queued", cashier="1", online=False)
    return record_id


def _delivered_registration(db: Database) -> str:
    record_id = _queue(db, KIND_REGISTRATION, {"phone": "+79990005566", "consent": True})
    Outbox(db).mark_acknowledged(record_id, CODE_SENT)
    return record_id


def _acknowledged(db: Database, count: int) -> list[str]:
    ids = [
        _queue(db, KIND_HOLD_CANCEL, {"check_id": f"c{n}", "hold_id": "h"}) for n in range(count)
    ]
    for record_id in ids:
        Outbox(db).mark_acknowledged(record_id, {})
    return ids


def test_a_pending_registration_stops_the_prune_until_it_is_confirmed(tmp_path: Path) -> None:
    db = open_database(tmp_path / "till.db")
    outbox = Outbox(db)
    _acknowledged(db, 3)
    registration = _delivered_registration(db)
    _acknowledged(db, 6)
    assert verify_chain(db) == 10

    # keep_last=2 would drop 8 rows; the registration (row 4) and all after it stay.
    assert outbox.prune_acknowledged(keep_last=2) == 3
    assert verify_chain(db) == 7
    (pending,) = pending_registrations(db)
    assert pending.record_id == registration
    assert outbox.prune_acknowledged(keep_last=2) == 0

    mark_confirmed(db, registration, "member-1", cashier="1")
    assert pending_registrations(db) == []
    assert outbox.prune_acknowledged(keep_last=2) == 5
    assert verify_chain(db) == 2
    _acknowledged(db, 1)
    assert verify_chain(db) == 3
    db.close()


def test_a_registration_without_a_code_does_not_stop_the_prune(tmp_path: Path) -> None:
    db = open_database(tmp_path / "till.db")
    record_id = _queue(db, KIND_REGISTRATION, {"phone": "+79990005566", "consent": True})
    Outbox(db).mark_acknowledged(record_id, {"refused": "already confirmed elsewhere"})
    _acknowledged(db, 3)
    assert Outbox(db).prune_acknowledged(keep_last=1) == 3
    assert verify_chain(db) == 1
    db.close()
