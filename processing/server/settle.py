"""Closing a hold: :func:`confirm` settles it on the ledger, :func:`cancel` releases it.

Call each inside one ``Storage.write()`` transaction (BEGIN IMMEDIATE), as :mod:`holds`. The
settlement is the one the hold wrote (``_SETTLEMENT``): a confirm never calculates
the check again.

Raises :class:`~processing.server.problems.ApiError`: unknown_check, check_already_closed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from loyalty.program import Program
from processing import wire
from processing.amounts import from_minor, to_minor
from processing.errors import ErrorCode
from processing.server import checks, ledger, pricing, replay
from processing.server.auth import TillIdentity
from processing.server.engine import Database
from processing.server.holds import sweep_expired_holds
from processing.server.problems import ApiError
from processing.server.storage import next_seq

CONFIRM_SHORTFALL = "confirm_spend_shortfall"
"""The conflict of a confirm that could not take all the points its hold had reserved."""
COUPON_USED = "coupon_already_used"
"""The conflict of a confirm whose held coupon another check had used meanwhile."""


@dataclass(frozen=True, slots=True)
class Settlement:
    """What a confirm takes from the calculation a check was held with."""

    pay_in_money: int
    """Hundredths of money paid in money (raises the member's lifetime spend)."""
    coupons: tuple[str, ...]
    """Coupons the calculation used (marked used by this check)."""
    program_version: int
    """The program version the check was held with."""


_SETTLEMENT = (
    "json_extract(calculation, '$.pay_in_money'), json_extract(calculation, '$.coupons'),"
    " program_version"
)
"""A check row's settlement columns: the fields read out of the stored record, not the whole
record parsed (PostgreSQL spells them otherwise: :mod:`processing.server.pg`)."""


def _settlement(row: Sequence[object]) -> Settlement | None:
    """The settlement of ``_SETTLEMENT``'s columns, or None for a check without a hold's
    calculation (an offline one)."""
    if None in row:
        return None
    pay, coupons, version = row
    return Settlement(
        to_minor(Decimal(str(pay))), tuple(json.loads(str(coupons))), int(str(version))
    )


def confirm(
    db: Database,
    program: Program | Callable[[int], Program],
    check_id: str,
    now: int,
    *,
    caller: TillIdentity,
) -> wire.CheckResult:
    """Settle a held check: spend from lots, earn a new lot, raise lifetime spend.

    Only the till that held the check may confirm it (another gets ``unknown_check``). The
    receipt is printed once the hold answered, so a confirm always settles: after the hold
    expired, or after a return took points it had reserved, the spend is taken as far as the
    available balance allows and the rest is recorded as a ``confirm_spend_shortfall``
    conflict (in the answer and in ``conflicts``). A check already applied (confirmed, or
    settled by its offline replay) answers its stored result; a cancelled one
    ``check_already_closed``.

    ``program``: the program version the check was held with (its lot's activation and
    expiry), or a callable that loads a version, called only when needed. The answer's dates
    follow the caller's store's calendar."""
    row = db.execute(
        "SELECT status, member_id, spend, earn, hold_expires_at, result, store_id, till_id,"
        f" {_SETTLEMENT} FROM checks WHERE id = ?",
        [check_id],
    ).fetchone()
    # Another till's check gets the very answer an unknown one does: nothing to tell them apart.
    if row is None or str(row[6]) != caller.store_id or str(row[7]) != caller.till_id:
        raise ApiError(ErrorCode.UNKNOWN_CHECK, checks.NOT_FOUND)
    status, member_id, spend, earn = str(row[0]), str(row[1]), int(row[2]), int(row[3])
    expires_at, stored = row[4], row[5]
    if stored is not None:
        return wire.CheckResult.model_validate_json(str(stored))
    if status not in ("held", "expired"):
        raise ApiError(ErrorCode.CHECK_ALREADY_CLOSED, f"This check is already {status}.")
    settlement = _settlement(tuple(row[8:11]))
    if settlement is None:  # a held check always has its calculation: a damaged row
        raise RuntimeError(f"The held check {check_id} has no stored calculation.")
    if callable(program):
        program = program(settlement.program_version)
    late = status == "expired" or (expires_at is not None and int(expires_at) <= now)
    if status == "held":
        ledger.record_release(
            db, member_id, spend, now, check_id, "hold expired" if late else "confirmed"
        )
    # From here the check no longer reserves anything (its own hold does not count): what it
    # can spend is what is available.
    taken, available = ledger.spend_up_to(db, member_id, spend, now, check_id)
    shortfall = spend - taken
    frozen_until = checks.earn_lot(db, program, member_id, earn, now, check_id)
    balance = available - taken
    if frozen_until is not None and checks.lot_counts_at(program, frozen_until, now):
        balance += earn
    # Lifetime spend and the member-cache mark in one statement (members.touch's effect).
    db.execute(
        "UPDATE members SET lifetime_spend = lifetime_spend + ?, seq = ? WHERE id = ?",
        [settlement.pay_in_money, next_seq(db, "members"), member_id],
    )
    # The hold promised these coupons' promotions and the receipt shows them, so the check
    # settles as held; a coupon another check used first (two holds presenting one coupon at
    # once) is the operator's conflict, never a second use of it.
    taken_first = pricing.use_coupons(db, member_id, settlement.coupons, check_id, now)
    if taken_first:
        replay.record_conflict(
            db,
            check_id,
            member_id,
            COUPON_USED,
            {"coupons": ", ".join(taken_first), "store": caller.store_id, "till": caller.till_id},
            now,
        )
    conflict = None
    if shortfall:
        conflict = CONFIRM_SHORTFALL
        replay.record_conflict(
            db,
            check_id,
            member_id,
            conflict,
            {
                "held": format(from_minor(spend), "f"),
                "accepted": format(from_minor(taken), "f"),
                "shortfall": format(from_minor(shortfall), "f"),
                "reason": "hold_expired" if late else "balance",
                "store": caller.store_id,
                "till": caller.till_id,
            },
            now,
        )
    result = checks.check_result(
        db,
        check_id,
        member_id,
        "confirmed",
        earn,
        taken,
        now,
        frozen_until,
        conflict,
        shortfall,
        balance,
        zone=caller.zone,
    )
    db.execute(
        "UPDATE checks SET status = 'confirmed', closed_at = ?, spend = ?, result = ? WHERE id = ?",
        [now, taken, result.model_dump_json(), check_id],
    )
    return result


def cancel(db: Database, check_id: str, now: int, caller: TillIdentity) -> wire.CancelResult:
    """Release a hold. Cancelling twice is harmless; a confirmed check cannot be cancelled;
    only the till that held the check may cancel it (another gets ``unknown_check``). An
    expired hold is closed too (answered ``expired``): a later confirm of it is refused."""
    found = checks.load(db, check_id)
    if found is None:  # the very answer another till's check gets: nothing to tell them apart
        raise ApiError(ErrorCode.UNKNOWN_CHECK, checks.NOT_FOUND)
    checks.require_store(db, check_id, caller.store_id, caller.till_id)
    status, member_id, spend, _earn, expires_at, _ = found
    if status == "held" and expires_at is not None and int(expires_at) <= now:
        sweep_expired_holds(db, now)
        status = "expired"
    if status == "expired":
        db.execute(
            "UPDATE checks SET status = 'cancelled', closed_at = ? WHERE id = ?", [now, check_id]
        )
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
    pricing.give_back_coupons(db, check_id)
    if spend:
        ledger.record_release(db, member_id, spend, now, check_id, "cancelled")
    return wire.CancelResult(check_id=check_id, status="cancelled", released=from_minor(spend))
