"""Members: import a CSV, export them all, adjust points by hand, set a state."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import Field

from loyalty.phones import SUPPORTED_REGIONS
from processing.server.context import ServerContext
from processing.server.handling import Ctx
from processing.server.ops import adjust, csvfile, members_export, members_import
from processing.server.ops.api.base import (
    CSV,
    AnswerModel,
    BodyModel,
    Name,
    Operator,
    Reason,
    as_points,
    in_force,
    now,
    refuse,
)

router = APIRouter()


class Rejection(AnswerModel):
    line: int
    problem: str


class ImportResult(AnswerModel):
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
        raise refuse(f"region {region!r} is not one of RU, UA, KZ.")
    raw = await request.body()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise refuse("The file is not UTF-8 text; convert it (1C often writes cp1251).") from None
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
        raise refuse(str(exc).replace("--column", "column")) from None
    at = now(ctx)
    with ctx.storage.write() as db:
        if expires is not None:
            expires_at: int | None = int(
                datetime(expires.year, expires.month, expires.day, tzinfo=UTC).timestamp()
            )
            if expires_at is not None and expires_at <= at:
                raise refuse(f"expires {expires.isoformat()} is not in the future.")
        else:
            days = in_force(db, at).expiry_days
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
        points=as_points(result.points),
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
        members_export.export(db, out, now(ctx))
    return Response(out.getvalue(), media_type=CSV)


class AdjustBody(BodyModel):
    points: Annotated[Decimal, Field(max_digits=14, decimal_places=2)]
    """Points to credit (100) or debit (-50), at most two decimals, as a string."""
    kind: Literal["goodwill", "correction", "write_off"]
    reason: Reason
    region: Literal["RU", "UA", "KZ"] = "RU"
    """The region of a member given by phone."""


class Adjusted(AnswerModel):
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
    at = now(ctx)
    try:
        with ctx.storage.write() as db:
            member_id = adjust.find_member(db, member, body.region)
            done = adjust.adjust(
                db,
                in_force(db, at),
                member_id,
                body.points,
                body.kind,
                now=at,
                operator=who.name,
                reason=body.reason.strip(),
            )
    except adjust.AdjustError as exc:
        raise refuse(str(exc)) from None
    return Adjusted(
        member_id=done.member_id, points=as_points(done.points), available=as_points(done.available)
    )


class StateBody(BodyModel):
    state: Literal["active", "earn_only", "blocked"]
    reason: Reason
    region: Literal["RU", "UA", "KZ"] = "RU"


class StateChanged(AnswerModel):
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
                now=now(ctx),
                operator=who.name,
                reason=body.reason.strip(),
            )
    except adjust.AdjustError as exc:
        raise refuse(str(exc)) from None
    return StateChanged(member_id=member_id, before=before, state=body.state)
