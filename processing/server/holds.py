"""Holds: calculate, hold, and the sweep of expired holds, on the ledger (a hold is closed by
:mod:`~processing.server.settle`: confirm or cancel).

Call every function inside one ``Storage.write()`` transaction (BEGIN IMMEDIATE): the balance
a hold checks cannot change before the hold is written (:func:`prepare_hold` alone runs in a
read transaction, before the lock). Holds past their expiry release themselves: they stop
counting at once (the balance derivation ignores them) and the sweep records the release
movement.

Rules follow the calendar of the caller's store (``zone``: :mod:`processing.server.zones`).

Raises :class:`~processing.server.problems.ApiError`: unknown_member, unknown_check,
member_blocked, spend_not_allowed, insufficient_points, stale_calculation, code_required,
code errors, check_already_closed, check_exists.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal

from loyalty.check import Calculation
from loyalty.program import Program
from processing import wire
from processing.amounts import to_minor
from processing.errors import ErrorCode
from processing.server import checks, codes, ledger, members, pricing, zones
from processing.server.auth import TillIdentity
from processing.server.catalog_cache import CatalogCache, read_categories
from processing.server.engine import Database, skip_locked, then
from processing.server.previews import Answered, Preview, Previews
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


def calculate(
    db: Database, program: Program, request: wire.CheckRequest, now: int, zone: tzinfo = UTC
) -> Calculation:
    """The authoritative calculation of ``request`` at ``now`` on ``zone``'s calendar (the
    caller's store; no writes)."""
    member = members.require(db, request.member_id)
    if member.state == "blocked":
        raise ApiError(ErrorCode.MEMBER_BLOCKED, "This member is blocked.")
    lines = pricing.core_lines(db, request.lines)
    # A check held before (its answer lost) is calculated without its own hold: the new hold
    # replaces it (see :func:`hold`).
    view = pricing.member_view(db, member, now, check_id=request.check_id)
    coupons = pricing.usable_coupons(db, member.id, request.coupons, now, zone, request.check_id)
    return pricing.run(program, lines, view, request.requested_spend, coupons, now, zone)


_INPUTS = (
    "SELECT m.id, m.phone, m.name, m.birthday, m.email, m.state, m.lifetime_spend,"
    " COALESCE((SELECT value FROM counters WHERE name = 'catalog'),"
    "  -(SELECT MAX(version) FROM programs)),"
    " (SELECT COALESCE(SUM(remaining), 0) FROM lots WHERE member_id = m.id AND remaining != 0"
    "  AND active_from <= ?1 AND (expires_at IS NULL OR expires_at > ?1)),"
    " (SELECT COALESCE(SUM(spend), 0) FROM checks WHERE member_id = m.id AND status = 'held'"
    "  AND hold_expires_at > ?1 AND id != ?3),"
    " (SELECT group_concat(id, char(31)) FROM offers WHERE member_id = m.id)"
    " FROM members m WHERE m.id = ?2"
)
"""Everything a check's calculation reads besides the program and the catalog, in one query:
the member, the catalog's epoch (:mod:`catalog_cache`: it changes with any change to the
program or the catalog), active points, open holds (besides the check's own, which a new hold
replaces), personal offers. A database without the epoch counter gives minus the newest
program version instead (no caching then: see :func:`_epoch`)."""

HoldInputs = tuple[object, ...]


def _inputs(db: Database, member_id: str, now: int, check_id: str) -> HoldInputs | None:
    row = db.execute(_INPUTS, [now, member_id, check_id]).fetchone()
    return None if row is None else tuple(row)


@dataclass(frozen=True)
class PreparedHold:
    """A hold worked out before the write lock (in a read transaction): what it read, and the
    answer it leads to. :func:`hold` uses it only if what it read is still so."""

    now: int
    zone: tzinfo
    inputs: HoldInputs
    categories: dict[str, str]
    member: members.MemberRow
    answered: Answered
    refusal: ApiError | None
    lines_json: str


@dataclass(frozen=True, slots=True)
class _Worked:
    """A check's calculation from a read snapshot, with what it read."""

    inputs: HoldInputs
    categories: dict[str, str]
    member: members.MemberRow
    answered: Answered


@dataclass(frozen=True, slots=True)
class _Read:
    """What a check's calculation reads besides the program and the request."""

    inputs: HoldInputs
    member: members.MemberRow
    categories: dict[str, str]
    coupons: list[str]
    """The presented coupons usable now."""
    moment: datetime
    """``now`` on the store's calendar."""


def _epoch(inputs: HoldInputs) -> int | None:
    """The catalog epoch ``inputs`` were read under (None: the database has no counter)."""
    at = inputs[7]
    return at if isinstance(at, int) and at > 0 else None


def _read(
    db: Database,
    request: wire.CheckRequest,
    now: int,
    zone: tzinfo,
    catalog: CatalogCache | None,
) -> _Read | None:
    """What ``request``'s calculation at ``now`` reads, or None for an unknown or blocked
    member (the slow path says which); the categories through ``catalog`` when given."""
    inputs = _inputs(db, request.member_id, now, request.check_id)
    if inputs is None:
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
    keys = pricing.catalog_keys(request.lines)
    categories = (
        read_categories(db, keys)
        if catalog is None
        else catalog.categories(db, keys, _epoch(inputs))
    )
    coupons = pricing.usable_coupons(db, member.id, request.coupons, now, zone, request.check_id)
    return _Read(inputs, member, categories, coupons, zones.local_time(now, zone))


def _seen(
    previews: Previews,
    program: Program,
    request: wire.CheckRequest,
    fingerprint: str,
    lines_json: str,
    read: _Read,
    zone: tzinfo,
) -> Answered | None:
    """The calculation this process answered with ``fingerprint``, at ``read.moment``, when it
    read the very same (:mod:`processing.server.previews`): the same function of the same
    inputs, of which only the moment is this request's."""
    seen = previews.get(request.check_id, fingerprint)
    if (
        seen is None
        or seen.answered.outcome.program_version != program.version
        or not seen.same(
            request,
            lines_json,
            read.inputs,
            read.categories,
            read.coupons,
            read.moment.date(),
            zone,
        )
    ):
        return None
    return seen.answered.at(read.moment.isoformat())


def _work_out(
    db: Database,
    program: Program,
    request: wire.CheckRequest,
    lines_json: str,
    now: int,
    zone: tzinfo,
    previews: Previews | None,
    fingerprint: str | None,
    catalog: CatalogCache | None,
) -> _Worked | None:
    """``request``'s calculation at ``now`` on ``zone``'s calendar from a read snapshot, or
    None when it cannot be worked out here (unknown or blocked member, refused lines, another
    program version …: the caller's slow path says why). With ``fingerprint`` (a hold's), the
    calculation this process answered with it is reused when it read the very same inputs
    (:func:`_seen`). ``lines_json``: the request's lines as a check row stores them."""
    read = _read(db, request, now, zone, catalog)
    if read is None:  # ``program`` is read from this snapshot; a later load: _still_valid
        return None
    inputs, member, categories, coupons = read.inputs, read.member, read.categories, read.coupons
    if previews is not None and fingerprint is not None:
        seen = _seen(previews, program, request, fingerprint, lines_json, read, zone)
        if seen is not None:
            return _Worked(inputs, categories, member, seen)
    available = int(str(inputs[8])) - int(str(inputs[9]))
    offers = tuple(str(inputs[10]).split("\x1f")) if inputs[10] else ()
    try:
        lines = pricing.core_lines(db, request.lines, categories)
        view = pricing.view_of(member, available, offers)
        calc = pricing.run(program, lines, view, request.requested_spend, coupons, now, zone)
    except ApiError:
        return None
    answered = Answered.of(request.check_id, calc)
    if previews is not None:
        previews.add(
            Preview(
                request.check_id,
                request.member_id,
                lines_json,
                request.requested_spend,
                tuple(request.coupons),
                inputs,
                categories,
                tuple(coupons),
                read.moment.date(),
                zone,
                answered,
            )
        )
    return _Worked(inputs, categories, member, answered)


def preview(
    db: Database,
    program: Program,
    request: wire.CheckRequest,
    now: int,
    zone: tzinfo = UTC,
    previews: Previews | None = None,
    catalog: CatalogCache | None = None,
) -> str:
    """The calculate route's answer, as JSON text (no writes); kept in ``previews`` for the
    hold that follows. Raises as :func:`calculate`."""
    worked = _work_out(
        db, program, request, checks.lines_json(request.lines), now, zone, previews, None,
        catalog,
    )  # fmt: skip
    if worked is not None:
        return worked.answered.answer_json
    calc = calculate(db, program, request, now, zone)
    return pricing.answer_json(request.check_id, calc)[0]


def prepare_hold(
    db: Database,
    program: Program,
    request: wire.HoldRequest,
    now: int,
    zone: tzinfo = UTC,
    previews: Previews | None = None,
    catalog: CatalogCache | None = None,
) -> PreparedHold | None:
    """The hold's calculation at ``now`` on ``zone``'s calendar (the caller's store) from a
    read snapshot — the one ``previews`` kept for its fingerprint when it read the same
    inputs; None when it cannot be prepared
    (unknown member, refused lines, another program version …: :func:`hold` works it out)."""
    lines_json = checks.lines_json(request.lines)
    worked = _work_out(
        db, program, request, lines_json, now, zone, previews, request.fingerprint, catalog
    )
    if worked is None:
        return None
    refusal = None
    try:
        _decide(request, worked.member, worked.answered)
    except ApiError as error:
        refusal = error
    return PreparedHold(
        now, zone, worked.inputs, worked.categories, worked.member, worked.answered, refusal,
        lines_json,
    )  # fmt: skip


def _decide(request: wire.HoldRequest, member: members.MemberRow, answered: Answered) -> None:
    """The refusals that follow from the calculation alone (ApiError)."""
    outcome = answered.outcome
    if request.requested_spend > 0 and member.state != "active":
        raise ApiError(ErrorCode.SPEND_NOT_ALLOWED, "This member may earn but not spend points.")
    if (
        outcome.spend_applied < request.requested_spend
        and outcome.available_points < request.requested_spend
    ):
        raise ApiError(
            ErrorCode.INSUFFICIENT_POINTS,
            "The member does not have enough points for this spend.",
            {"available": format(outcome.available_points, "f")},
        )
    if outcome.fingerprint != request.fingerprint:
        calculation = json.loads(answered.answer_json)
        del calculation["detail"]  # the answer's fields as JSON, but the core's record
        raise ApiError(
            ErrorCode.STALE_CALCULATION,
            "The check changed since it was calculated; calculate it again.",
            {"calculation": calculation},
        )


def _still_valid(db: Database, request: wire.HoldRequest, prepared: PreparedHold) -> bool:
    """True when nothing the prepared calculation read has changed (call in the write). The
    same catalog epoch in the inputs means the same categories."""
    coupons = pricing.usable_coupons(
        db, request.member_id, request.coupons, prepared.now, prepared.zone, request.check_id
    )
    return (
        _inputs(db, request.member_id, prepared.now, request.check_id) == prepared.inputs
        and (
            _epoch(prepared.inputs) is not None
            or pricing.catalog_categories(db, request.lines) == prepared.categories
        )
        and tuple(coupons) == prepared.answered.outcome.coupons  # none used since
    )


def _calculated(
    db: Database,
    program: Program | Callable[[], Program],
    request: wire.HoldRequest,
    now: int,
    zone: tzinfo,
    prepared: PreparedHold | None,
    previews: Previews | None,
    catalog: CatalogCache | None,
) -> tuple[members.MemberRow, Answered, str]:
    """The hold's member, its calculation and its lines as stored (inside the write): the
    prepared calculation if what it read is unchanged; else the one ``previews`` kept for the
    hold's fingerprint if it read what this transaction reads; else one worked out here.
    Raises the refusals that follow from it (:func:`_decide`)."""
    if (
        prepared is not None
        and prepared.now == now
        and prepared.zone == zone
        and _still_valid(db, request, prepared)
    ):
        if prepared.refusal is not None:
            raise prepared.refusal
        return prepared.member, prepared.answered, prepared.lines_json
    if callable(program):
        program = program()
    lines_json = checks.lines_json(request.lines)
    read = None if previews is None else _read(db, request, now, zone, catalog)
    seen = None
    if previews is not None and read is not None:
        seen = _seen(previews, program, request, request.fingerprint, lines_json, read, zone)
    if read is not None and seen is not None:
        member, answered = read.member, seen
    else:
        member = members.require(db, request.member_id)
        if member.state == "blocked":
            raise ApiError(ErrorCode.MEMBER_BLOCKED, "This member is blocked.")
        lines = pricing.core_lines(db, request.lines)
        view = pricing.member_view(db, member, now, check_id=request.check_id)
        coupons = pricing.usable_coupons(
            db, member.id, request.coupons, now, zone, request.check_id
        )
        core = pricing.run(program, lines, view, request.requested_spend, coupons, now, zone)
        answered = Answered.of(request.check_id, core)
    _decide(request, member, answered)
    return member, answered, lines_json


def hold(
    db: Database,
    program: Program | Callable[[], Program],
    request: wire.HoldRequest,
    now: int,
    caller: TillIdentity,
    ttl: int,
    prepared: PreparedHold | None = None,
    previews: Previews | None = None,
    catalog: CatalogCache | None = None,
) -> str:
    """Reserve the check's spend until ``now + ttl``; the answer is ``wire.Hold`` as JSON.

    ``prepared`` (from :func:`prepare_hold` at this same ``now`` and the caller's zone, before
    the write lock) is used when what it read is unchanged inside this transaction; otherwise
    the calculation is done again here. Without ``prepared``, the calculation ``previews``
    kept for the hold's fingerprint is used when it read what this transaction reads
    (:func:`_seen`). ``program`` may be a callable, called only when it is needed. The rules
    follow the calendar of the caller's store (``caller.zone``).
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
    member, answered, lines_json = _calculated(
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
