"""Claims: a check made without a customer, kept under its claim code until a member redeems it.

A till that sells without an identified customer registers the check as a claim
(:func:`create`): the lines, when it was made, and the code printed on the receipt
(:func:`loyalty.claims.claim_code` of the check id). It is worth at least the earn of its lines
at the program's base tier, with no personal offers and no coupons (``earn_at_least``), and it
can be redeemed for :data:`CLAIM_DAYS` days from when it was made.

Redeeming (:func:`redeem`) applies the check to the member exactly as a check made offline at
that moment and replayed now (:func:`processing.server.replay.apply_check`): earn by the
member's tier, the lot frozen per the program, lifetime spend raised, spend 0. From then on it
is an ordinary member check (status ``claimed`` in the ``checks`` table) and returns against it
take the points back pro rata.

Calendars: a claim's earn is worked out on the calendar of the store that made the sale (its
zone is kept with the claim, so a redemption at a store in another timezone earns for the same
day); the dates in the answers ("valid until …") are on the caller's store's calendar.

Returns against a claim not redeemed yet (:func:`return_unclaimed`) move no points: the
quantities are recorded on the claim, and a later redemption earns only on what was kept (as a
return right after the sale would have taken the rest back). A wholly returned claim can no
longer be redeemed.

Call everything inside one ``Storage.write()`` transaction (BEGIN IMMEDIATE). Raises
:class:`~processing.server.problems.ApiError`: invalid_request, check_exists,
claim_code_taken, claim_unknown, claim_redeemed, claim_returned, claim_expired,
unknown_member, member_blocked, return_exceeds_check.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, tzinfo
from decimal import Decimal
from typing import Literal

from loyalty.calculation import Calculation
from loyalty.check import format_points
from loyalty.claims import claim_code
from loyalty.errors import ReturnError
from loyalty.gs1 import has_valid_check_digit
from loyalty.program import Program
from loyalty.returns import calculate_return
from processing import wire
from processing.amounts import from_minor, to_minor
from processing.errors import ErrorCode
from processing.server import checks, ledger, members, pricing, replay, zones
from processing.server.engine import Database
from processing.server.problems import ApiError

CLAIM_DAYS = 30
"""Days from when a check was made during which its claim can be redeemed (a server constant:
the program snapshot has no such setting)."""

_NOT_HERE = "No check of this store has this id."

ClaimStatus = Literal["open", "redeemed", "returned", "expired"]

_COLUMNS = (
    "code, check_id, store_id, till_id, lines, calculation, earn_at_least, made_at,"
    " expires_at, status, returned, redeemed_by, redeemed, timezone"
)


@dataclass(frozen=True)
class ClaimRow:
    """A stored claim (amounts in hundredths, times in Unix seconds)."""

    code: str
    check_id: str
    store_id: str
    till_id: str
    lines: str
    """The wire lines as sent (JSON)."""
    calculation: str
    """The base-tier calculation (JSON)."""
    earn_at_least: int
    made_at: int
    expires_at: int
    status: str
    """open, redeemed or returned (an open claim past ``expires_at`` is expired)."""
    returned: dict[int, Decimal]
    """Quantities given back before redemption, by line index."""
    redeemed_by: str | None
    redeemed: str | None
    """The ClaimRedeemed answer (JSON), once redeemed."""
    timezone: str | None
    """The zone the sale's day was taken in (None: made when every calendar was UTC)."""

    def zone(self) -> tzinfo:
        """The calendar of the store that made the sale."""
        return zones.stored(self.timezone, UTC)

    def base(self) -> Calculation:
        return Calculation.from_dict(json.loads(self.calculation))


def _row(r: tuple[object, ...]) -> ClaimRow:
    returned = {int(i): Decimal(str(q)) for i, q in json.loads(str(r[10])).items()}
    return ClaimRow(
        str(r[0]),
        str(r[1]),
        str(r[2]),
        str(r[3]),
        str(r[4]),
        str(r[5]),
        int(str(r[6])),
        int(str(r[7])),
        int(str(r[8])),
        str(r[9]),
        returned,
        None if r[11] is None else str(r[11]),
        None if r[12] is None else str(r[12]),
        None if r[13] is None else str(r[13]),
    )


def by_code(db: Database, code: str) -> ClaimRow | None:
    r = db.execute(f"SELECT {_COLUMNS} FROM claims WHERE code = ?", [code]).fetchone()
    return None if r is None else _row(r)


def by_check(db: Database, check_id: str) -> ClaimRow | None:
    r = db.execute(f"SELECT {_COLUMNS} FROM claims WHERE check_id = ?", [check_id]).fetchone()
    return None if r is None else _row(r)


def _date(seconds: int, zone: tzinfo) -> str:
    return f"{zones.local_time(seconds, zone):%d.%m.%Y}"


def describe(program: Program, row: ClaimRow, now: int, zone: tzinfo) -> wire.Claim:
    """The claim as the protocol answers it, at ``now``: ``earn_at_least`` is what the lines
    not returned are worth at the base tier; dates on ``zone``'s calendar (the caller's)."""
    least = from_minor(row.earn_at_least)
    if row.returned:
        least -= calculate_return(row.base(), row.returned).earn_taken_back
    points = format_points(least, program)
    until = _date(row.expires_at, zone)
    status: ClaimStatus
    params: dict[str, str]
    if row.status == "redeemed":
        status, key, params = "redeemed", "claim_redeemed", {}
        text = "The points of this check were already credited."
    elif row.status == "returned":
        status, key, params = "returned", "claim_returned", {}
        text = "This check was returned; it has no points to claim."
    elif now >= row.expires_at:
        status, key, params = "expired", "claim_expired", {"until": until}
        text = f"This code expired on {until}."
    else:
        status, key, params = "open", "claim_open", {"points": points, "until": until}
        text = f"Scan this code at your next visit, by {until}, to get at least {points} points."
    return wire.Claim(
        code=row.code,
        check_id=row.check_id,
        earn_at_least=least,
        expires_at=checks.as_datetime(row.expires_at),
        status=status,
        message=wire.UserMessage(key=key, params=params, text=text),
    )


def create(
    db: Database,
    program: Program,
    request: wire.ClaimRequest,
    now: int,
    store_id: str,
    till_id: str,
    zone: tzinfo,
) -> wire.Claim:
    """Register a check made without a customer under its claim code (the stored claim again
    when this check is already registered with the same lines); ``zone``: the calendar of the
    caller's store, the one the sale's rules and the answer's dates follow."""
    if request.code != claim_code(request.check_id):
        raise ApiError(
            ErrorCode.INVALID_REQUEST,
            "This claim code was not made from this check id.",
            {"field": "code"},
        )
    row = by_code(db, request.code)
    if row is not None:
        if row.store_id != store_id and row.check_id == request.check_id:
            raise ApiError(ErrorCode.UNKNOWN_CHECK, _NOT_HERE)
        if row.check_id != request.check_id:
            raise ApiError(
                ErrorCode.CLAIM_CODE_TAKEN, "This claim code already belongs to another check."
            )
        if row.lines != checks.lines_json(request.lines):
            raise ApiError(
                ErrorCode.CHECK_EXISTS,
                "This check id is already registered as a claim with other lines.",
            )
        return describe(program, row, now, zone)
    if checks.load(db, request.check_id) is not None:
        checks.require_store(db, request.check_id, store_id)
        raise ApiError(ErrorCode.CHECK_EXISTS, "This check id was already used for a member.")
    made_at = min(int(request.made_at.timestamp()), now)  # the wire keeps it in 2000–2200
    lines = pricing.core_lines(db, request.lines)
    # No member: the base tier, no personal offers, no coupons — the least any member gets.
    calc = pricing.run(program, lines, None, Decimal(0), (), made_at, zone)
    db.execute(
        "INSERT INTO claims (code, check_id, store_id, till_id, lines, calculation,"
        " earn_at_least, made_at, created_at, expires_at, timezone)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            request.code,
            request.check_id,
            store_id,
            till_id,
            checks.lines_json(request.lines),
            calc.record_json_and_fingerprint()[0],
            to_minor(calc.earn_total),
            made_at,
            now,
            made_at + CLAIM_DAYS * checks.DAY,
            zones.name_of(zone),
        ],
    )
    stored = by_code(db, request.code)
    assert stored is not None  # inserted just above
    return describe(program, stored, now, zone)


def redeem(
    db: Database, program: Program, request: wire.RedeemClaimRequest, now: int, zone: tzinfo
) -> wire.ClaimRedeemed:
    """Credit the claim's check to the member (once; the same member again gets the same
    answer). The earn follows the calendar of the store that made the sale (kept with the
    claim); the answer's dates ``zone``'s, the caller's store's."""
    if not (request.code.isascii() and has_valid_check_digit(request.code)):
        raise ApiError(
            ErrorCode.INVALID_REQUEST,
            "This claim code is mistyped: its check digit does not match.",
            {"field": "code", "reason": "check_digit"},
        )
    row = by_code(db, request.code)
    if row is None:
        raise ApiError(ErrorCode.CLAIM_UNKNOWN, "No check was registered under this claim code.")
    if row.status == "redeemed":
        if row.redeemed_by == request.member_id and row.redeemed is not None:
            return _again(db, row.redeemed, request.member_id, now)
        raise ApiError(
            ErrorCode.CLAIM_REDEEMED, "The points of this check were already credited to a member."
        )
    if row.status == "returned":
        raise ApiError(
            ErrorCode.CLAIM_RETURNED, "This check was returned; it has no points to claim."
        )
    if now >= row.expires_at:
        raise ApiError(
            ErrorCode.CLAIM_EXPIRED,
            f"This claim code expired on {_date(row.expires_at, zone)}.",
            {"expires_at": checks.as_datetime(row.expires_at).isoformat()},
        )
    member = members.require(db, request.member_id)
    if member.state == "blocked":
        raise ApiError(ErrorCode.MEMBER_BLOCKED, "This member is blocked.")
    if checks.load(db, row.check_id) is not None:
        raise ApiError(
            ErrorCode.CHECK_EXISTS,
            "This check id was also used for a member's check; it cannot be claimed.",
        )
    result = replay.apply_check(
        db,
        program,
        member,
        row.check_id,
        [wire.Line.model_validate(line) for line in json.loads(row.lines)],
        made_at=row.made_at,
        now=now,
        store_id=row.store_id,
        till_id=row.till_id,
        zone=row.zone(),
        message_zone=zone,
        status="claimed",
        returned_before=row.returned,
    )
    # Returns made before redemption become the check's own, so later returns count them.
    db.execute(
        "INSERT INTO returns (id, check_id, lines, taken_back, given_back, created_at, result)"
        " SELECT id, ?, lines, 0, 0, created_at, result FROM claim_returns WHERE code = ?",
        [row.check_id, row.code],
    )
    db.execute("DELETE FROM claim_returns WHERE code = ?", [row.code])
    earned = format(result.earned, "f")
    text = f"{earned} points from this receipt were credited."
    if result.frozen_until is not None:
        text += f" They become active on {result.frozen_until.astimezone(zone):%d.%m.%Y}."
    answer = wire.ClaimRedeemed(
        code=row.code,
        check=result,
        message=wire.UserMessage(key="claim_credited", params={"points": earned}, text=text),
    )
    db.execute(
        "UPDATE claims SET status = 'redeemed', redeemed_by = ?, redeemed_at = ?, redeemed = ?"
        " WHERE code = ?",
        [member.id, now, answer.model_dump_json(), row.code],
    )
    return answer


def stored_return(db: Database, return_id: str, store_id: str) -> wire.ReturnResult | None:
    """The answer of a return made against a claim not redeemed yet, or None; another
    store's is ``unknown_check`` (404)."""
    row = db.execute(
        "SELECT r.result, c.store_id FROM claim_returns r JOIN claims c ON c.code = r.code"
        " WHERE r.id = ?",
        [return_id],
    ).fetchone()
    if row is None:
        return None
    if str(row[1]) != store_id:
        raise ApiError(ErrorCode.UNKNOWN_CHECK, _NOT_HERE)
    return wire.ReturnResult.model_validate_json(row[0])


def return_unclaimed(
    db: Database, request: wire.ReturnRequest, now: int, store_id: str
) -> wire.ReturnResult | None:
    """Record a return against a claim not redeemed yet (no points move); None when no such
    claim holds the check id. Another store's claim is ``unknown_check`` (404)."""
    row = by_check(db, request.check_id)
    if row is None or row.status == "redeemed":
        return None
    if row.store_id != store_id:
        raise ApiError(ErrorCode.UNKNOWN_CHECK, _NOT_HERE)
    base = row.base()
    wanted: dict[int, Decimal] = {}
    for line in request.lines:
        wanted[line.index] = wanted.get(line.index, Decimal(0)) + line.quantity
    try:
        calculate_return(base, wanted, row.returned)  # the same validation as any return
    except ReturnError as exc:
        raise ApiError(ErrorCode.RETURN_EXCEEDS_CHECK, exc.reason) from None
    after = dict(row.returned)
    for index, quantity in wanted.items():
        after[index] = after.get(index, Decimal(0)) + quantity
    whole = all(after.get(i, Decimal(0)) >= line.quantity for i, line in enumerate(base.lines))
    db.execute(
        "UPDATE claims SET returned = ?, status = ? WHERE code = ?",
        [
            json.dumps({str(i): format(q, "f") for i, q in sorted(after.items())}),
            "returned" if whole else row.status,
            row.code,
        ],
    )
    zero = from_minor(0)
    result = wire.ReturnResult(
        return_id=request.return_id,
        check_id=request.check_id,
        member_id="",
        points_taken_back=zero,
        points_given_back=zero,
        balance_after=zero,
        message=wire.UserMessage(
            key="return_no_points",
            text="No points were involved: this check was not credited to a member.",
        ),
    )
    db.execute(
        "INSERT INTO claim_returns (id, code, lines, created_at, result) VALUES (?, ?, ?, ?, ?)",
        [
            request.return_id,
            row.code,
            json.dumps([[i, format(q, "f")] for i, q in wanted.items()]),
            now,
            result.model_dump_json(),
        ],
    )
    return result


def _again(db: Database, first: str, member_id: str, now: int) -> wire.ClaimRedeemed:
    """The same member collecting again (a second scan, another till): nothing more is
    credited. The answer says so and carries today's balance, not the one of the first time,
    so no till shows a stale balance or tells the customer points were added."""
    answer = wire.ClaimRedeemed.model_validate_json(first)
    balance = from_minor(ledger.available(db, member_id, now))
    return answer.model_copy(
        update={
            "already_collected": True,
            "check": answer.check.model_copy(update={"balance_after": balance}),
            "message": wire.UserMessage(
                key="claim_already_collected",
                params={},
                text="The points of this receipt were already collected.",
            ),
        }
    )
