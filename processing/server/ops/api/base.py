"""What every operator route shares: the operator's key, the strict body and answer models,
refusals, the clock and the program in force, and the value types of paths and bodies."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi import Path as PathParam
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field

from loyalty.program import Program
from processing.amounts import from_minor
from processing.errors import ErrorCode
from processing.server.context import NoProgram, ServerContext, version_in_force
from processing.server.engine import Database
from processing.server.ops import programs
from processing.server.ops.operators import OperatorIdentity
from processing.server.problems import ApiError

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
"""The operator calling (the auth middleware resolved the key before the body was read)."""


class BodyModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AnswerModel(BaseModel):
    model_config = ConfigDict(frozen=True)


def refuse(
    message: str, code: ErrorCode = ErrorCode.INVALID_REQUEST, **details: object
) -> ApiError:
    return ApiError(code, message, dict(details))


def now(ctx: ServerContext) -> int:
    return ctx.now()


def in_force(db: Database, at: int) -> Program:
    try:
        today = datetime.fromtimestamp(at, UTC).date().isoformat()
        return programs.get(db, version_in_force(db, today)).program
    except (NoProgram, programs.VersionError):
        raise refuse("The database has no program; load one first.") from None


def as_points(minor: int) -> str:
    return format(from_minor(minor), "f")


def as_time(seconds: int | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(int(seconds), UTC)


Reason = Annotated[str, Field(min_length=1, max_length=500, pattern=r"\S")]

Name = Annotated[str, PathParam(min_length=1, max_length=64)]


class ReasonBody(BodyModel):
    reason: Reason
