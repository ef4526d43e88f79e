"""Conflicts for the admin: where the server decided differently from what the till did offline.

The sync engine writes one ``conflicts`` row per difference (``offline_cache.sync``); here they
are read back with the member they concern, and a manager can mark one seen (``resolved_at``),
which is audited as ``conflict_resolved``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from loyalty.phones import mask_phone
from offline_cache.audit import AuditLog
from offline_cache.clock import Clock, from_text, to_text, utc_now
from offline_cache.errors import NotFound
from offline_cache.txn import write_transaction


@dataclass(frozen=True)
class Conflict:
    """One open conflict row, with the member it concerns when the till knows it."""

    id: int
    record_id: str
    """The outbox record (for a check, the check id)."""
    kind: str
    """``earn``, ``spend``, ``server_conflict`` or ``refused`` (see ``offline_cache.link``)."""
    local: str | None
    """What the till decided (points), when it applies."""
    server: str | None
    """What the server decided (points, or its refusal code)."""
    detail: dict[str, Any]
    created_at: datetime
    member_id: str | None
    phone_masked: str | None


def open_conflicts(db: Database, limit: int = 200) -> list[Conflict]:
    """Conflicts not yet marked seen, newest first (at most ``limit``)."""
    rows = db.execute(
        "SELECT c.id, c.record_id, c.kind, c.local, c.server, c.detail, c.created_at,"
        " coalesce(k.member_id, o.member_id), m.phone"
        " FROM conflicts c"
        " LEFT JOIN checks k ON k.id = c.record_id"
        " LEFT JOIN outbox o ON o.id = c.record_id"
        " LEFT JOIN members m ON m.member_id = coalesce(k.member_id, o.member_id)"
        " WHERE c.resolved_at IS NULL ORDER BY c.id DESC LIMIT ?",
        [limit],
    ).fetchall()
    return [
        Conflict(
            id=int(row[0]),
            record_id=str(row[1]),
            kind=str(row[2]),
            local=row[3],
            server=row[4],
            detail=json.loads(row[5] or "{}"),
            created_at=from_text(row[6]),
            member_id=row[7],
            phone_masked=None if not row[8] else mask_phone(str(row[8])),
        )
        for row in rows
    ]


def resolve_conflict(
    db: Database,
    conflict_id: int,
    *,
    cashier: str | None,
    override_by: str | None,
    online: bool,
    clock: Clock = utc_now,
) -> None:
    """Mark an open conflict seen (``resolved_at``) and audit who did. Raises ``NotFound``."""
    with write_transaction(db):
        row = db.execute(
            "SELECT record_id, kind FROM conflicts WHERE id = ? AND resolved_at IS NULL",
            [conflict_id],
        ).fetchone()
        if row is None:
            raise NotFound("open conflict", str(conflict_id))
        db.execute(
            "UPDATE conflicts SET resolved_at = ? WHERE id = ?", [to_text(clock()), conflict_id]
        )
        AuditLog(db, clock).append(
            "conflict_resolved",
            cashier=cashier,
            online=online,
            override_by=override_by,
            record_id=str(row[0]),
            detail={"conflict_id": conflict_id, "kind": str(row[1])},
        )
