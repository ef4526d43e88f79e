"""Shifts: closing is refused while the outbox holds unsent items, unless a manager overrides."""

from __future__ import annotations

from sqlite_utils import Database

from offline_cache.audit import AuditLog
from offline_cache.clock import Clock, to_text, utc_now
from offline_cache.errors import NotFound, ShiftCloseRefused
from offline_cache.txn import write_transaction


def current_shift(db: Database) -> str | None:
    """The id of the newest shift still open, or None."""
    row = db.execute(
        "SELECT id FROM shifts WHERE closed_at IS NULL ORDER BY opened_at DESC LIMIT 1"
    ).fetchone()
    return None if row is None else str(row[0])


def open_shift(db: Database, shift_id: str, cashier: str, clock: Clock = utc_now) -> None:
    """Open a shift (audited). Opening an already open shift does nothing."""
    with write_transaction(db):
        if db.execute("SELECT 1 FROM shifts WHERE id = ?", [shift_id]).fetchone():
            return
        db.execute(
            "INSERT INTO shifts (id, cashier, opened_at) VALUES (?, ?, ?)",
            [shift_id, cashier, to_text(clock())],
        )
        AuditLog(db, clock).append("shift_opened", cashier=cashier, online=True, record_id=shift_id)


def close_shift(
    db: Database,
    shift_id: str,
    cashier: str,
    *,
    online: bool,
    manager: str | None = None,
    clock: Clock = utc_now,
) -> int:
    """Close the shift; returns how many items were still unsent (0 unless overridden).

    ``manager`` is the (already PIN-verified) manager overriding unsent items; the override is
    audited with the count. Raises ``ShiftCloseRefused`` when items are unsent and no manager
    overrides, ``NotFound`` for an unknown shift.
    """
    with write_transaction(db):
        if not db.execute("SELECT 1 FROM shifts WHERE id = ?", [shift_id]).fetchone():
            raise NotFound("shift", shift_id)
        unsent = int(
            db.execute(
                "SELECT count(*) FROM outbox WHERE state IN ('pending', 'sending')"
            ).fetchone()[0]
        )
        if unsent and manager is None:
            raise ShiftCloseRefused(unsent)
        db.execute(
            "UPDATE shifts SET closed_at = ?, override_by = ? WHERE id = ?",
            [to_text(clock()), manager if unsent else None, shift_id],
        )
        AuditLog(db, clock).append(
            "shift_closed",
            cashier=cashier,
            online=online,
            override_by=manager if unsent else None,
            record_id=shift_id,
            detail={"unsent": unsent},
        )
    return unsent
