"""Offline replay: a check made while the till was offline, applied on the ledger afterwards.

:func:`apply_check` is the application itself, shared with redeemed claims
(:mod:`processing.server.claims`): a check made earlier, applied now to a member.

The rules at ``made_at`` follow the calendar of the store the check was made in (an offline
check: the caller's store), so a check made at 00:30 on 1 January in Almaty earns the
January promotion wherever the server is.

Call inside one ``Storage.write()`` transaction (BEGIN IMMEDIATE). Raises
:class:`~processing.server.problems.ApiError`: unknown_member, unknown_check (another store's
check id), check_exists.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import tzinfo
from decimal import Decimal

from loyalty.check import Calculation, Line
from loyalty.member import MemberView
from loyalty.money import quantize_down
from loyalty.program import Program
from loyalty.returns import calculate_return
from processing import wire
from processing.amounts import from_minor, to_minor
from processing.errors import ErrorCode
from processing.server import checks, ledger, members, pricing
from processing.server.auth import TillIdentity
from processing.server.engine import Database
from processing.server.members import MemberRow
from processing.server.problems import ApiError


def replay_offline(
    db: Database, program: Program, check: wire.OfflineCheck, now: int, caller: TillIdentity
) -> wire.CheckResult:
    """Apply a check made offline: earn recomputed here (on the calendar of the caller's store);
    the spend taken as far as the program's rules and the balance allow, the rest recorded as
    a conflict (never dropped, never debited).

    The check id is the caller's store's: another store's check is ``unknown_check`` (404,
    nothing of it told). A check of this store already applied answers its stored result; a
    hold of it never confirmed (held, expired or cancelled — its answer was lost and the till
    sold offline instead) is released and the check applied here, once."""
    found = checks.load(db, check.check_id)
    replaces_hold = False
    if found is not None:
        checks.require_store(db, check.check_id, caller.store_id)
        status, member_id, _spend, _earn, _expires, stored = found
        if stored is not None and (status == "applied_offline" or member_id == check.member_id):
            return wire.CheckResult.model_validate_json(stored)
        if stored is not None or member_id != check.member_id:
            raise ApiError(ErrorCode.CHECK_EXISTS, "This check id was already used online.")
        release_unconfirmed_hold(db, check.check_id, now)
        replaces_hold = True
    elif checks.held_by_claim(db, check.check_id):
        raise ApiError(
            ErrorCode.CHECK_EXISTS, "This check id belongs to a check made without a customer."
        )
    member = members.require(db, check.member_id)
    return apply_check(
        db,
        program,
        member,
        check.check_id,
        check.lines,
        made_at=min(int(check.made_at.timestamp()), now),
        now=now,
        store_id=caller.store_id,
        till_id=caller.till_id,
        zone=caller.zone,
        spent_offline=check.spent_offline,
        coupons=check.coupons,
        override=check.manager_override,
        replaces_hold=replaces_hold,
    )


def release_unconfirmed_hold(db: Database, check_id: str, now: int) -> None:
    """Release the reservation of a hold that is about to be settled another way (a hold
    cancelled, or expired and swept, released its points already)."""
    row = db.execute(
        "SELECT member_id, spend, hold_expires_at FROM checks WHERE id = ? AND status = 'held'",
        [check_id],
    ).fetchone()
    if row is not None and int(row[1]):
        note = "settled" if int(row[2]) > now else "hold expired"
        ledger.record_release(db, str(row[0]), int(row[1]), now, check_id, note)
    db.execute("UPDATE checks SET status = 'released' WHERE id = ?", [check_id])


def record_conflict(
    db: Database, check_id: str, member_id: str, kind: str, details: dict[str, str], now: int
) -> None:
    """Keep for the operator what a till did that the program did not allow (or a manager's
    override of it): the ``conflicts`` table."""
    db.execute(
        "INSERT INTO conflicts (check_id, member_id, kind, details, created_at)"
        " VALUES (?, ?, ?, ?, ?)",
        [check_id, member_id, kind, json.dumps(details), now],
    )


@dataclass(frozen=True)
class AllowedSpend:
    points: int
    """Hundredths of a point the program and the balance allow of the till's spend."""
    reason: str
    """Why less than the till's spend: program, balance, member_state, code_required."""


def _allowed_spend(
    program: Program,
    lines: Sequence[Line],
    view: MemberView,
    calc: Calculation,
    available: int,
    spent_offline: Decimal,
    override: wire.ManagerOverride | None,
    made_at: int,
    zone: tzinfo,
) -> AllowedSpend:
    """The part of an offline spend the program allows at ``made_at``, exactly as a hold
    would: the share of the check, excluded categories, the minimum paid in money, minimum and
    maximum points, whole points, the member's state, the available balance; above the SMS-code
    threshold, nothing without a manager's override (no code could be asked offline)."""
    wanted = to_minor(spent_offline)
    if wanted <= 0:
        return AllowedSpend(0, "")
    if not view.state.can_spend:
        return AllowedSpend(0, "member_state")
    threshold = program.spend.code_threshold
    if threshold is not None and spent_offline > threshold and override is None:
        return AllowedSpend(0, "code_required")
    by_rules = to_minor(calc.spend_applied)  # calc saw a balance large enough for the spend
    if available < by_rules:
        capped = replace(view, available_points=from_minor(max(available, 0)))
        by_rules = to_minor(
            pricing.run(
                program, lines, capped, spent_offline, calc.coupons, made_at, zone
            ).spend_applied
        )
        return AllowedSpend(by_rules, "balance")
    return AllowedSpend(by_rules, "program")


def _earn_on_money_paid(program: Program, calc: Calculation, spent_offline: Decimal) -> int:
    """The check's earn (hundredths) for what the customer paid in money: ``calc`` earns on its
    total less the spend the rules allowed; a till that took more points than that was paid
    less in money, and the earn shrinks in proportion."""
    paid_by_rules = calc.total_amount - calc.spend_applied
    paid = max(calc.total_amount - spent_offline, Decimal(0))
    if paid >= paid_by_rules or paid_by_rules <= 0:
        return to_minor(calc.earn_total)
    return to_minor(
        quantize_down(calc.earn_total * paid / paid_by_rules, program.precision.quantum)
    )


def apply_check(
    db: Database,
    program: Program,
    member: MemberRow,
    check_id: str,
    wire_lines: Sequence[wire.Line],
    *,
    made_at: int,
    now: int,
    store_id: str,
    till_id: str,
    zone: tzinfo,
    message_zone: tzinfo | None = None,
    spent_offline: Decimal = Decimal(0),
    coupons: Sequence[str] = (),
    status: str = "applied_offline",
    returned_before: Mapping[int, Decimal] | None = None,
    override: wire.ManagerOverride | None = None,
    replaces_hold: bool = False,
) -> wire.CheckResult:
    """Apply to ``member`` a check made at ``made_at`` (not stored yet): earn by the rules at
    that moment and the member's tier, the lot frozen from ``now`` per the program, the spend
    taken as far as the balance allows (a shortfall kept as a conflict), lifetime spend raised,
    the member marked changed. The check is stored with ``status``; its result says
    ``applied_offline``.

    ``zone``: the calendar of the store the check was made in (the day its rules go by);
    ``message_zone``: the calendar of the answer's dates (the caller's store; default ``zone``).

    ``returned_before``: quantities of lines given back before the check reached the member
    (a claim returned in part): their share of the earn and of the money is left out exactly
    as a return right after the sale would take it back.

    ``override``: a manager's word for a spend above the SMS-code threshold (kept for the
    operator); ``replaces_hold``: the check id's row is a hold settled by this check (replaced).
    """
    lines = pricing.core_lines(db, wire_lines)
    wanted = to_minor(spent_offline)
    available = ledger.available(db, member.id, now)
    # Earn as the rules say for what the customer paid in money at the time: the spend the
    # rules allowed on this check whatever the balance (what the balance cannot cover is the
    # operator's conflict, not a reason to earn less).
    view = pricing.member_view(db, member, made_at, available=max(available, wanted))
    # Coupons: the member's own, unused, valid on the day of the check (used by it below).
    usable = pricing.usable_coupons(db, member.id, coupons, made_at, zone, check_id)
    calc = pricing.run(program, lines, view, spent_offline, usable, made_at, zone)
    spend = _allowed_spend(
        program, lines, view, calc, available, spent_offline, override, made_at, zone
    )
    allowed = spend.points if member.state != "blocked" else 0
    shortfall = wanted - allowed
    if allowed:
        ledger.spend(db, member.id, allowed, now, check_id)
    earn = 0
    if member.state != "blocked":
        earn = _earn_on_money_paid(program, calc, spent_offline)
    not_kept = Decimal(0)
    refunded = 0
    if returned_before:
        gone = calculate_return(calc, returned_before)
        not_kept, refunded = gone.earn_taken_back, to_minor(gone.money_refund)
        earn = max(0, earn - to_minor(not_kept))
    frozen_until = checks.earn_lot(db, program, member.id, earn, now, check_id)
    conflict = None
    details = {"store": store_id, "till": till_id}
    if shortfall:
        conflict = "offline_spend_shortfall"
        record_conflict(
            db,
            check_id,
            member.id,
            conflict,
            {
                "spent_offline": format(spent_offline, "f"),
                "accepted": format(from_minor(allowed), "f"),
                "shortfall": format(from_minor(shortfall), "f"),
                "reason": spend.reason,
                **details,
            },
            now,
        )
    if override is not None:
        record_conflict(
            db,
            check_id,
            member.id,
            "manager_override",
            {
                "cashier_id": override.cashier_id,
                "reason": override.reason,
                "spent_offline": format(spent_offline, "f"),
                **details,
            },
            now,
        )
    db.execute(
        "UPDATE members SET lifetime_spend = lifetime_spend + ? WHERE id = ?",
        # What the customer paid in money; points spent (even beyond the rules) never lower it.
        [max(0, to_minor(calc.total_amount) - wanted - refunded), member.id],
    )
    members.touch(db, member.id)
    # Read usable above in this same write: nothing else can have used them since.
    pricing.use_coupons(db, member.id, calc.coupons, check_id, now)
    result = checks.check_result(
        db,
        check_id,
        member.id,
        "applied_offline",
        earn,
        allowed,
        now,
        frozen_until,
        conflict,
        shortfall,
        zone=zone if message_zone is None else message_zone,
    )
    if replaces_hold:
        db.execute("DELETE FROM checks WHERE id = ?", [check_id])
    db.execute(
        "INSERT INTO checks (id, member_id, store_id, till_id, status, lines, calculation,"
        " fingerprint, total, earn, spend, program_version, created_at, closed_at, result)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            check_id,
            member.id,
            store_id,
            till_id,
            status,
            json.dumps([line.model_dump(mode="json") for line in wire_lines]),
            calc.record_json_and_fingerprint()[0],
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
