"""Holds: the hold, and the sweep of expired holds, on the ledger (its calculation is
:mod:`~processing.server.hold_calculation`'s; a hold is closed by
:mod:`~processing.server.settle`: confirm or cancel).

Call every function inside one ``Storage.write()`` transaction (BEGIN IMMEDIATE): the balance a
hold checks cannot change before the hold is written (only the calculation's ``prepare_hold``
runs in a read transaction, before the lock). Holds past their expiry release themselves: they
stop counting at once (the balance derivation ignores them) and the sweep records the release
movement.

Rules follow the calendar of the caller's store (``zone``: :mod:`processing.server.zones`).

Raises :class:`~processing.server.problems.ApiError`: unknown_member, unknown_check,
member_blocked, spend_not_allowed, insufficient_points, stale_calculation, code_required,
code errors, check_already_closed, check_exists.
"""

from __future__ import annotations

from decimal import Decimal

from processing import wire
from processing.amounts import to_minor
from processing.errors import ErrorCode
from processing.server import checks, codes, ledger, pricing
from processing.server.auth import TillIdentity
from processing.server.catalog_cache import CatalogCache
from processing.server.engine import Database, skip_locked, then
from processing.server.hold_calculation import PreparedHold, ProgramOf, calculated
from processing.server.previews import Previews
from processing.server.problems import ApiError


def sweep_expired_holds(db: Database, now: int) -> int:
    """Mark holds past their expiry as expired and record their release; returns how many.
    On PostgreSQL a hold another node's transaction is sweeping right now is skipped (it
    releases it), rather than both sweeping it and one being rolled back."""
    rows = db.execute(
        "SELECT id, member_id, spend FROM checks WHERE status = 'held' AND hold_expires_at <= ?"
        + skip_locked(db),
        [now],
    ).fetchall()
    for check_id, member_id, spend in rows:
        db.execute(
            "UPDATE checks SET status = 'expired', closed_at = ? WHERE id = ?", [now, check_id]
        )
        pricing.give_back_coupons(db, str(check_id))  # the coupons it reserved
        if int(spend):
            ledger.record_release(
                db, str(member_id), int(spend), now, str(check_id), "hold expired"
            )
    return len(rows)


def hold(
    db: Database,
    program: ProgramOf,
    request: wire.HoldRequest,
    now: int,
    caller: TillIdentity,
    ttl: int,
    prepared: PreparedHold | None = None,
    previews: Previews | None = None,
    catalog: CatalogCache | None = None,
) -> str:
    """Reserve the check's spend until ``now + ttl``; the answer is ``wire.Hold`` as JSON.

    ``prepared`` (from ``hold_calculation.prepare_hold`` at this same ``now`` and the caller's zone,
    before the write lock) is used when what it read is unchanged inside this transaction;
    otherwise the calculation is done again here. Without ``prepared``, the calculation
    ``previews`` kept for the hold's fingerprint is used when it read what this transaction
    reads (:func:`~processing.server.hold_calculation.calculated`). ``program`` may be a
    function of the catalog epoch, called only when it is needed
    (:data:`~processing.server.hold_calculation.ProgramOf`). The rules follow the calendar of
    the caller's store (``caller.zone``).
    """
    # Expired holds already count for nothing (the balance ignores them; their coupons are
    # free): the sweep only records their release, in its own transaction where writes run
    # side by side (at most once a second per process: a second sweep at the same ``now``
    # finds nothing new), since its scan of the open holds would conflict with every hold.
    then(db, lambda d: sweep_expired_holds(d, now), stamp=("sweep", now))
    if checks.load(db, request.check_id) is not None:
        _replace_unsettled(db, request, now, caller)
    if checks.held_by_claim(db, request.check_id):
        raise ApiError(ErrorCode.CHECK_EXISTS, "This check id was already used.")
    member, answered, lines_json = calculated(
        db, program, request, now, caller.zone, prepared, previews, catalog
    )
    calc = answered.outcome  # the figures the hold decides on and stores
    spend = to_minor(calc.spend_applied)
    if calc.code_required and spend > 0:
        if request.spend_code_id is None or request.spend_code is None:
            raise ApiError(ErrorCode.CODE_REQUIRED, "This spend needs the customer's SMS code.")
        record = codes.check_code(db, request.spend_code_id, request.spend_code, "spend", now)
        if record.member_id != member.id or (record.points or 0) < spend:
            raise ApiError(ErrorCode.CODE_INVALID, "This code was sent for another spend.")
    # The coupons the calculation used are this check's from now on: another check's hold
    # no longer gets their promotions (its calculation was made before: stale).
    if calc.coupons and pricing.use_coupons(db, member.id, calc.coupons, request.check_id, now):
        raise ApiError(
            ErrorCode.STALE_CALCULATION,
            "A coupon of this check was used meanwhile; calculate it again.",
        )
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
            answered.record_json,
            calc.fingerprint,
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
    return _hold_answer(request.check_id, calc.spend_applied, expires, answered.answer_json)


def _hold_answer(check_id: str, held: Decimal, expires: int, calculation_json: str) -> str:
    """The hold's answer (``wire.Hold`` as JSON) around the calculation's answer text, which
    is not parsed or written out again (it is the largest part by far): the model writes
    every other field, and the calculation goes where the model would have put it, before
    ``message``, the field that follows it."""
    points = format(held, "f")
    envelope = wire.Hold.model_construct(
        check_id=check_id,
        hold_id=check_id,
        points_held=held,
        expires_at=checks.as_datetime(expires),
        calculation=None,  # type: ignore[arg-type]  # left out of the dump below
        message=wire.UserMessage(
            key="hold",
            params={"points": points},
            text=f"{points} points are reserved for this check.",
        ),
    ).model_dump_json(exclude={"calculation"})
    cut = envelope.index(',"message":')  # the first: no field before it holds that text
    return f'{envelope[:cut]},"calculation":{calculation_json}{envelope[cut:]}'


def _replace_unsettled(
    db: Database, request: wire.HoldRequest, now: int, caller: TillIdentity
) -> None:
    """Make way for a new hold of a check already held and never settled, or refuse it.

    The hold's answer may have been lost and the till calculated the check again (a new body,
    so a new Idempotency-Key): the same till's new hold for the same member replaces the old
    one, whose reservation is released here, in the same transaction as the new hold (a refused
    new hold rolls back and leaves the old one as it was). Another store's or till's check is
    ``unknown_check``; a check applied, cancelled or of another member is ``check_exists``."""
    checks.require_store(db, request.check_id, caller.store_id)
    row = db.execute(
        "SELECT status, member_id, till_id, spend FROM checks WHERE id = ?", [request.check_id]
    ).fetchone()
    status, member_id, till_id, spend = str(row[0]), str(row[1]), str(row[2]), int(row[3])
    if status not in ("held", "expired") or member_id != request.member_id:
        raise ApiError(ErrorCode.CHECK_EXISTS, "This check id was already used.")
    if till_id != caller.till_id:  # a hold is the till's that made it
        raise ApiError(ErrorCode.UNKNOWN_CHECK, checks.NOT_FOUND)
    if status == "held" and spend:
        ledger.record_release(db, member_id, spend, now, request.check_id, "replaced")
    pricing.give_back_coupons(db, request.check_id)  # the new hold takes what it uses
    db.execute("DELETE FROM checks WHERE id = ?", [request.check_id])
