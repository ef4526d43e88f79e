"""The program: check a program file, load it as a new version, show a version."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import Field

from processing.errors import ErrorCode
from processing.server.handling import Ctx
from processing.server.ops import program_file, programs
from processing.server.ops.api.base import AnswerModel, BodyModel, Operator, now, refuse
from processing.server.ops.common import earliest_today

router = APIRouter()


class ProgramText(BodyModel):
    toml: Annotated[str, Field(max_length=1_000_000)]


class ProgramLoad(ProgramText):
    effective_from: date | None = None
    """The first local date of the new version in each store's calendar; default: today."""


class ProgramCheckResult(AnswerModel):
    valid: bool
    problems: list[str]


class ProgramVersion(AnswerModel):
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
    at = now(ctx)
    try:
        with ctx.storage.write() as db:
            today = earliest_today(db, at)
            loaded = programs.load(db, body.toml, body.effective_from or today, today, at)
    except program_file.ProgramFileError as exc:
        raise refuse("The program file has problems.", problems=list(exc.problems)) from None
    except programs.VersionError as exc:
        raise refuse(str(exc)) from None
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
        raise refuse(str(exc), ErrorCode.NOT_FOUND) from None
    return _version_answer(found)
