"""Small reads and writes the status line, the shift and the history need (till database only).

Kept apart from :mod:`terminal.services` so that module stays about the sale itself.
"""

from __future__ import annotations

import json
from decimal import Decimal

from sqlite_utils import Database

from offline_cache.clock import from_text
from offline_cache.outbox import Outbox
from offline_cache.print_jobs import PrintJobs
from terminal.views import CheckRow, ShiftReport, SyncView


def sync_view(db: Database, online: bool) -> SyncView:
    """Queue depth, dead records and open conflicts."""
    outbox = Outbox(db)
    dead = tuple(f"{r.id[:8]} {r.kind}: {r.dead_reason or ''}" for r in outbox.dead())
    conflicts = db.execute("SELECT count(*) FROM conflicts WHERE resolved_at IS NULL").fetchone()
    last_error = db.execute("SELECT value FROM sync_state WHERE key = 'last_error'").fetchone()
    return SyncView(
        online=online,
        unsent=outbox.unsent_count(),
        dead=dead,
        conflicts=int(conflicts[0]),
        oldest_unsent_at=outbox.oldest_unsent_at(),
        last_error=None if last_error is None else last_error[0],
    )


def printer_pending(db: Database) -> int:
    """Receipts waiting for the printer."""
    return PrintJobs(db).pending_count()


def recent_checks(db: Database, limit: int = 30) -> list[CheckRow]:
    """The newest checks this till committed, newest first."""
    rows = db.execute(
        "SELECT id, created_at, member_id, total, earned, spent, offline, cashier FROM checks"
        " ORDER BY created_at DESC LIMIT ?",
        [limit],
    ).fetchall()
    return [
        CheckRow(
            check_id=r[0],
            created_at=from_text(r[1]),
            member_id=r[2],
            total=Decimal(r[3]),
            earned=Decimal(r[4]),
            spent=Decimal(r[5]),
            offline=bool(r[6]),
            cashier=r[7],
        )
        for r in rows
    ]


def check_details(db: Database, check_id: str) -> tuple[CheckRow, dict[str, object]] | None:
    """One check and the details kept for reprints and returns (prefix of the id accepted)."""
    row = db.execute(
        "SELECT id, created_at, member_id, total, earned, spent, offline, cashier, payload"
        " FROM checks WHERE id = ? OR upper(substr(id, 1, 8)) = upper(?) LIMIT 1",
        [check_id, check_id],
    ).fetchone()
    if row is None:
        return None
    view = CheckRow(
        check_id=row[0],
        created_at=from_text(row[1]),
        member_id=row[2],
        total=Decimal(row[3]),
        earned=Decimal(row[4]),
        spent=Decimal(row[5]),
        offline=bool(row[6]),
        cashier=row[7],
    )
    return view, json.loads(row[8])


def shift_report(db: Database, shift_id: str) -> ShiftReport:
    """Totals of one shift: checks, earned, spent, reversed, offline pending, overrides."""
    shift = db.execute(
        "SELECT id, cashier, opened_at FROM shifts WHERE id = ?", [shift_id]
    ).fetchone()
    rows = db.execute(
        "SELECT total, earned, spent FROM checks WHERE shift_id = ?", [shift_id]
    ).fetchall()
    reversed_rows = db.execute(
        "SELECT detail FROM audit_log WHERE action = 'return_applied' AND at >= ?", [shift[2]]
    ).fetchall()
    reversed_points = sum(
        (Decimal(json.loads(r[0]).get("taken_back", "0")) for r in reversed_rows), Decimal(0)
    )
    overrides = db.execute(
        "SELECT count(*) FROM audit_log WHERE override_by IS NOT NULL AND at >= ?", [shift[2]]
    ).fetchone()
    pending = db.execute(
        "SELECT count(*) FROM outbox WHERE offline = 1 AND state IN ('pending', 'sending')"
    ).fetchone()
    return ShiftReport(
        shift_id=shift[0],
        cashier=shift[1],
        opened_at=from_text(shift[2]),
        checks=len(rows),
        total=sum((Decimal(r[0]) for r in rows), Decimal(0)),
        earned=sum((Decimal(r[1]) for r in rows), Decimal(0)),
        spent=sum((Decimal(r[2]) for r in rows), Decimal(0)),
        reversed=reversed_points,
        offline_pending=int(pending[0]),
        overrides=int(overrides[0]),
    )
