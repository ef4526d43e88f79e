"""Conflicts for the operator: what a till did that the program or the balance did not allow
(offline spend shortfalls, late confirms, manager overrides), listed and resolved.

A resolution is never silent: it records who, when and why (``conflicts.resolved_*`` and
``operator_log``). ``debit`` takes the shortfall from the member's available points now (as
far as they go, an ``adjust`` movement noted with the conflict); without it the shortfall is
accepted as the chain's loss.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal

from processing.amounts import to_minor
from processing.server import ledger, members
from processing.server.engine import Database


class ConflictError(Exception):
    """No such conflict, or one already resolved; one sentence."""


@dataclass(frozen=True)
class ConflictRow:
    id: int
    created_at: int
    check_id: str
    member_id: str
    kind: str
    details: dict[str, str]
    resolved_at: int | None
    resolved_by: str | None
    resolution: str | None


def _row(r: tuple[object, ...]) -> ConflictRow:
    return ConflictRow(
        int(str(r[0])),
        int(str(r[1])),
        str(r[2]),
        str(r[3]),
        str(r[4]),
        json.loads(str(r[5])),
        None if r[6] is None else int(str(r[6])),
        None if r[7] is None else str(r[7]),
        None if r[8] is None else str(r[8]),
    )


_COLUMNS = (
    "id, created_at, check_id, member_id, kind, details, resolved_at, resolved_by, resolution"
)


def listed(db: Database, *, include_resolved: bool) -> list[ConflictRow]:
    where = "" if include_resolved else " WHERE resolved_at IS NULL"
    rows = db.execute(f"SELECT {_COLUMNS} FROM conflicts{where} ORDER BY id").fetchall()
    return [_row(r) for r in rows]


def resolve(
    db: Database, conflict_id: int, *, debit: bool, now: int, operator: str, reason: str
) -> tuple[ConflictRow, int]:
    """Resolve a conflict; returns it and the hundredths debited. Raises ConflictError."""
    row = db.execute(f"SELECT {_COLUMNS} FROM conflicts WHERE id = ?", [conflict_id]).fetchone()
    if row is None:
        raise ConflictError(f"There is no conflict {conflict_id}.")
    conflict = _row(tuple(row))
    if conflict.resolved_at is not None:
        raise ConflictError(
            f"Conflict {conflict_id} was resolved by {conflict.resolved_by} already."
        )
    debited = 0
    if debit:
        shortfall = conflict.details.get("shortfall")
        if shortfall is None:
            raise ConflictError(f"Conflict {conflict_id} ({conflict.kind}) has no shortfall.")
        wanted = to_minor(Decimal(shortfall))
        debited = min(wanted, max(ledger.available(db, conflict.member_id, now), 0))
        if debited:
            note = f"conflict {conflict_id} ({conflict.check_id}): {reason} ({operator})"
            ledger.debit(db, conflict.member_id, debited, now, note)
            members.touch(db, conflict.member_id)
    resolution = json.dumps({"reason": reason, "debited": debited, "debit": debit})
    db.execute(
        "UPDATE conflicts SET resolved_at = ?, resolved_by = ?, resolution = ? WHERE id = ?",
        [now, operator, resolution, conflict_id],
    )
    db.execute(
        "INSERT INTO operator_log (at, operator, action, subject, reason, details)"
        " VALUES (?, ?, 'conflict_resolve', ?, ?, ?)",
        [now, operator, str(conflict_id), reason, resolution],
    )
    return conflict, debited
