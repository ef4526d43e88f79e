"""What the status line, the shift, the history and returns show of the till database.

The store (:mod:`offline_cache`) reads; this module only turns its records into the screens'
views, so :mod:`terminal.services` stays about the services themselves.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlite_utils import Database

from offline_cache import history
from offline_cache.checks import ids_by_number
from offline_cache.clock import utc_now
from offline_cache.errors import NotFound
from offline_cache.outbox import Outbox
from offline_cache.print_jobs import PrintJobs
from offline_cache.status import sync_status
from processing import wire
from terminal.errors import TillError
from terminal.i18n import _
from terminal.views import CheckRow, ClaimView, ShiftReport, SyncView


def sync_view(db: Database, online: bool) -> SyncView:
    """Queue depth, dead records and open conflicts."""
    outbox = Outbox(db)
    dead = tuple(f"{r.id[:8]} {r.kind}: {r.dead_reason or ''}" for r in outbox.dead())
    status = sync_status(db, utc_now())
    return SyncView(
        online=online,
        unsent=status.unsent,
        dead=dead,
        conflicts=status.open_conflicts,
        oldest_unsent_at=outbox.oldest_unsent_at(),
        last_error=status.last_error,
    )


def printer_pending(db: Database) -> int:
    """Receipts waiting for the printer."""
    return PrintJobs(db).pending_count()


def _check_row(stored: history.StoredCheck) -> CheckRow:
    return CheckRow(
        check_id=stored.check_id,
        created_at=stored.created_at,
        member_id=stored.member_id,
        total=stored.total,
        earned=stored.earned,
        spent=stored.spent,
        offline=stored.offline,
        cashier=stored.cashier,
        customer=(stored.phone_masked or "***") if stored.member_id else "",
    )


def recent_checks(db: Database, limit: int = 30) -> list[CheckRow]:
    """The newest checks this till committed, newest first."""
    return [_check_row(stored) for stored in history.recent_checks(db, limit)]


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
    stored = history.check_by_id(db, found[0]) if found else None
    if stored is None:
        return None
    return _check_row(stored), stored.details


def claim_of(db: Database, check_id: str, details: dict[str, Any]) -> ClaimView | None:
    """The claim of a check made without a customer, as its receipt prints it; else None.

    The server's figures once it registered the claim; before that the till's own estimate
    (provisional); None when the server refused the claim (its code would collect nothing).
    """
    stored = details.get("claim")
    if not isinstance(stored, dict):
        return None
    try:
        record = Outbox(db).get(check_id)
    except NotFound:
        record = None
    if record is not None and record.state == "dead":
        return None
    if record is not None and record.state == "acknowledged" and record.response:
        answer = wire.Claim.model_validate(record.response)
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
    totals = history.shift_totals(db, shift_id)
    return ShiftReport(
        shift_id=totals.shift_id,
        cashier=totals.cashier,
        opened_at=totals.opened_at,
        checks=totals.checks,
        claims=totals.claims,
        total=totals.total,
        earned=totals.earned,
        spent=totals.spent,
        reversed=totals.taken_back,
        offline_pending=totals.offline_pending,
        overrides=totals.overrides,
    )
