"""Checks: what holds, offline replay and returns share — loading a check, the lot it earns,
the result it answers with.

The operations themselves: :mod:`~processing.server.holds` (calculate, hold, the expiry
sweep), :mod:`~processing.server.settle` (confirm, cancel), :mod:`~processing.server.replay`
(offline checks),
:mod:`~processing.server.returns` (returns). Call every one inside one ``Storage.write()``
transaction (BEGIN IMMEDIATE).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, tzinfo
from json.encoder import encode_basestring_ascii as _quoted

from loyalty.program import Program
from processing import wire
from processing.amounts import from_minor
from processing.errors import ErrorCode
from processing.server import ledger, zones
from processing.server.engine import Database
from processing.server.problems import ApiError

DAY = 86400
"""Seconds in a day (activation delays and expiry are given in days)."""


NOT_FOUND = "No check of this till has this id."
"""The refusal of a check id that does not exist or is another till's (the same words)."""


_LINE_FIELDS = (
    "sku",
    "barcode",
    "name",
    "category",
    "price",
    "quantity",
    "amount",
    "discounted",
    "payable_with_points",
)
"""``wire.Line``'s fields in order: :func:`lines_json` writes each (a test keeps them equal)."""


def lines_json(lines: Sequence[wire.Line]) -> str:
    """The stored form of a check's lines: exactly ``json.dumps`` of each line's
    ``model_dump(mode="json")`` (``payable_with_points`` left out when true), written out here
    as text because the model's serialiser took ~80 us for 20 lines on every hold, and
    json.dumps of per-line dicts still 35 us (this: 20 us). A claim compares it as text;
    tests/test_processing_lines_json.py holds it to the model's dump."""
    return "[" + ", ".join(map(_line_text, lines)) + "]"


_NOT_PAYABLE = ', "payable_with_points": false'


def _line_text(line: wire.Line) -> str:
    sku, barcode = line.sku, line.barcode
    return (
        f'{{"sku": {"null" if sku is None else _quoted(sku)},'
        f' "barcode": {"null" if barcode is None else _quoted(barcode)},'
        f' "name": {_quoted(line.name)}, "category": {_quoted(line.category)},'
        f' "price": "{line.price:f}", "quantity": "{line.quantity:f}",'
        f' "amount": "{line.amount:f}", "discounted": {"true" if line.discounted else "false"}'
        f"{'' if line.payable_with_points else _NOT_PAYABLE}}}"
    )


def as_datetime(seconds: int) -> datetime:
    """``seconds`` since the epoch as an aware UTC datetime."""
    return datetime.fromtimestamp(seconds, UTC)


def load(db: Database, check_id: str) -> tuple[str, str, int, int, int | None, str | None] | None:
    """A check's (status, member, spend, earn, hold expiry, stored result), or None."""
    row = db.execute(
        "SELECT status, member_id, spend, earn, hold_expires_at, result FROM checks WHERE id = ?",
        [check_id],
    ).fetchone()
    if row is None:
        return None
    return (str(row[0]), str(row[1]), int(row[2]), int(row[3]), row[4], row[5])


def require_store(db: Database, check_id: str, store_id: str, till_id: str | None = None) -> None:
    """Refuse with ``unknown_check`` (404, nothing of the check told) unless ``check_id`` was
    made in ``store_id`` (and, given ``till_id``, at that till): a check, its hold and its
    returns belong to where it was made, and another store cannot tell it from a wrong id."""
    row = db.execute("SELECT store_id, till_id FROM checks WHERE id = ?", [check_id]).fetchone()
    if row is None or str(row[0]) != store_id or (till_id is not None and str(row[1]) != till_id):
        raise ApiError(ErrorCode.UNKNOWN_CHECK, NOT_FOUND)


def held_by_claim(db: Database, check_id: str) -> bool:
    """True when ``check_id`` is a claim's (a check made without a customer, not redeemed:
    a redeemed one is in ``checks``). Such an id cannot become another check."""
    return db.execute("SELECT 1 FROM claims WHERE check_id = ?", [check_id]).fetchone() is not None


def earn_lot(
    db: Database, program: Program, member_id: str, earn: int, at: int, check_id: str
) -> int | None:
    """Add the lot a check earned (from ``at``, after the activation delay); returns the day
    it becomes active, or None when nothing was earned."""
    if earn <= 0:
        return None
    active_from = at + program.activation_delay_days * DAY
    expires = _lot_expiry(program, active_from)
    ledger.add_lot(
        db,
        member_id,
        earn,
        kind="earn",
        now=at,
        active_from=active_from,
        expires_at=expires,
        check_id=check_id,
    )
    return active_from


def _lot_expiry(program: Program, active_from: int) -> int | None:
    return None if program.expiry_days is None else active_from + program.expiry_days * DAY


def lot_counts_at(program: Program, active_from: int, at: int) -> bool:
    """Whether a lot :func:`earn_lot` added under ``program``, active from ``active_from``,
    counts in the balance at ``at`` (active, and not expired)."""
    expires = _lot_expiry(program, active_from)
    return active_from <= at and (expires is None or expires > at)


def check_result(
    db: Database,
    check_id: str,
    member_id: str,
    status: str,
    earned: int,
    spent: int,
    now: int,
    frozen_until: int | None,
    conflict: str | None = None,
    shortfall: int = 0,
    balance: int | None = None,
    *,
    zone: tzinfo,
) -> wire.CheckResult:
    """The result a closed check answers with (and stores for repeats); the day in its message
    is on ``zone``'s calendar (the caller's store)."""
    if balance is None:
        balance = ledger.available(db, member_id, now)
    e, s = format(from_minor(earned), "f"), format(from_minor(spent), "f")
    text = f"You got {e} points and spent {s}."
    if frozen_until is not None and earned:
        day = zones.local_time(frozen_until, zone)
        text += f" The new points become active on {day:%d.%m.%Y}."
    return wire.CheckResult(
        check_id=check_id,
        member_id=member_id,
        status=status,
        earned=from_minor(earned),
        spent=from_minor(spent),
        balance_after=from_minor(balance),
        frozen_until=None if frozen_until is None else as_datetime(frozen_until),
        conflict=conflict,
        shortfall=from_minor(shortfall),
        message=wire.UserMessage(key="check_done", params={"earned": e, "spent": s}, text=text),
    )
