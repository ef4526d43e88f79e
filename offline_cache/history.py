"""What the till's back office reads of its own checks: history, one check, a shift's totals.

Read-only; the terminal turns these records into what its screens show. The SQL lives here so
the terminal never reads the database itself (see ``tests/test_terminal_no_sql.py``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlite_utils import Database

from offline_cache.clock import from_text


@dataclass(frozen=True)
class StoredCheck:
    """One committed check as the till keeps it, with the details kept for reprints/returns."""

    check_id: str
    created_at: datetime
    member_id: str | None
    total: Decimal
    earned: Decimal
    spent: Decimal
    offline: bool
    cashier: str | None
    phone_masked: str | None
    details: dict[str, Any]


@dataclass(frozen=True)
class ShiftTotals:
    """The raw figures of one shift's report."""

    shift_id: str
    cashier: str
    opened_at: datetime
    checks: int
    claims: int
    total: Decimal
    earned: Decimal
    spent: Decimal
    taken_back: Decimal
    offline_pending: int
    overrides: int


_CHECK_COLUMNS = (
    "id, created_at, member_id, total, earned, spent, offline, cashier,"
    " json_extract(payload, '$.phone_masked'), payload"
)


def _stored(r: tuple[Any, ...]) -> StoredCheck:
    return StoredCheck(
        check_id=r[0],
        created_at=from_text(r[1]),
        member_id=r[2],
        total=Decimal(r[3]),
        earned=Decimal(r[4]),
        spent=Decimal(r[5]),
        offline=bool(r[6]),
        cashier=r[7],
        phone_masked=r[8],
        details=json.loads(r[9]),
    )


def recent_checks(db: Database, limit: int = 30) -> list[StoredCheck]:
    """The newest checks this till committed, newest first."""
    rows = db.execute(
        f"SELECT {_CHECK_COLUMNS} FROM checks ORDER BY created_at DESC LIMIT ?", [limit]
    ).fetchall()
    return [_stored(r) for r in rows]


def check_by_id(db: Database, check_id: str) -> StoredCheck | None:
    """One check by its full id (see :func:`offline_cache.checks.ids_by_number` for the id
    behind a printed number or a claim code)."""
    row = db.execute(f"SELECT {_CHECK_COLUMNS} FROM checks WHERE id = ?", [check_id]).fetchone()
    return None if row is None else _stored(row)


def shift_totals(db: Database, shift_id: str) -> ShiftTotals:
    """Totals of one shift: checks, earned, spent, points taken back by returns since it
    opened, offline checks still unsent, manager overrides since it opened."""
    shift = db.execute(
        "SELECT id, cashier, opened_at FROM shifts WHERE id = ?", [shift_id]
    ).fetchone()
    rows = db.execute(
        "SELECT total, earned, spent, member_id FROM checks WHERE shift_id = ?", [shift_id]
    ).fetchall()
    reversed_rows = db.execute(
        "SELECT detail FROM audit_log WHERE action = 'return_applied' AND at >= ?", [shift[2]]
    ).fetchall()
    overrides = db.execute(
        "SELECT count(*) FROM audit_log WHERE override_by IS NOT NULL AND at >= ?", [shift[2]]
    ).fetchone()
    pending = db.execute(
        "SELECT count(*) FROM outbox WHERE offline = 1 AND state IN ('pending', 'sending')"
    ).fetchone()
    return ShiftTotals(
        shift_id=shift[0],
        cashier=shift[1],
        opened_at=from_text(shift[2]),
        checks=len(rows),
        claims=sum(1 for r in rows if r[3] is None),
        total=sum((Decimal(r[0]) for r in rows), Decimal(0)),
        earned=sum((Decimal(r[1]) for r in rows), Decimal(0)),
        spent=sum((Decimal(r[2]) for r in rows), Decimal(0)),
        taken_back=sum(
            (Decimal(json.loads(r[0]).get("taken_back", "0")) for r in reversed_rows), Decimal(0)
        ),
        offline_pending=int(pending[0]),
        overrides=int(overrides[0]),
    )
