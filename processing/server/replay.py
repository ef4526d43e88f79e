"""Offline replay: a check made while the till was offline, applied on the ledger afterwards.

Call inside one ``Storage.write()`` transaction (BEGIN IMMEDIATE). Raises
:class:`~processing.server.problems.ApiError`: unknown_member, check_exists.
"""

from __future__ import annotations

import json

from sqlite_utils import Database

from loyalty.program import Program
from processing import wire
from processing.amounts import from_minor, to_minor
from processing.errors import ErrorCode
from processing.server import checks, ledger, members, pricing
from processing.server.auth import TillIdentity
from processing.server.problems import ApiError


def replay_offline(
    db: Database, program: Program, check: wire.OfflineCheck, now: int, caller: TillIdentity
) -> wire.CheckResult:
    """Apply a check made offline: earn recomputed here; the spend taken as far as the balance
    allows, any shortfall recorded as a conflict (never dropped)."""
    found = checks.load(db, check.check_id)
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
    frozen_until = checks.earn_lot(db, program, member.id, earn, now, check.check_id)
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
    result = checks.check_result(
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
