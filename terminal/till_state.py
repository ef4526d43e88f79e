"""Small reads and writes the status line, the shift and the history need (till database only).

Kept apart from :mod:`terminal.services` so that module stays about the sale itself.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlite_utils import Database

from offline_cache.checks import ids_by_number
from offline_cache.clock import from_text
from offline_cache.outbox import Outbox
from offline_cache.print_jobs import PrintJobs
from processing import wire
from terminal.errors import TillError
from terminal.i18n import _
from terminal.views import CheckRow, ClaimView, ShiftReport, SyncView


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


_CHECK_COLUMNS = (
    "id, created_at, member_id, total, earned, spent, offline, cashier,"
    " json_extract(payload, '$.phone_masked'), payload"
)


def _check_row(r: tuple[Any, ...]) -> CheckRow:
    return CheckRow(
        check_id=r[0],
        created_at=from_text(r[1]),
        member_id=r[2],
        total=Decimal(r[3]),
        earned=Decimal(r[4]),
        spent=Decimal(r[5]),
        offline=bool(r[6]),
        cashier=r[7],
        customer=(r[8] or "***") if r[2] else "",
    )


def recent_checks(db: Database, limit: int = 30) -> list[CheckRow]:
    """The newest checks this till committed, newest first."""
    rows = db.execute(
        f"SELECT {_CHECK_COLUMNS} FROM checks ORDER BY created_at DESC LIMIT ?", [limit]
    ).fetchall()
    return [_check_row(r) for r in rows]


def check_details(db: Database, check_id: str) -> tuple[CheckRow, dict[str, Any]] | None:
    """One check and the details kept for reprints and returns; None when there is none.

    ``check_id`` is the full id, its printed number (the first 8 characters, or more of the
    id) or, for a check made without a customer, the claim code on its receipt. A number that
    names two checks of this till raises TillError asking for more characters.
    """
    found = ids_by_number(db, check_id)
    if len(found) > 1:
        raise TillError(
            _("Several checks start with this number; type more characters of the check id.")
        )
    if not found:
        return None
    row = db.execute(f"SELECT {_CHECK_COLUMNS} FROM checks WHERE id = ?", [found[0]]).fetchone()
    return _check_row(row), json.loads(row[9])


def claim_of(db: Database, check_id: str, details: dict[str, Any]) -> ClaimView | None:
    """The claim of a check made without a customer, as its receipt prints it; else None.

    The server's figures once it registered the claim; before that the till's own estimate
    (provisional); None when the server refused the claim (its code would collect nothing).
    """
    stored = details.get("claim")
    if not isinstance(stored, dict):
        return None
    record = db.execute("SELECT state, response FROM outbox WHERE id = ?", [check_id]).fetchone()
    if record is not None and record[0] == "dead":
        return None
    if record is not None and record[0] == "acknowledged" and record[1]:
        answer = wire.Claim.model_validate_json(record[1])
        return ClaimView(answer.code, answer.earn_at_least, answer.expires_at, provisional=False)
    least = stored.get("earn_at_least")
    return ClaimView(
        code=str(stored["code"]),
        earn_at_least=None if least is None else Decimal(str(least)),
        expires_at=datetime.fromisoformat(str(stored["expires_at"])),
        provisional=True,
    )


def shift_report(db: Database, shift_id: str) -> ShiftReport:
    """Totals of one shift: checks, earned, spent, reversed, offline pending, overrides."""
    shift = db.execute(
        "SELECT id, cashier, opened_at FROM shifts WHERE id = ?", [shift_id]
    ).fetchone()
    rows = db.execute(
        "SELECT total, earned, spent, member_id FROM checks WHERE shift_id = ?", [shift_id]
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
        claims=sum(1 for r in rows if r[3] is None),
        total=sum((Decimal(r[0]) for r in rows), Decimal(0)),
        earned=sum((Decimal(r[1]) for r in rows), Decimal(0)),
        spent=sum((Decimal(r[2]) for r in rows), Decimal(0)),
        reversed=reversed_points,
        offline_pending=int(pending[0]),
        overrides=int(overrides[0]),
    )
