"""Offline replay: a check made while the till was offline, applied on the ledger afterwards.

:func:`apply_check` is the application itself, shared with redeemed claims
(:mod:`processing.server.claims`): a check made earlier, applied now to a member.

The rules at ``made_at`` follow the calendar of the store the check was made in (an offline
check: the caller's store), so a check made at 00:30 on 1 January in Almaty earns the
January promotion wherever the server is.

Call inside one ``Storage.write()`` transaction (BEGIN IMMEDIATE). Raises
:class:`~processing.server.problems.ApiError`: unknown_member, check_exists.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import tzinfo
from decimal import Decimal

from sqlite_utils import Database

from loyalty.program import Program
from loyalty.returns import calculate_return
from processing import wire
from processing.amounts import from_minor, to_minor
from processing.errors import ErrorCode
from processing.server import checks, ledger, members, pricing
from processing.server.auth import TillIdentity
from processing.server.members import MemberRow
from processing.server.problems import ApiError


def replay_offline(
    db: Database, program: Program, check: wire.OfflineCheck, now: int, caller: TillIdentity
) -> wire.CheckResult:
    """Apply a check made offline: earn recomputed here (on the calendar of the caller's store);
    the spend taken as far as the balance allows, any shortfall recorded as a conflict (never
    dropped)."""
    found = checks.load(db, check.check_id)
    if found is not None:
        if found[0] == "applied_offline" and found[5] is not None:
            return wire.CheckResult.model_validate_json(found[5])
        raise ApiError(ErrorCode.CHECK_EXISTS, "This check id was already used online.")
    if checks.held_by_claim(db, check.check_id):
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
    """
    lines = pricing.core_lines(db, wire_lines)
    wanted = to_minor(spent_offline)
    available = ledger.available(db, member.id, now)
    # Earn as the rules say for what the customer actually paid in money at the time.
    view = pricing.member_view(db, member, made_at, available=max(available, wanted))
    # Coupons: the member's own, unused, valid on the day of the check (used by it below).
    usable = pricing.usable_coupons(db, member.id, coupons, made_at, zone)
    calc = pricing.run(program, lines, view, spent_offline, usable, made_at, zone)
    not_kept = Decimal(0)
    refunded = 0
    if returned_before:
        gone = calculate_return(calc, returned_before)
        not_kept, refunded = gone.earn_taken_back, to_minor(gone.money_refund)
    allowed = max(0, min(wanted, available)) if member.state != "blocked" else 0
    shortfall = wanted - allowed
    if allowed:
        ledger.spend(db, member.id, allowed, now, check_id)
    earn = to_minor(calc.earn_total - not_kept) if member.state != "blocked" else 0
    frozen_until = checks.earn_lot(db, program, member.id, earn, now, check_id)
    conflict = None
    if shortfall:
        conflict = "offline_spend_shortfall"
        db.execute(
            "INSERT INTO conflicts (check_id, member_id, kind, details, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            [
                check_id,
                member.id,
                conflict,
                json.dumps(
                    {
                        "spent_offline": format(spent_offline, "f"),
                        "accepted": format(from_minor(allowed), "f"),
                        "shortfall": format(from_minor(shortfall), "f"),
                        "store": store_id,
                        "till": till_id,
                    }
                ),
                now,
            ],
        )
    db.execute(
        "UPDATE members SET lifetime_spend = lifetime_spend + ? WHERE id = ?",
        [to_minor(calc.total_amount) - wanted - refunded, member.id],
    )
    members.touch(db, member.id)
    pricing.use_coupons(db, calc.coupons, check_id)
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
