"""An operator's manual changes to a member, never silent: points credited or debited with a
kind, a reason and the operator's name (in the ledger's movement note and ``operator_log``),
and the member's state (active, earn-only, blocked) with its reason.

Kinds: ``goodwill`` credits (a lot active at once, expiring as the program's earned points
do), ``correction`` credits or debits, ``write_off`` debits. A debit takes the member's
available points (never points an open hold reserved), first expiring first; more than that
is refused. Every change marks the member for the tills' member-cache delta.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal

from loyalty.errors import InvalidPhone
from loyalty.phones import normalize_phone
from loyalty.program import Program
from processing.amounts import from_minor
from processing.server import ledger, members
from processing.server.checks import DAY
from processing.server.engine import Database

KINDS = ("goodwill", "correction", "write_off")
STATES = ("active", "earn_only", "blocked")


class AdjustError(Exception):
    """A change the books refuse; one sentence."""


@dataclass(frozen=True)
class Adjusted:
    member_id: str
    points: int
    """Hundredths credited (+) or debited (-)."""
    available: int
    """The member's available points afterwards, in hundredths."""


def find_member(db: Database, who: str, region: str) -> str:
    """The member id of ``who``: a member id, a card number or a phone. Raises AdjustError."""
    text = who.strip()
    if members.by_id(db, text) is not None:
        return text
    found = members.by_card(db, text)
    if found is not None:
        return found.id
    try:
        found = members.by_phone(db, normalize_phone(text, region))
    except InvalidPhone:
        found = None
    if found is None:
        raise AdjustError("No member has this id, card number or phone.")
    return found.id


def _log(
    db: Database, now: int, operator: str, action: str, member_id: str, reason: str, **details: str
) -> None:
    db.execute(
        "INSERT INTO operator_log (at, operator, action, subject, reason, details)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [now, operator, action, member_id, reason, json.dumps(details)],
    )


def adjust(
    db: Database,
    program: Program,
    member_id: str,
    points: Decimal,
    kind: str,
    *,
    now: int,
    operator: str,
    reason: str,
) -> Adjusted:
    """Credit (``points`` > 0) or debit (< 0) the member. Raises AdjustError."""
    if kind not in KINDS:
        raise AdjustError(f"The kind must be one of {', '.join(KINDS)}.")
    if points == 0:
        raise AdjustError("The points must not be zero.")
    if points != points.quantize(program.precision.quantum):
        raise AdjustError(f"The program counts points as {program.precision.value} points.")
    if kind == "goodwill" and points < 0:
        raise AdjustError("A goodwill accrual credits points; debit with correction or write_off.")
    if kind == "write_off" and points > 0:
        raise AdjustError("A write-off debits points; give them as a negative number.")
    minor = int(points * 100)
    note = f"{kind}: {reason} ({operator})"
    if minor > 0:
        expires = None if program.expiry_days is None else now + program.expiry_days * DAY
        ledger.add_lot(
            db, member_id, minor, kind="adjust", now=now, active_from=now, expires_at=expires,
            note=note,
        )  # fmt: skip
    else:
        available = ledger.available(db, member_id, now)
        if -minor > available:
            raise AdjustError(
                f"The member has {from_minor(max(available, 0))} points available;"
                f" {from_minor(-minor)} cannot be debited."
            )
        ledger.debit(db, member_id, -minor, now, note)
    members.touch(db, member_id)
    _log(db, now, operator, f"adjust_{kind}", member_id, reason, points=format(points, "f"))
    return Adjusted(member_id, minor, ledger.available(db, member_id, now))


def set_state(
    db: Database, member_id: str, state: str, *, now: int, operator: str, reason: str
) -> str:
    """Set the member's state with its reason; returns the state before. Raises AdjustError."""
    if state not in STATES:
        raise AdjustError(f"The state must be one of {', '.join(STATES)}.")
    row = db.execute("SELECT state FROM members WHERE id = ?", [member_id]).fetchone()
    before = str(row[0])
    if before == state:
        raise AdjustError(f"The member is already {state}.")
    db.execute(
        "UPDATE members SET state = ?, state_reason = ? WHERE id = ?",
        [state, None if state == "active" else reason, member_id],
    )
    members.touch(db, member_id)
    _log(db, now, operator, "state", member_id, reason, before=before, after=state)
    return before
