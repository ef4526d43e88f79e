"""The periodic jobs: expiry, stale holds, expiry notices, run now."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body
from pydantic import Field

from processing.server.handling import Ctx
from processing.server.ops import jobs
from processing.server.ops.api.base import AnswerModel, BodyModel, Operator, as_points, now

router = APIRouter()


class JobsBody(BodyModel):
    notify_days: Annotated[int, Field(ge=0, le=365)] = 7


class JobsAnswer(AnswerModel):
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
    result = jobs.run(ctx.storage, now(ctx), ctx.sms, days)
    return JobsAnswer(
        lots_burnt=result.lots_burnt,
        points_burnt=as_points(result.points_burnt),
        members=result.members,
        holds_released=result.holds_released,
        notices=result.notices,
    )
