"""A check's calculation for a preview or a hold: worked out from a read snapshot, and reused
while what it read is unchanged.

A preview (the calculate route) and a hold read the same inputs (:data:`_INPUTS`, the catalog's
categories, the usable coupons) and run the same core. The preview's answer is kept
(:mod:`~processing.server.previews`); a hold with its fingerprint is handed it when it reads
the very same inputs, and a hold prepared on a read snapshot (:func:`prepare_hold`) is used
inside the write when nothing it read has changed since (:func:`calculated`). Anything that
differs, and the calculation is done again.

Rules follow the calendar of the caller's store (``zone``: :mod:`processing.server.zones`).
Raises :class:`~processing.server.problems.ApiError` as :mod:`~processing.server.holds` says.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

from loyalty.check import Calculation
from loyalty.program import Program
from processing import wire
from processing.errors import ErrorCode
from processing.server import checks, members, pricing, zones
from processing.server.catalog_cache import CatalogCache, read_categories
from processing.server.engine import Database
from processing.server.previews import Answered, Preview, Previews
from processing.server.problems import ApiError


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

ProgramOf = Program | Callable[[int | None], Program]
"""The program, or how to get it from the catalog epoch read with the calculation's inputs
(None: not read): looked up under that epoch, the program costs no read of its own."""


def _program(program: ProgramOf, inputs: HoldInputs | None) -> Program:
    if not callable(program):
        return program
    return program(None if inputs is None else _epoch(inputs))


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
    member = members.row_of(inputs)
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
    program: ProgramOf,
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
    program = _program(program, inputs)
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
    program: ProgramOf,
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
    calc = calculate(db, _program(program, None), request, now, zone)
    return pricing.answer_json(request.check_id, calc)[0]


def prepare_hold(
    db: Database,
    program: ProgramOf,
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


def calculated(
    db: Database,
    program: ProgramOf,
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
    lines_json = checks.lines_json(request.lines)
    read = None if previews is None else _read(db, request, now, zone, catalog)
    program = _program(program, None if read is None else read.inputs)
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
