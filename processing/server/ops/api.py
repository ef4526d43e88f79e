"""The operator API under ``/v1/operator``: the operator's commands over HTTP.

Every route needs an operator key (:mod:`processing.server.ops.operators`), checked by the
auth middleware before the body is read; the operator's name on the key is the name kept with
every change, as ``--operator`` is on the command line. Each route calls the same functions
as its command, so the rules and the sentences are the commands' own. Handlers are plain
``def``: FastAPI runs them on its worker threads, so a large import never stalls the tills'
requests on the event loop.
"""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field

from loyalty.phones import SUPPORTED_REGIONS
from loyalty.program import Program
from processing import wire
from processing.amounts import from_minor
from processing.errors import ErrorCode
from processing.server.context import NoProgram, ServerContext, version_in_force
from processing.server.engine import Database
from processing.server.handling import Ctx
from processing.server.ops import (
    adjust,
    audit,
    conflicts,
    coupons,
    csvfile,
    jobs,
    members_export,
    members_import,
    program_file,
    programs,
    reports,
    tills,
)
from processing.server.ops.common import earliest_today
from processing.server.ops.operators import OperatorIdentity
from processing.server.problems import ApiError

PREFIX = "/operator"
"""Under ``wire.API_PREFIX``: the operator API's paths start ``/v1/operator/``."""

CSV = "text/csv; charset=utf-8"

operator_scheme = HTTPBearer(
    auto_error=False, scheme_name="OperatorKey", description="An operator's key (tillop_…)."
)


def _operator(
    request: Request,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(operator_scheme)],
) -> OperatorIdentity:
    identity: OperatorIdentity = request.state.operator
    return identity


Operator = Annotated[OperatorIdentity, Depends(_operator)]

ERRORS: dict[int | str, dict[str, object]] = {
    status: {"model": wire.ErrorBody} for status in (401, 404, 409, 413, 422)
}
router = APIRouter(prefix=PREFIX, tags=["operator"], responses=ERRORS)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Answer(BaseModel):
    model_config = ConfigDict(frozen=True)


def _refuse(
    message: str, code: ErrorCode = ErrorCode.INVALID_REQUEST, **details: object
) -> ApiError:
    return ApiError(code, message, dict(details))


def _now(ctx: ServerContext) -> int:
    return ctx.now()


def _in_force(db: Database, at: int) -> Program:
    try:
        today = datetime.fromtimestamp(at, UTC).date().isoformat()
        return programs.get(db, version_in_force(db, today)).program
    except (NoProgram, programs.VersionError):
        raise _refuse("The database has no program; load one first.") from None


def _points(minor: int) -> str:
    return format(from_minor(minor), "f")


# --- the program -------------------------------------------------------------------------

Reason = Annotated[str, Field(min_length=1, max_length=500, pattern=r"\S")]


class ProgramText(_Body):
    toml: Annotated[str, Field(max_length=1_000_000)]


class ProgramLoad(ProgramText):
    effective_from: date | None = None
    """The first local date of the new version in each store's calendar; default: today."""


class ProgramCheckResult(_Answer):
    valid: bool
    problems: list[str]


class ProgramVersion(_Answer):
    version: int
    effective_from: str | None
    created_at: datetime
    toml: str


@router.post("/program/check", response_model=ProgramCheckResult)
def program_check(body: ProgramText, _who: Operator) -> ProgramCheckResult:
    """Check a program file: every problem with its TOML key (as ``program check``)."""
    try:
        program_file.parse(body.toml)
    except program_file.ProgramFileError as exc:
        return ProgramCheckResult(valid=False, problems=list(exc.problems))
    return ProgramCheckResult(valid=True, problems=[])


def _version_answer(version: programs.Version) -> ProgramVersion:
    return ProgramVersion(
        version=version.version,
        effective_from=version.effective_from,
        created_at=datetime.fromtimestamp(version.created_at, UTC),
        toml=program_file.dump(version.program),
    )


@router.post("/program/load", response_model=ProgramVersion)
def program_load(body: ProgramLoad, ctx: Ctx, _who: Operator) -> ProgramVersion:
    """Install a program file as a new version from a local date (as ``program load``);
    a bad file is 422 ``invalid_request`` with ``details.problems``."""
    at = _now(ctx)
    try:
        with ctx.storage.write() as db:
            today = earliest_today(db, at)
            loaded = programs.load(db, body.toml, body.effective_from or today, today, at)
    except program_file.ProgramFileError as exc:
        raise _refuse("The program file has problems.", problems=list(exc.problems)) from None
    except programs.VersionError as exc:
        raise _refuse(str(exc)) from None
    return _version_answer(loaded)


@router.get("/program", response_model=ProgramVersion)
def program_show(
    ctx: Ctx, _who: Operator, version: Annotated[int | None, Query(ge=1)] = None
) -> ProgramVersion:
    """A version (default: the newest) as a program file that loads back unchanged."""
    try:
        with ctx.storage.read() as db:
            found = programs.get(db, version)
    except programs.VersionError as exc:
        raise _refuse(str(exc), ErrorCode.NOT_FOUND) from None
    return _version_answer(found)


# --- members -----------------------------------------------------------------------------


class Rejection(_Answer):
    line: int
    problem: str


class ImportResult(_Answer):
    rows: int
    added: int
    unchanged: int
    points: str
    rejected: list[Rejection]


@router.post(
    "/members/import",
    response_model=ImportResult,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"text/csv": {"schema": {"type": "string"}}},
        }
    },
)
async def members_import_route(
    request: Request,
    ctx: Ctx,
    who: Operator,
    region: Annotated[str, Query(pattern=r"^[A-Za-z]{2}$")] = "RU",
    expires: date | None = None,
    store: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    column: Annotated[list[str] | None, Query(max_length=20)] = None,
    source: Annotated[str, Query(min_length=1, max_length=200)] = "operator-api.csv",
) -> Response:
    """Add the members of the CSV body (as ``members import``): rows whose phone is already a
    member's are left as they are; each rejected row is named by its line, nothing of it
    written. ``column`` maps a field to the file's header (``phone=Телефон``)."""
    if region.upper() not in SUPPORTED_REGIONS:
        raise _refuse(f"region {region!r} is not one of RU, UA, KZ.")
    raw = await request.body()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _refuse("The file is not UTF-8 text; convert it (1C often writes cp1251).") from None
    from starlette.concurrency import run_in_threadpool

    result = await run_in_threadpool(
        _import, ctx, text, region.upper(), expires, store, column or [], source, who.name
    )
    return Response(result.model_dump_json(), media_type="application/json")


def _import(
    ctx: ServerContext,
    text: str,
    region: str,
    expires: date | None,
    store: str | None,
    columns: list[str],
    source: str,
    operator: str,
) -> ImportResult:
    try:
        mapping = csvfile.column_map(members_import.FIELDS, columns)
        rows = csvfile.rows_of_text(text, mapping, members_import.REQUIRED, source)
    except csvfile.CsvError as exc:
        raise _refuse(str(exc).replace("--column", "column")) from None
    at = _now(ctx)
    with ctx.storage.write() as db:
        if expires is not None:
            expires_at: int | None = int(
                datetime(expires.year, expires.month, expires.day, tzinfo=UTC).timestamp()
            )
            if expires_at is not None and expires_at <= at:
                raise _refuse(f"expires {expires.isoformat()} is not in the future.")
        else:
            days = _in_force(db, at).expiry_days
            expires_at = None if days is None else at + int(timedelta(days=days).total_seconds())
        result = members_import.import_members(
            db,
            rows,
            region=region,
            now=at,
            expires_at=expires_at,
            home_store=store,
            operator=operator,
            source=source,
        )
    return ImportResult(
        rows=result.rows,
        added=result.added,
        unchanged=result.unchanged,
        points=_points(result.points),
        rejected=[Rejection(line=r.line, problem=r.problem) for r in result.rejected],
    )


@router.get(
    "/members/export",
    response_class=Response,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
def members_export_route(ctx: Ctx, _who: Operator) -> Response:
    """Every member as CSV (the columns import reads, plus id and frozen)."""
    out = io.StringIO()
    with ctx.storage.read() as db:
        members_export.export(db, out, _now(ctx))
    return Response(out.getvalue(), media_type=CSV)


Name = Annotated[str, PathParam(min_length=1, max_length=64)]


class AdjustBody(_Body):
    points: Annotated[Decimal, Field(max_digits=14, decimal_places=2)]
    """Points to credit (100) or debit (-50), at most two decimals, as a string."""
    kind: Literal["goodwill", "correction", "write_off"]
    reason: Reason
    region: Literal["RU", "UA", "KZ"] = "RU"
    """The region of a member given by phone."""


class Adjusted(_Answer):
    member_id: str
    points: str
    available: str


@router.post("/members/{member}/adjust", response_model=Adjusted)
def member_adjust(
    member: Name,
    body: AdjustBody,
    ctx: Ctx,
    who: Operator,
) -> Adjusted:
    """Credit or debit a member's points by hand (MEMBER: id, card or phone), in the ledger and
    the operator log with the reason and the operator's name (as ``members adjust``)."""
    at = _now(ctx)
    try:
        with ctx.storage.write() as db:
            member_id = adjust.find_member(db, member, body.region)
            done = adjust.adjust(
                db,
                _in_force(db, at),
                member_id,
                body.points,
                body.kind,
                now=at,
                operator=who.name,
                reason=body.reason.strip(),
            )
    except adjust.AdjustError as exc:
        raise _refuse(str(exc)) from None
    return Adjusted(
        member_id=done.member_id, points=_points(done.points), available=_points(done.available)
    )


class StateBody(_Body):
    state: Literal["active", "earn_only", "blocked"]
    reason: Reason
    region: Literal["RU", "UA", "KZ"] = "RU"


class StateChanged(_Answer):
    member_id: str
    before: str
    state: str


@router.post("/members/{member}/state", response_model=StateChanged)
def member_state(
    member: Name,
    body: StateBody,
    ctx: Ctx,
    who: Operator,
) -> StateChanged:
    """Set a member's state with the reason (as ``members state``)."""
    try:
        with ctx.storage.write() as db:
            member_id = adjust.find_member(db, member, body.region)
            before = adjust.set_state(
                db,
                member_id,
                body.state,
                now=_now(ctx),
                operator=who.name,
                reason=body.reason.strip(),
            )
    except adjust.AdjustError as exc:
        raise _refuse(str(exc)) from None
    return StateChanged(member_id=member_id, before=before, state=body.state)


# --- stores and tills --------------------------------------------------------------------


def _at(seconds: int | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(int(seconds), UTC)


class StoreAnswer(_Answer):
    store_id: str
    timezone: str | None
    active_tills: int
    revoked_keys: int
    last_check_at: datetime | None


class TillAnswer(_Answer):
    store_id: str
    till_id: str
    active: bool
    created_at: datetime
    revoked_at: datetime | None
    last_check_at: datetime | None


@router.get("/stores", response_model=list[StoreAnswer])
def stores_list(ctx: Ctx, _who: Operator) -> list[StoreAnswer]:
    """Each store: timezone, tills with a key, revoked keys, its last check."""
    with ctx.storage.read() as db:
        rows = tills.stores(db)
    return [
        StoreAnswer(
            store_id=r.store_id,
            timezone=r.timezone,
            active_tills=r.active_tills,
            revoked_keys=r.revoked_keys,
            last_check_at=_at(r.last_check_at),
        )
        for r in rows
    ]


@router.get("/tills", response_model=list[TillAnswer])
def tills_list(
    ctx: Ctx,
    _who: Operator,
    store: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
) -> list[TillAnswer]:
    """Each till: its key's state, when issued or revoked, its last check."""
    with ctx.storage.read() as db:
        rows = tills.tills(db, store)
    return [
        TillAnswer(
            store_id=r.store_id,
            till_id=r.till_id,
            active=r.active,
            created_at=datetime.fromtimestamp(r.created_at, UTC),
            revoked_at=_at(r.revoked_at),
            last_check_at=_at(r.last_check_at),
        )
        for r in rows
    ]


class ReasonBody(_Body):
    reason: Reason


class NewKey(_Answer):
    store_id: str
    till_id: str
    api_key: str


@router.post("/tills/{store}/{till}/revoke", status_code=204, response_class=Response)
def till_revoke(store: Name, till: Name, body: ReasonBody, ctx: Ctx, who: Operator) -> Response:
    """Revoke a till's key: every server process refuses it (401) from its next request."""
    try:
        with ctx.storage.write() as db:
            tills.revoke(db, store, till, _now(ctx), who.name, body.reason.strip())
    except tills.TillError as exc:
        raise _refuse(str(exc), ErrorCode.NOT_FOUND) from None
    return Response(status_code=204)


@router.post("/tills/{store}/{till}/rotate-key", response_model=NewKey)
def till_rotate_key(store: Name, till: Name, body: ReasonBody, ctx: Ctx, who: Operator) -> NewKey:
    """A new key for a known till (shown once in this answer); its old key is refused."""
    try:
        with ctx.storage.write() as db:
            key = tills.rotate_key(db, store, till, _now(ctx), who.name, body.reason.strip())
    except tills.TillError as exc:
        raise _refuse(str(exc), ErrorCode.NOT_FOUND) from None
    return NewKey(store_id=store, till_id=till, api_key=key)


# --- coupons -----------------------------------------------------------------------------


class CouponIssue(_Body):
    """One member, or a segment (all conditions given must hold), as ``coupons issue``."""

    promo_id: str = Field(min_length=1, max_length=64)
    member_id: str | None = Field(default=None, min_length=1, max_length=64)
    tier: str | None = Field(default=None, max_length=64)
    birthday: bool = False
    phones: list[str] | None = Field(default=None, max_length=1_000_000)
    """Phones of the segment (one each), normalised with ``region``."""
    not_bought_days: int | None = Field(default=None, ge=1, le=3650)
    region: Literal["RU", "UA", "KZ"] = "RU"
    code: str | None = Field(default=None, max_length=64)
    """One shared code for all (with ``limit``); none: a unique code each."""
    limit: int | None = Field(default=None, ge=1, le=10_000_000)
    valid_from: date | None = None
    valid_to: date
    reason: Reason


class CouponIssued(_Answer):
    members: int
    already: int
    rejected_phones: list[str]


class CouponAnswer(_Answer):
    code: str
    title: str
    valid_from: date | None
    valid_to: date | None
    holders: int
    used: int
    limit: int | None
    cancelled: bool


class CouponCancelled(_Answer):
    code: str
    cancelled: int


@router.post("/coupons/issue", response_model=CouponIssued)
def coupon_issue(body: CouponIssue, ctx: Ctx, who: Operator) -> CouponIssued:
    """Issue the coupon of a promotion asking for one (as ``coupons issue``); phones that are
    not phones are named in ``rejected_phones`` and left out."""
    from processing.server.ops.offers import Segment, read_phones

    phones = None if body.phones is None else read_phones("\n".join(body.phones), body.region)
    segment = Segment(
        tier=body.tier,
        birthday=body.birthday,
        phones=None if phones is None else tuple(phones.phones),
        not_bought_days=body.not_bought_days,
    )
    if body.member_id is not None and not segment.empty():
        raise _refuse("Give either member_id or a segment, not both.")
    at = _now(ctx)
    try:
        with ctx.storage.write() as db:
            start = body.valid_from or earliest_today(db, at)
            done = coupons.issue(
                db, _in_force(db, at), body.promo_id.strip(), member_id=body.member_id,
                segment=segment, shared=body.code, limit=body.limit, start=start,
                end=body.valid_to, now=at, operator=who.name, reason=body.reason.strip(),
            )  # fmt: skip
    except coupons.CouponError as exc:
        raise _refuse(str(exc)) from None
    rejected = [] if phones is None else [f"{r.line}: {r.problem}" for r in phones.rejected]
    return CouponIssued(members=done.members, already=done.already, rejected_phones=rejected)


@router.get("/coupons", response_model=list[CouponAnswer])
def coupons_list(
    ctx: Ctx, _who: Operator, everything: Annotated[bool, Query(alias="all")] = False
) -> list[CouponAnswer]:
    """Each code: dates, holders, uses, cancelled (as ``coupons list``)."""
    with ctx.storage.read() as db:
        rows = coupons.listed(db, None if everything else earliest_today(db, _now(ctx)))
    return [
        CouponAnswer(
            code=r.code,
            title=r.title,
            valid_from=None if r.valid_from is None else date.fromisoformat(r.valid_from),
            valid_to=None if r.valid_to is None else date.fromisoformat(r.valid_to),
            holders=r.holders,
            used=r.used,
            limit=r.limit,
            cancelled=r.cancelled,
        )
        for r in rows
    ]


@router.post("/coupons/{code}/cancel", response_model=CouponCancelled)
def coupon_cancel(code: Name, body: ReasonBody, ctx: Ctx, who: Operator) -> CouponCancelled:
    """Cancel a code for all its holders now (as ``coupons cancel``)."""
    try:
        with ctx.storage.write() as db:
            count = coupons.cancel(
                db, code, now=_now(ctx), operator=who.name, reason=body.reason.strip()
            )
    except coupons.CouponError as exc:
        raise _refuse(str(exc), ErrorCode.NOT_FOUND) from None
    return CouponCancelled(code=code.strip().upper(), cancelled=count)


# --- books -------------------------------------------------------------------------------


class AuditAnswer(_Answer):
    sound: bool
    breaks: list[str]
    members: int
    lots: int
    movements: int
    checks: int


@router.get("/audit", response_model=AuditAnswer)
def audit_route(ctx: Ctx, _who: Operator) -> AuditAnswer:
    """The ledger's invariants over the whole database; every break one line."""
    with ctx.storage.read() as db:
        result = audit.run(db)
    return AuditAnswer(
        sound=not result.breaks,
        breaks=result.breaks,
        members=result.members,
        lots=result.lots,
        movements=result.movements,
        checks=result.checks,
    )


def _midnight(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


_CSV_ANSWER: dict[int | str, dict[str, object]] = {
    200: {"content": {"text/csv": {"schema": {"type": "string"}}}}
}


@router.get("/reports/liability", response_class=Response, responses=_CSV_ANSWER)
def report_liability(ctx: Ctx, _who: Operator, at: date | None = None) -> Response:
    """Points outstanding per store at the end of day ``at`` (UTC; default: now), CSV."""
    moment = _now(ctx) if at is None else _midnight(at + timedelta(days=1))
    out = io.StringIO()
    with ctx.storage.read() as db:
        currency = _in_force(db, moment).currency
        reports.liability(db, moment, currency, out)
    return Response(out.getvalue(), media_type=CSV)


@router.get("/reports/movements", response_class=Response, responses=_CSV_ANSWER)
def report_movements(
    ctx: Ctx,
    _who: Operator,
    start: Annotated[date, Query(alias="from")],
    end: Annotated[date, Query(alias="to")],
    with_holds: bool = False,
) -> Response:
    """Every points movement of the days ``from`` to ``to`` (included, UTC), CSV."""
    if end < start:
        raise _refuse("to is before from.")
    out = io.StringIO()
    with ctx.storage.read() as db:
        reports.write_movements(
            db, _midnight(start), _midnight(end + timedelta(days=1)), with_holds, out
        )
    return Response(out.getvalue(), media_type=CSV)


class ConflictAnswer(_Answer):
    id: int
    created_at: datetime
    check_id: str
    member_id: str
    kind: str
    details: dict[str, str]
    resolved_at: datetime | None
    resolved_by: str | None


@router.get("/conflicts", response_model=list[ConflictAnswer])
def conflicts_list(
    ctx: Ctx, _who: Operator, include_resolved: Annotated[bool, Query(alias="all")] = False
) -> list[ConflictAnswer]:
    """Open conflicts (with ``all=true``, resolved ones too), oldest first."""
    with ctx.storage.read() as db:
        rows = conflicts.listed(db, include_resolved=include_resolved)
    return [
        ConflictAnswer(
            id=c.id,
            created_at=datetime.fromtimestamp(c.created_at, UTC),
            check_id=c.check_id,
            member_id=c.member_id,
            kind=c.kind,
            details=c.details,
            resolved_at=_at(c.resolved_at),
            resolved_by=c.resolved_by,
        )
        for c in rows
    ]


class ResolveBody(ReasonBody):
    debit: bool = False
    """Take the shortfall from the member's available points now (as far as they go)."""


class Resolved(_Answer):
    id: int
    resolved_by: str
    debited: str


@router.post("/conflicts/{conflict_id}/resolve", response_model=Resolved)
def conflict_resolve(
    conflict_id: Annotated[int, PathParam(ge=1, le=2**62)],
    body: ResolveBody,
    ctx: Ctx,
    who: Operator,
) -> Resolved:
    """Resolve a conflict, recording who and why; an unknown or resolved one is 409."""
    try:
        with ctx.storage.write() as db:
            _conflict, debited = conflicts.resolve(
                db,
                conflict_id,
                debit=body.debit,
                now=_now(ctx),
                operator=who.name,
                reason=body.reason.strip(),
            )
    except conflicts.ConflictError as exc:
        raise _refuse(str(exc)) from None
    return Resolved(id=conflict_id, resolved_by=who.name, debited=_points(debited))


class JobsBody(_Body):
    notify_days: Annotated[int, Field(ge=0, le=365)] = 7


class JobsAnswer(_Answer):
    lots_burnt: int
    points_burnt: str
    members: int
    holds_released: int
    notices: int


@router.post("/jobs/run", response_model=JobsAnswer)
def jobs_run(
    ctx: Ctx, _who: Operator, body: Annotated[JobsBody | None, Body()] = None
) -> JobsAnswer:
    """Burn expired lots, release stale holds, send expiry notices through the server's own
    SMS gateway (as ``jobs run``; safe twice at once)."""
    days = (body or JobsBody()).notify_days
    result = jobs.run(ctx.storage, _now(ctx), ctx.sms, days)
    return JobsAnswer(
        lots_burnt=result.lots_burnt,
        points_burnt=_points(result.points_burnt),
        members=result.members,
        holds_released=result.holds_released,
        notices=result.notices,
    )
