"""Registrations queued offline whose SMS code still waits for the customer.

An offline registration is an outbox record (``KIND_REGISTRATION``). When the sync engine
delivers it, the server sends the customer an SMS code and answers ``CodeSent``, stored as the
record's response. The member exists only once the cashier types that code. This module finds
those records and keeps their progress without touching the append-only outbox content:

- a ``sync_state`` row ``registration:<record id>`` holds the current code (after a resend) and
  whether the registration was confirmed;
- every step is also an audit line: ``registration_code_resent`` and ``registration_confirmed``
  (masked phone only).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from loyalty.errors import InvalidPhone
from loyalty.phones import mask_phone, normalize_phone
from offline_cache.audit import AuditLog
from offline_cache.clock import Clock, from_text, to_text, utc_now
from offline_cache.errors import NotFound
from offline_cache.outbox import KIND_REGISTRATION, REGISTRATION_PROGRESS
from offline_cache.txn import canonical_json, write_transaction

_KEY = REGISTRATION_PROGRESS
# Every key with the prefix sorts between these two, so the primary key's index answers.
_KEY_END = "registration;"


@dataclass(frozen=True)
class PendingRegistration:
    """A delivered offline registration waiting for the customer's code."""

    record_id: str
    """The outbox record (the registration's client UUID)."""
    phone_masked: str
    code_id: str
    """The server's id of the newest code sent for it."""
    queued_at: datetime
    """When the till queued it (till clock)."""
    sent_at: datetime | None
    """When the server acknowledged it (the first code went out)."""
    expires_at: datetime | None
    """When the newest code expires (server clock), when known."""
    existing_member: bool = False
    """The server already knew the phone: the code identifies that member."""


def pending_registrations(db: Database, phone: str | None = None) -> list[PendingRegistration]:
    """Delivered, unconfirmed offline registrations, oldest first; only ``phone``'s (E.164)."""
    progress = _progress(db)
    rows = db.execute(
        "SELECT id, payload, response, created_at, acknowledged_at FROM outbox"
        " WHERE state = 'acknowledged' AND kind = ? ORDER BY seq",
        [KIND_REGISTRATION],
    ).fetchall()
    found: list[PendingRegistration] = []
    for record_id, payload_text, response_text, created_at, acknowledged_at in rows:
        state = progress.get(record_id, {})
        if state.get("confirmed"):
            continue
        e164 = _e164(json.loads(payload_text))
        if e164 is None or (phone is not None and e164 != phone):
            continue
        response: dict[str, Any] = json.loads(response_text) if response_text else {}
        code_id = state.get("code_id") or response.get("code_id")
        if not code_id:
            continue
        expires = state.get("expires_at") or response.get("expires_at")
        found.append(
            PendingRegistration(
                record_id=record_id,
                phone_masked=mask_phone(e164),
                code_id=str(code_id),
                queued_at=from_text(created_at),
                sent_at=None if acknowledged_at is None else from_text(acknowledged_at),
                expires_at=None if not expires else datetime.fromisoformat(str(expires)),
                existing_member=bool(response.get("existing_member", False)),
            )
        )
    return found


def pending_registration(db: Database, record_id: str) -> PendingRegistration:
    """One pending registration by its record id. Raises ``NotFound`` when it is not pending."""
    for pending in pending_registrations(db):
        if pending.record_id == record_id:
            return pending
    raise NotFound("pending registration", record_id)


def registration_payload(db: Database, record_id: str) -> dict[str, Any]:
    """The queued ``wire.RegisterRequest`` (as JSON) of a registration, to ask for a new code."""
    row = db.execute(
        "SELECT payload FROM outbox WHERE id = ? AND kind = ?", [record_id, KIND_REGISTRATION]
    ).fetchone()
    if row is None:
        raise NotFound("registration", record_id)
    payload: dict[str, Any] = json.loads(row[0])
    return payload


def note_code_resent(
    db: Database,
    record_id: str,
    code_id: str,
    expires_at: datetime,
    *,
    cashier: str | None,
    clock: Clock = utc_now,
) -> None:
    """Remember that a new code went out for this registration (and audit it)."""
    pending = pending_registration(db, record_id)
    with write_transaction(db):
        _store(db, record_id, {"code_id": code_id, "expires_at": expires_at.isoformat()}, clock)
        AuditLog(db, clock).append(
            "registration_code_resent",
            cashier=cashier,
            online=True,
            record_id=record_id,
            detail={"phone": pending.phone_masked, "code_id": code_id},
        )


def mark_confirmed(
    db: Database,
    record_id: str,
    member_id: str,
    *,
    cashier: str | None,
    source: str | None = "typed",
    clock: Clock = utc_now,
) -> None:
    """The customer's code was right: the registration is done (and audited)."""
    pending = pending_registration(db, record_id)
    with write_transaction(db):
        _store(
            db,
            record_id,
            {"code_id": pending.code_id, "confirmed": True, "member_id": member_id},
            clock,
        )
        AuditLog(db, clock).append(
            "registration_confirmed",
            cashier=cashier,
            online=True,
            source=source,
            record_id=record_id,
            detail={"phone": pending.phone_masked, "member_id": member_id},
        )


def _e164(payload: dict[str, Any]) -> str | None:
    try:
        return normalize_phone(str(payload["phone"]), str(payload.get("region") or "RU"))
    except (KeyError, InvalidPhone):
        return None


def _progress(db: Database) -> dict[str, dict[str, Any]]:
    rows = db.execute(
        "SELECT key, value FROM sync_state WHERE key >= ? AND key < ?", [_KEY, _KEY_END]
    ).fetchall()
    return {key[len(_KEY) :]: json.loads(value) for key, value in rows if value}


def _store(db: Database, record_id: str, value: dict[str, Any], clock: Clock) -> None:
    db.execute(
        "INSERT INTO sync_state (key, value, updated_at) VALUES (?, ?, ?)"
        " ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        [_KEY + record_id, canonical_json(value), to_text(clock())],
    )
