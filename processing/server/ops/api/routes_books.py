"""The books: the ledger's audit and the CSV reports."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from processing.server.handling import Ctx
from processing.server.ops import audit, reports
from processing.server.ops.api.base import CSV, AnswerModel, Operator, in_force, now, refuse

router = APIRouter()


class AuditAnswer(AnswerModel):
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
    moment = now(ctx) if at is None else _midnight(at + timedelta(days=1))
    out = io.StringIO()
    with ctx.storage.read() as db:
        currency = in_force(db, moment).currency
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
        raise refuse("to is before from.")
    out = io.StringIO()
    with ctx.storage.read() as db:
        reports.write_movements(
            db, _midnight(start), _midnight(end + timedelta(days=1)), with_holds, out
        )
    return Response(out.getvalue(), media_type=CSV)
