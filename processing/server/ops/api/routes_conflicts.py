"""Conflicts found replaying offline checks: list them, resolve one."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi import Path as PathParam

from processing.server.handling import Ctx
from processing.server.ops import conflicts
from processing.server.ops.api.base import (
    AnswerModel,
    Operator,
    ReasonBody,
    as_points,
    as_time,
    now,
    refuse,
)

router = APIRouter()


class ConflictAnswer(AnswerModel):
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
            resolved_at=as_time(c.resolved_at),
            resolved_by=c.resolved_by,
        )
        for c in rows
    ]


class ResolveBody(ReasonBody):
    debit: bool = False
    """Take the shortfall from the member's available points now (as far as they go)."""


class Resolved(AnswerModel):
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
                now=now(ctx),
                operator=who.name,
                reason=body.reason.strip(),
            )
    except conflicts.ConflictError as exc:
        raise refuse(str(exc)) from None
    return Resolved(id=conflict_id, resolved_by=who.name, debited=as_points(debited))
