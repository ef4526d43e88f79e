"""Checks: hold → confirm / cancel, offline replay, and returns, on the ledger.

Call every function inside one ``Storage.write()`` transaction (BEGIN IMMEDIATE): the balance
a hold checks cannot change before the hold is written. Holds past their expiry release
themselves: they stop counting at once (the balance derivation ignores them) and the sweep
records the release movement.

Raises :class:`~processing.server.problems.ApiError`: unknown_member, unknown_check,
member_blocked, spend_not_allowed, insufficient_points, stale_calculation, code_required,
code errors, hold_expired, check_already_closed, check_exists, return_exceeds_check.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlite_utils import Database

from loyalty.check import Calculation
from loyalty.errors import ReturnError
from loyalty.program import Program
from loyalty.returns import calculate_return
from processing import wire
from processing.amounts import from_minor, to_minor
from processing.errors import ErrorCode
from processing.server import codes, ledger, members, pricing
from processing.server.auth import TillIdentity
from processing.server.problems import ApiError
from processing.server.storage import next_seq

DAY = 86400


def _at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def sweep_expired_holds(db: Database, now: int) -> int:
    """Mark holds past their expiry as expired and record their release; returns how many."""
    rows = db.execute(
        "SELECT id, member_id, spend FROM checks WHERE status = 'held' AND hold_expires_at <= ?",
        [now],
    ).fetchall()
    for check_id, member_id, spend in rows:
        db.execute(
            "UPDATE checks SET status = 'expired', closed_at = ? WHERE id = ?", [now, check_id]
        )
        if int(spend):
            ledger.record_release(
                db, str(member_id), int(spend), now, str(check_id), "hold expired"
            )
    return len(rows)


def calculate(db: Database, program: Program, request: wire.CheckRequest, now: int) -> Calculation:
    """The authoritative calculation of ``request`` at ``now`` (no writes)."""
    member = members.require(db, request.member_id)
    if member.state == "blocked":
        raise ApiError(ErrorCode.MEMBER_BLOCKED, "This member is blocked.")
    lines = pricing.core_lines(db, request.lines)
    view = pricing.member_view(db, member, now)
    return pricing.run(program, lines, view, request.requested_spend, request.coupons, now)


def _load(db: Database, check_id: str) -> tuple[str, str, int, int, int | None, str | None] | None:
    row = db.execute(
        "SELECT status, member_id, spend, earn, hold_expires_at, result FROM checks WHERE id = ?",
        [check_id],
    ).fetchone()
    if row is None:
        return None
    return (str(row[0]), str(row[1]), int(row[2]), int(row[3]), row[4], row[5])


_INPUTS = (
    "SELECT m.id, m.phone, m.name, m.birthday, m.email, m.state, m.lifetime_spend,"
    " (SELECT MAX(version) FROM programs),"
    " (SELECT COALESCE(SUM(remaining), 0) FROM lots WHERE member_id = m.id AND remaining != 0"
    "  AND active_from <= ?1 AND (expires_at IS NULL OR expires_at > ?1)),"
    " (SELECT COALESCE(SUM(spend), 0) FROM checks WHERE member_id = m.id AND status = 'held'"
    "  AND hold_expires_at > ?1),"
    " (SELECT group_concat(id, char(31)) FROM offers WHERE member_id = m.id)"
    " FROM members m WHERE m.id = ?2"
)
"""Everything a check's calculation reads besides the program and the catalog, in one query:
the member, the program version, active points, open holds, personal offers."""

HoldInputs = tuple[object, ...]


def _inputs(db: Database, member_id: str, now: int) -> HoldInputs | None:
    row = db.execute(_INPUTS, [now, member_id]).fetchone()
    return None if row is None else tuple(row)


@dataclass(frozen=True)
class PreparedHold:
    """A hold worked out before the write lock (in a read transaction): what it read, and the
    answer it leads to. :func:`hold` uses it only if what it read is still so."""

    now: int
    inputs: HoldInputs
    categories: dict[str, str]
    member: members.MemberRow
    calc: Calculation
    fresh: wire.Calculation
    refusal: ApiError | None
    lines_json: str
    calc_json: str


def prepare_hold(
    db: Database, program: Program, request: wire.HoldRequest, now: int
) -> PreparedHold | None:
    """The hold's calculation at ``now`` from a read snapshot; None when it cannot be prepared
    (unknown member, refused lines, another program version …: :func:`hold` works it out)."""
    inputs = _inputs(db, request.member_id, now)
    if inputs is None or inputs[7] != program.version:
        return None
    member = members.MemberRow(
        str(inputs[0]),
        str(inputs[1]),
        None if inputs[2] is None else str(inputs[2]),
        None if inputs[3] is None else date.fromisoformat(str(inputs[3])),
        None if inputs[4] is None else str(inputs[4]),
        str(inputs[5]),
        int(str(inputs[6])),
    )
    if member.state == "blocked":
        return None
    available = int(str(inputs[8])) - int(str(inputs[9]))
    offers = tuple(str(inputs[10]).split("\x1f")) if inputs[10] else ()
    categories = pricing.catalog_categories(db, request.lines)
    try:
        lines = pricing.core_lines(db, request.lines, categories)
        view = pricing.view_of(member, available, offers)
        calc = pricing.run(program, lines, view, request.requested_spend, request.coupons, now)
    except ApiError:
        return None
    fresh = pricing.to_wire(request.check_id, calc)
    refusal = None
    try:
        _decide(request, member, calc, fresh)
    except ApiError as error:
        refusal = error
    return PreparedHold(
        now,
        inputs,
        categories,
        member,
        calc,
        fresh,
        refusal,
        _lines_json(request.lines),
        json.dumps(calc.to_dict()),
    )


def _lines_json(lines: Sequence[wire.Line]) -> str:
    return json.dumps([line.model_dump(mode="json") for line in lines])


def _decide(
    request: wire.HoldRequest,
    member: members.MemberRow,
    calc: Calculation,
    fresh: wire.Calculation,
) -> None:
    """The refusals that follow from the calculation alone (ApiError)."""
    if request.requested_spend > 0 and member.state != "active":
        raise ApiError(ErrorCode.SPEND_NOT_ALLOWED, "This member may earn but not spend points.")
    if (
        calc.spend_applied < request.requested_spend
        and calc.available_points < request.requested_spend
    ):
        raise ApiError(
            ErrorCode.INSUFFICIENT_POINTS,
            "The member does not have enough points for this spend.",
            {"available": format(calc.available_points, "f")},
        )
    if fresh.fingerprint != request.fingerprint:
        raise ApiError(
            ErrorCode.STALE_CALCULATION,
            "The check changed since it was calculated; calculate it again.",
            {"calculation": fresh.model_dump(mode="json", exclude={"detail"})},
        )


def _still_valid(db: Database, request: wire.HoldRequest, prepared: PreparedHold) -> bool:
    """True when nothing the prepared calculation read has changed (call in the write)."""
    return _inputs(db, request.member_id, prepared.now) == prepared.inputs and (
        pricing.catalog_categories(db, request.lines) == prepared.categories
    )


def hold(
    db: Database,
    program: Program | Callable[[], Program],
    request: wire.HoldRequest,
    now: int,
    caller: TillIdentity,
    ttl: int,
    prepared: PreparedHold | None = None,
) -> wire.Hold:
    """Reserve the check's spend until ``now + ttl``.

    ``prepared`` (from :func:`prepare_hold` at this same ``now``, before the write lock) is
    used when what it read is unchanged inside this transaction; otherwise the calculation is
    done again here. ``program`` may be a callable, called only when it is needed.
    """
    sweep_expired_holds(db, now)
    if _load(db, request.check_id) is not None:
        raise ApiError(ErrorCode.CHECK_EXISTS, "This check id was already used.")
    if prepared is not None and prepared.now == now and _still_valid(db, request, prepared):
        member, calc, fresh = prepared.member, prepared.calc, prepared.fresh
        if prepared.refusal is not None:
            raise prepared.refusal
        lines_json, calc_json = prepared.lines_json, prepared.calc_json
    else:
        if callable(program):
            program = program()
        member = members.require(db, request.member_id)
        if member.state == "blocked":
            raise ApiError(ErrorCode.MEMBER_BLOCKED, "This member is blocked.")
        lines = pricing.core_lines(db, request.lines)
        view = pricing.member_view(db, member, now)
        calc = pricing.run(program, lines, view, request.requested_spend, request.coupons, now)
        fresh = pricing.to_wire(request.check_id, calc)
        _decide(request, member, calc, fresh)
        lines_json, calc_json = _lines_json(request.lines), json.dumps(calc.to_dict())
    spend = to_minor(calc.spend_applied)
    if calc.code_required and spend > 0:
        if request.spend_code_id is None or request.spend_code is None:
            raise ApiError(ErrorCode.CODE_REQUIRED, "This spend needs the customer's SMS code.")
        record = codes.check_code(db, request.spend_code_id, request.spend_code, "spend", now)
        if record.member_id != member.id or (record.points or 0) < spend:
            raise ApiError(ErrorCode.CODE_INVALID, "This code was sent for another spend.")
    expires = now + ttl
    db.execute(
        "INSERT INTO checks (id, member_id, store_id, till_id, status, lines, calculation,"
        " fingerprint, total, earn, spend, hold_expires_at, program_version, created_at)"
        " VALUES (?, ?, ?, ?, 'held', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            request.check_id,
            member.id,
            caller.store_id,
            caller.till_id,
            lines_json,
            calc_json,
            fresh.fingerprint,
            to_minor(calc.total_amount),
            to_minor(calc.earn_total),
            spend,
            expires,
            calc.program_version,
            now,
        ],
    )
    if spend:
        ledger.record_hold(db, member.id, spend, now, request.check_id)
    held = format(calc.spend_applied, "f")
    return wire.Hold(
        check_id=request.check_id,
        hold_id=request.check_id,
        points_held=calc.spend_applied,
        expires_at=_at(expires),
        calculation=fresh,
        message=wire.UserMessage(
            key="hold", params={"points": held}, text=f"{held} points are reserved for this check."
        ),
    )


def _earn_lot(
    db: Database, program: Program, member_id: str, earn: int, at: int, check_id: str
) -> int | None:
    if earn <= 0:
        return None
    active_from = at + program.activation_delay_days * DAY
    expires = None if program.expiry_days is None else active_from + program.expiry_days * DAY
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


def _result(
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
) -> wire.CheckResult:
    if balance is None:
        balance = ledger.available(db, member_id, now)
    e, s = format(from_minor(earned), "f"), format(from_minor(spent), "f")
    text = f"You got {e} points and spent {s}."
    if frozen_until is not None and earned:
        text += f" The new points become active on {_at(frozen_until):%d.%m.%Y}."
    return wire.CheckResult(
        check_id=check_id,
        member_id=member_id,
        status=status,
        earned=from_minor(earned),
        spent=from_minor(spent),
        balance_after=from_minor(balance),
        frozen_until=None if frozen_until is None else _at(frozen_until),
        conflict=conflict,
        shortfall=from_minor(shortfall),
        message=wire.UserMessage(key="check_done", params={"earned": e, "spent": s}, text=text),
    )


def stored_calculation(db: Database, check_id: str) -> Calculation | None:
    """The calculation a check was held with (never changes once written), or None."""
    row = db.execute("SELECT calculation FROM checks WHERE id = ?", [check_id]).fetchone()
    return None if row is None else Calculation.from_dict(json.loads(row[0]))


def confirm(
    db: Database,
    program: Program | Callable[[], Program],
    check_id: str,
    now: int,
    calc: Calculation | None = None,
) -> wire.CheckResult:
    """Apply a held check: spend from lots, earn a new lot, raise lifetime spend.

    ``calc``: the check's stored calculation when already read (before the write lock: it is
    written once, with the hold); ``program`` may be a callable, called only when needed."""
    found = _load(db, check_id)
    if found is None:
        raise ApiError(ErrorCode.UNKNOWN_CHECK, "No check has this id.")
    status, member_id, spend, earn, expires_at, stored = found
    if status == "confirmed" and stored is not None:
        return wire.CheckResult.model_validate_json(stored)
    if status == "held" and expires_at is not None and int(expires_at) <= now:
        sweep_expired_holds(db, now)
        status = "expired"
    if status == "expired":
        raise ApiError(
            ErrorCode.HOLD_EXPIRED, "The hold expired; calculate and hold again.", keep_effects=True
        )
    if status != "held":
        raise ApiError(ErrorCode.CHECK_ALREADY_CLOSED, f"This check is already {status}.")
    if callable(program):
        program = program()
    if spend:
        ledger.record_release(db, member_id, spend, now, check_id, "confirmed")
        try:
            ledger.spend(db, member_id, spend, now, check_id)
        except ledger.LedgerShortfall as exc:
            # Lots expired between hold and confirm: the hold is void, the customer pays in money.
            db.execute(
                "UPDATE checks SET status = 'cancelled', closed_at = ? WHERE id = ?",
                [now, check_id],
            )
            raise ApiError(
                ErrorCode.INSUFFICIENT_POINTS,
                "Some held points expired; hold the check again.",
                {"available": format(from_minor(exc.available), "f")},
                keep_effects=True,
            ) from None
    frozen_until = _earn_lot(db, program, member_id, earn, now, check_id)
    if calc is None:
        calc = stored_calculation(db, check_id)
        assert calc is not None  # the check exists (loaded above)
    # Lifetime spend and the member-cache mark in one statement (members.touch's effect).
    db.execute(
        "UPDATE members SET lifetime_spend = lifetime_spend + ?, seq = ? WHERE id = ?",
        [to_minor(calc.pay_in_money), next_seq(db, "members"), member_id],
    )
    for code in calc.coupons:
        db.execute(
            "UPDATE coupons SET used_check_id = ? WHERE code = ? AND used_check_id IS NULL",
            [check_id, code],
        )
    # The check still counts as held (unexpired, checked above) until the UPDATE below, so the
    # balance after is what is available now plus its own reservation.
    balance = ledger.available(db, member_id, now) + spend
    result = _result(
        db, check_id, member_id, "confirmed", earn, spend, now, frozen_until, balance=balance
    )
    db.execute(
        "UPDATE checks SET status = 'confirmed', closed_at = ?, result = ? WHERE id = ?",
        [now, result.model_dump_json(), check_id],
    )
    return result


def cancel(db: Database, check_id: str, now: int) -> wire.CancelResult:
    """Release a hold. Cancelling twice is harmless; a confirmed check cannot be cancelled."""
    found = _load(db, check_id)
    if found is None:
        raise ApiError(ErrorCode.UNKNOWN_CHECK, "No check has this id.")
    status, member_id, spend, _earn, expires_at, _ = found
    if status == "held" and expires_at is not None and int(expires_at) <= now:
        sweep_expired_holds(db, now)
        status = "expired"
    if status == "expired":
        return wire.CancelResult(check_id=check_id, status="expired", released=from_minor(0))
    if status == "cancelled":
        return wire.CancelResult(
            check_id=check_id, status="already_cancelled", released=from_minor(0)
        )
    if status != "held":
        raise ApiError(ErrorCode.CHECK_ALREADY_CLOSED, f"This check is already {status}.")
    db.execute(
        "UPDATE checks SET status = 'cancelled', closed_at = ? WHERE id = ?", [now, check_id]
    )
    if spend:
        ledger.record_release(db, member_id, spend, now, check_id, "cancelled")
    return wire.CancelResult(check_id=check_id, status="cancelled", released=from_minor(spend))


def replay_offline(
    db: Database, program: Program, check: wire.OfflineCheck, now: int, caller: TillIdentity
) -> wire.CheckResult:
    """Apply a check made offline: earn recomputed here; the spend taken as far as the balance
    allows, any shortfall recorded as a conflict (never dropped)."""
    found = _load(db, check.check_id)
    if found is not None:
        if found[0] == "applied_offline" and found[5] is not None:
            return wire.CheckResult.model_validate_json(found[5])
        raise ApiError(ErrorCode.CHECK_EXISTS, "This check id was already used online.")
    member = members.require(db, check.member_id)
    made_at = min(int(check.made_at.timestamp()), now)
    lines = pricing.core_lines(db, check.lines)
    wanted = to_minor(check.spent_offline)
    available = ledger.available(db, member.id, now)
    # Earn as the rules say for what the customer actually paid in money at the time.
    view = pricing.member_view(db, member, made_at, available=max(available, wanted))
    calc = pricing.run(program, lines, view, check.spent_offline, check.coupons, made_at)
    allowed = max(0, min(wanted, available)) if member.state != "blocked" else 0
    shortfall = wanted - allowed
    if allowed:
        ledger.spend(db, member.id, allowed, now, check.check_id)
    earn = to_minor(calc.earn_total) if member.state != "blocked" else 0
    frozen_until = _earn_lot(db, program, member.id, earn, now, check.check_id)
    conflict = None
    if shortfall:
        conflict = "offline_spend_shortfall"
        db.execute(
            "INSERT INTO conflicts (check_id, member_id, kind, details, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            [
                check.check_id,
                member.id,
                conflict,
                json.dumps(
                    {
                        "spent_offline": format(check.spent_offline, "f"),
                        "accepted": format(from_minor(allowed), "f"),
                        "shortfall": format(from_minor(shortfall), "f"),
                        "store": caller.store_id,
                        "till": caller.till_id,
                    }
                ),
                now,
            ],
        )
    db.execute(
        "UPDATE members SET lifetime_spend = lifetime_spend + ? WHERE id = ?",
        [to_minor(calc.total_amount) - wanted, member.id],
    )
    members.touch(db, member.id)
    result = _result(
        db,
        check.check_id,
        member.id,
        "applied_offline",
        earn,
        allowed,
        now,
        frozen_until,
        conflict,
        shortfall,
    )
    db.execute(
        "INSERT INTO checks (id, member_id, store_id, till_id, status, lines, calculation,"
        " fingerprint, total, earn, spend, program_version, created_at, closed_at, result)"
        " VALUES (?, ?, ?, ?, 'applied_offline', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            check.check_id,
            member.id,
            caller.store_id,
            caller.till_id,
            json.dumps([line.model_dump(mode="json") for line in check.lines]),
            json.dumps(calc.to_dict()),
            calc.fingerprint(),
            to_minor(calc.total_amount),
            earn,
            allowed,
            calc.program_version,
            made_at,
            now,
            result.model_dump_json(),
        ],
    )
    return result


def return_check(
    db: Database, program: Program, request: wire.ReturnRequest, now: int
) -> wire.ReturnResult:
    """Return lines of a closed check: earned points taken back, spent points given back."""
    row = db.execute("SELECT result FROM returns WHERE id = ?", [request.return_id]).fetchone()
    if row is not None:
        return wire.ReturnResult.model_validate_json(row[0])
    found = db.execute(
        "SELECT status, member_id, calculation, earn, spend FROM checks WHERE id = ?",
        [request.check_id],
    ).fetchone()
    if found is None or found[0] not in ("confirmed", "applied_offline"):
        raise ApiError(ErrorCode.UNKNOWN_CHECK, "No completed check has this id.")
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
    ledger.take_back(db, member_id, take, now, request.check_id)
    if give:
        expires = None if program.expiry_days is None else now + program.expiry_days * DAY
        ledger.add_lot(
            db,
            member_id,
            give,
            kind="reverse",
            now=now,
            active_from=now,
            expires_at=expires,
            check_id=request.check_id,
            note="spent points returned",
        )
    db.execute(
        "UPDATE members SET lifetime_spend = MAX(0, lifetime_spend - ?) WHERE id = ?",
        [to_minor(moved.money_refund), member_id],
    )
    members.touch(db, member_id)
    balance = ledger.available(db, member_id, now)
    t, g = format(from_minor(take), "f"), format(from_minor(give), "f")
    result = wire.ReturnResult(
        return_id=request.return_id,
        check_id=request.check_id,
        member_id=member_id,
        points_taken_back=from_minor(take),
        points_given_back=from_minor(give),
        balance_after=from_minor(balance),
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
