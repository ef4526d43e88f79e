"""The append-only audit log: who did what, when, scanned or typed, online or offline.

Triggers in the schema refuse UPDATE and DELETE, so the log can only grow. ``detail`` must
hold masked personal data only (use ``loyalty.phones.mask_phone``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from offline_cache.clock import Clock, from_text, to_text, utc_now
from offline_cache.txn import canonical_json


@dataclass(frozen=True)
class AuditEntry:
    """One audit line. ``source`` is ``"scanned"``, ``"typed"`` or None."""

    seq: int
    at: datetime
    cashier: str | None
    action: str
    source: str | None
    online: bool
    override_by: str | None
    record_id: str | None
    detail: dict[str, Any]


class AuditLog:
    """Appends to and reads the ``audit_log`` table on one connection."""

    def __init__(self, db: Database, clock: Clock = utc_now) -> None:
        self._db = db
        self._clock = clock

    def append(
        self,
        action: str,
        *,
        cashier: str | None,
        online: bool,
        source: str | None = None,
        override_by: str | None = None,
        record_id: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> int:
        """Append one line (inside the caller's transaction if one is open) and return its seq.

        Raises TypeError when ``detail`` holds a float.
        """
        cursor = self._db.execute(
            "INSERT INTO audit_log (at, cashier, action, source, online, override_by,"
            " record_id, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                to_text(self._clock()),
                cashier,
                action,
                source,
                int(online),
                override_by,
                record_id,
                canonical_json(detail or {}),
            ],
        )
        seq = cursor.lastrowid
        assert seq is not None
        return seq

    def recent(self, limit: int = 50, action: str | None = None) -> list[AuditEntry]:
        """The newest ``limit`` lines (optionally of one action), newest first."""
        where, params = ("WHERE action = ?", [action]) if action else ("", [])
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM audit_log {where} ORDER BY seq DESC LIMIT ?",
            [*params, limit],
        ).fetchall()
        return [_entry(row) for row in rows]

    def for_record(self, record_id: str) -> list[AuditEntry]:
        """Every line about one record (check, return, registration), oldest first."""
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM audit_log WHERE record_id = ? ORDER BY seq", [record_id]
        ).fetchall()
        return [_entry(row) for row in rows]


_COLUMNS = "seq, at, cashier, action, source, online, override_by, record_id, detail"


def _entry(row: tuple[Any, ...]) -> AuditEntry:
    return AuditEntry(
        seq=row[0],
        at=from_text(row[1]),
        cashier=row[2],
        action=row[3],
        source=row[4],
        online=bool(row[5]),
        override_by=row[6],
        record_id=row[7],
        detail=json.loads(row[8]),
    )
