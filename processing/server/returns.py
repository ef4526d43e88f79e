"""Returns: lines of a closed check given back — earned points taken back, spent points
returned, on the ledger. A check still waiting as a claim (no member yet) records the return
on the claim and moves no points (:func:`processing.server.claims.return_unclaimed`).

Call inside one ``Storage.write()`` transaction (BEGIN IMMEDIATE). Raises
:class:`~processing.server.problems.ApiError`: unknown_check (also for another store's check
or return), return_exceeds_check.
"""

from __future__ import annotations

import json
from decimal import Decimal

from loyalty.check import Calculation
from loyalty.errors import ReturnError
from loyalty.program import Program
from loyalty.returns import calculate_return
from processing import wire
from processing.amounts import from_minor, to_minor
from processing.errors import ErrorCode
from processing.server import checks, claims, ledger, members, pricing, replay
from processing.server.engine import Database
from processing.server.problems import ApiError

_NOT_HERE = "No completed check of this store has this id."

RETURN_SHORTFALL = "return_shortfall"
"""The conflict of a return whose earned points were already spent: never a debt."""


def return_check(
    db: Database, program: Program, request: wire.ReturnRequest, now: int, store_id: str
) -> wire.ReturnResult:
    """Return lines of a closed check made in ``store_id`` (the caller's store; another
    store's check or return is ``unknown_check``, nothing of it told): earned points taken
    back, spent points given back."""
    row = db.execute(
        "SELECT r.result, c.store_id FROM returns r JOIN checks c ON c.id = r.check_id"
        " WHERE r.id = ?",
        [request.return_id],
    ).fetchone()
    if row is not None:
        if str(row[1]) != store_id:
            raise ApiError(ErrorCode.UNKNOWN_CHECK, _NOT_HERE)
        return wire.ReturnResult.model_validate_json(row[0])
    unclaimed = claims.stored_return(db, request.return_id, store_id)
    if unclaimed is not None:
        return unclaimed
    found = db.execute(
        "SELECT status, member_id, calculation, earn, spend, store_id FROM checks WHERE id = ?",
        [request.check_id],
    ).fetchone()
    if found is None:
        unclaimed = claims.return_unclaimed(db, request, now, store_id)
        if unclaimed is not None:
            return unclaimed
    # "claimed": a claim's check, redeemed by a member.
    if (
        found is None
        or str(found[5]) != store_id
        or found[0] not in ("confirmed", "applied_offline", "claimed")
    ):
        raise ApiError(ErrorCode.UNKNOWN_CHECK, _NOT_HERE)
    member_id, earned, spent = str(found[1]), int(found[3]), int(found[4])
    original = Calculation.from_dict(json.loads(found[2]))
    before: dict[int, Decimal] = {}
    taken_so_far = given_so_far = 0
    for lines_json, taken, given in db.execute(
        "SELECT lines, taken_back, given_back FROM returns WHERE check_id = ?", [request.check_id]
    ).fetchall():
        taken_so_far += int(taken)
        given_so_far += int(given)
        for index, qty in json.loads(lines_json):
            before[int(index)] = before.get(int(index), Decimal(0)) + Decimal(qty)
    wanted: dict[int, Decimal] = {}
    for line in request.lines:
        wanted[line.index] = wanted.get(line.index, Decimal(0)) + line.quantity
    try:
        moved = calculate_return(original, wanted, before)
    except ReturnError as exc:
        raise ApiError(ErrorCode.RETURN_EXCEEDS_CHECK, exc.reason) from None
    # Never move more than the check really earned and spent (offline shortfalls, blocked).
    take = min(to_minor(moved.earn_taken_back), max(earned - taken_so_far, 0))
    give = min(to_minor(moved.spend_given_back), max(spent - given_so_far, 0))
    # Spent points go back first, into the lots they came from with those lots' own expiry
    # (only what cannot be traced to a lot becomes a fresh lot), so they cover what is taken
    # back below.
    untraced = ledger.restore_spent(db, member_id, give, now, request.check_id)
    if untraced:
        expires = None if program.expiry_days is None else now + program.expiry_days * checks.DAY
        ledger.add_lot(
            db,
            member_id,
            untraced,
            kind="reverse",
            now=now,
            active_from=now,
            expires_at=expires,
            check_id=request.check_id,
            note=ledger.RESTORED_NOTE,
        )
    shortfall = ledger.take_back(db, member_id, take, now, request.check_id)
    if shortfall:
        _record_shortfall(db, request, member_id, take, shortfall, now, store_id)
    take -= shortfall
    db.execute(
        "UPDATE members SET lifetime_spend = MAX(0, lifetime_spend - ?) WHERE id = ?",
        [to_minor(moved.money_refund), member_id],
    )
    members.touch(db, member_id)
    # The whole check back: the coupons it used are the member's to use again.
    if all(
        before.get(i, Decimal(0)) + wanted.get(i, Decimal(0)) >= line.quantity
        for i, line in enumerate(original.lines)
    ):
        pricing.give_back_coupons(db, request.check_id)
    balance = ledger.available(db, member_id, now)
    t, g = format(from_minor(take), "f"), format(from_minor(give), "f")
    result = wire.ReturnResult(
        return_id=request.return_id,
        check_id=request.check_id,
        member_id=member_id,
        points_taken_back=from_minor(take),
        points_given_back=from_minor(give),
        balance_after=from_minor(balance),
        conflict=RETURN_SHORTFALL if shortfall else None,
        shortfall=from_minor(shortfall),
        message=wire.UserMessage(
            key="return_done",
            params={"taken": t, "given": g},
            text=f"{t} points were taken back and {g} returned.",
        ),
    )
    db.execute(
        "INSERT INTO returns (id, check_id, lines, taken_back, given_back, created_at, result)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            request.return_id,
            request.check_id,
            json.dumps([[i, format(q, "f")] for i, q in wanted.items()]),
            take,
            give,
            now,
            result.model_dump_json(),
        ],
    )
    return result


def _record_shortfall(
    db: Database,
    request: wire.ReturnRequest,
    member_id: str,
    wanted: int,
    shortfall: int,
    now: int,
    store_id: str,
) -> None:
    """Keep for the operator the earned points a return could not take back (the store
    deducts them from the cash refund)."""
    replay.record_conflict(
        db,
        request.check_id,
        member_id,
        RETURN_SHORTFALL,
        {
            "return_id": request.return_id,
            "to_take_back": format(from_minor(wanted), "f"),
            "taken_back": format(from_minor(wanted - shortfall), "f"),
            "shortfall": format(from_minor(shortfall), "f"),
            "reason": "balance",
            "store": store_id,
        },
        now,
    )
