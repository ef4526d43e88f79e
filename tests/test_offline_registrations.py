"""Registrations queued offline, delivered by the sync engine, then confirmed with the SMS code.

Real server on loopback, real till SQLite, the real sync engine and transport.
"""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path

import pytest

from offline_cache.checks import queue_record
from offline_cache.db import open_database
from offline_cache.errors import NotFound
from offline_cache.link import ProcessingTransport
from offline_cache.outbox import KIND_REGISTRATION, Outbox, verify_chain
from offline_cache.registrations import (
    mark_confirmed,
    note_code_resent,
    pending_registration,
    pending_registrations,
    registration_payload,
)
from offline_cache.sync import SyncEngine
from processing.client import ProcessingClient
from processing.server.codes import RESEND_SECONDS
from processing.server.testing import ManualClock, running_server

PHONE = "+79990005566"


def _queue(db: object, phone: str = "8 999 000-55-66") -> str:
    record_id = str(uuid.uuid4())
    payload = {
        "phone": phone,
        "region": "RU",
        "consent": True,
        "name": "Lev",
        "birthday": "1990-12-31",
        "email": "lev@example.org",
    }
    queue_record(
        db,  # type: ignore[arg-type]
        record_id,
        KIND_REGISTRATION,
        payload,
        action="registration_queued",
        cashier="1",
        online=False,
        detail={"phone": "+7 999 ***-**-66"},
    )
    return record_id


def test_delivered_registration_is_pending_until_its_code_is_confirmed(tmp_path: Path) -> None:
    till = tmp_path / "till.db"
    clock = ManualClock()
    with running_server(tmp_path / "server.db", clock=clock) as server:
        db = open_database(till)
        record_id = _queue(db)
        assert pending_registrations(db) == []  # not delivered: no code went out yet
        with ProcessingClient(server.url, server.api_key) as client:
            report = SyncEngine(till, ProcessingTransport(client)).drain()
            assert report.error is None
            assert Outbox(db).get(record_id).state == "acknowledged"

            (pending,) = pending_registrations(db)
            assert pending.record_id == record_id
            assert pending.phone_masked == "+7 999 ***-**-66"
            assert pending.sent_at is not None and pending.expires_at is not None
            assert pending_registrations(db, PHONE) == [pending]
            assert pending_registrations(db, "+79161234567") == []
            assert registration_payload(db, record_id)["name"] == "Lev"
            with server.ctx.storage.read() as sdb:
                (form,) = sdb.execute(
                    "SELECT registration FROM codes WHERE id = ?", [pending.code_id]
                ).fetchone()
            # The sync sends the queued form whole: birthday and e-mail too.
            assert '"1990-12-31"' in form and '"lev@example.org"' in form

            # A new code replaces the first one (a minute later: one code a minute per phone);
            # the outbox content is never edited.
            clock.advance(RESEND_SECONDS)
            sent = client.register(
                PHONE,
                consent=True,
                name="Lev",
                birthday=date(1990, 12, 31),
                email="lev@example.org",
                idempotency_key=str(uuid.uuid4()),
            )
            note_code_resent(db, record_id, sent.code_id, sent.expires_at, cashier="1")
            assert pending_registration(db, record_id).code_id == sent.code_id

            result = client.confirm_registration(sent.code_id, server.latest_code(PHONE))
            mark_confirmed(db, record_id, result.member.id, cashier="1")
        assert pending_registrations(db) == []
        with pytest.raises(NotFound):
            pending_registration(db, record_id)
        actions = db.execute(
            "SELECT action FROM audit_log WHERE record_id = ? ORDER BY seq", [record_id]
        ).fetchall()
        assert [a for (a,) in actions] == [
            "registration_queued",
            "registration_code_resent",
            "registration_confirmed",
        ]
        assert verify_chain(db) == 1
        with server.ctx.storage.read() as sdb:
            member = sdb.execute(
                "SELECT name, birthday, email, consent FROM members WHERE phone = ?", [PHONE]
            ).fetchone()
        assert tuple(member) == ("Lev", "1990-12-31", "lev@example.org", 1)
        db.close()


def test_a_refused_registration_is_not_pending(tmp_path: Path) -> None:
    till = tmp_path / "till.db"
    db = open_database(till)
    record_id = _queue(db)
    Outbox(db).mark_dead(record_id, "code_locked: too many wrong codes")
    assert pending_registrations(db) == []
    db.close()
