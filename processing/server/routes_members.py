"""Routes: health, identify, registration, spend codes, program snapshot, cache deltas."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from loyalty.phones import mask_phone
from processing import wire
from processing.amounts import to_minor
from processing.errors import ErrorCode
from processing.server import codes, members, snapshots
from processing.server.engine import Database
from processing.server.handling import (
    JSON,
    Ctx,
    IdempotencyKey,
    Till,
    idempotent_write,
    json_response,
)
from processing.server.problems import ApiError

ERRORS: dict[int | str, dict[str, object]] = {
    status: {"model": wire.ErrorBody} for status in (400, 401, 404, 409, 413, 422, 429)
}

router = APIRouter(responses=ERRORS)
public = APIRouter()

Cursor = Annotated[str, Query(max_length=20, pattern=r"^\d*$")]
Limit = Annotated[int, Query(ge=1, le=5000)]


def _at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


@public.get("/health", response_model=wire.Health, tags=["service"])
async def health(ctx: Ctx) -> Response:
    """Liveness, the database's state and the current program version; needs no key. A
    database that cannot be read (or has a schema this server does not know) is a 503 with
    one sentence, so a load balancer takes this node out of rotation."""
    state = await asyncio.get_running_loop().run_in_executor(None, ctx.storage.health)
    if state != "ok":
        body = {"code": str(ErrorCode.INTERNAL), "message": state, "details": {}}
        return Response(json.dumps(body), status_code=503, media_type=JSON)
    row = await ctx.storage.reading(
        lambda db: db.execute("SELECT MAX(version) FROM programs").fetchone()
    )
    version = None if row[0] is None else int(row[0])
    return json_response(
        wire.Health(
            status="ok",
            version="1",
            program_version=version,
            time=ctx.clock(),
            engine=ctx.storage.engine,
        )
    )


@router.post("/identify", response_model=wire.IdentifyResult, tags=["members"])
async def identify(body: wire.IdentifyRequest, ctx: Ctx, caller: Till) -> Response:
    """Find a member by phone, QR token or card; balance, tier, offers and coupons."""

    def read(db: Database) -> wire.IdentifyResult:
        program = ctx.program_at(db, ctx.now(), caller.zone)
        member, how = members.find(db, body, program, ctx.clock())
        return members.identify_result(
            db,
            member,
            program,
            ctx.now(),
            identified_by=how,
            entry=body.entry,
            expiring_within_days=body.expiring_within_days,
            zone=caller.zone,
        )

    return json_response(await ctx.storage.reading(read))


def _code_sent(record: codes.CodeRecord, existing: bool, what: str) -> wire.CodeSent:
    masked = mask_phone(record.phone)
    return wire.CodeSent(
        code_id=record.id,
        phone_masked=masked,
        existing_member=existing,
        expires_at=_at(record.expires_at),
        message=wire.UserMessage(
            key=f"code_sent_{what}",
            params={"phone": masked},
            text=f"A code was sent to {masked}.",
        ),
    )


@router.post("/register", response_model=wire.CodeSent, tags=["members"])
async def register(
    body: wire.RegisterRequest, request: Request, ctx: Ctx, caller: Till, key: IdempotencyKey
) -> Response:
    """Send a registration code; for a known phone the code authorises the existing member."""

    def handle(db: Database, now: int) -> wire.CodeSent:
        phone = members.normalize(body.phone, body.region)
        existing = members.by_phone(db, phone)
        if existing is None and not body.consent:
            raise ApiError(
                ErrorCode.CONSENT_REQUIRED, "The customer must consent to join the program."
            )
        registration = {
            "name": body.name,
            "birthday": None if body.birthday is None else body.birthday.isoformat(),
            "email": body.email,
            "store": caller.store_id,
        }
        record = codes.issue_code(
            db,
            ctx.sms,
            phone=phone,
            purpose="register",
            now=now,
            till=caller.pk,
            member_id=None if existing is None else existing.id,
            registration=registration,
        )
        return _code_sent(record, existing is not None, "register")

    return await idempotent_write(ctx, request, caller, key, body, handle)


@router.post("/register/confirm", response_model=wire.IdentifyResult, tags=["members"])
async def confirm_registration(
    body: wire.ConfirmRegistrationRequest,
    request: Request,
    ctx: Ctx,
    caller: Till,
    key: IdempotencyKey,
) -> Response:
    """Check the code; create the member (or authorise the known one) and answer as identify."""

    def handle(db: Database, now: int) -> wire.IdentifyResult:
        record = codes.check_code(db, body.code_id, body.code, "register", now)
        member = members.by_phone(db, record.phone)
        if member is None:
            reg = record.registration or {}
            birthday = reg.get("birthday")
            member_id = members.create_member(
                db,
                phone=record.phone,
                now=now,
                name=reg.get("name"),
                birthday=None if birthday is None else datetime.fromisoformat(birthday).date(),
                email=reg.get("email"),
                home_store=reg.get("store"),
            )
            member = members.require(db, member_id)
        return members.identify_result(
            db,
            member,
            ctx.program_at(db, now, caller.zone),
            now,
            identified_by="phone",
            entry="typed",
            expiring_within_days=30,
            zone=caller.zone,
        )

    return await idempotent_write(ctx, request, caller, key, body, handle)


@router.post("/spend-code", response_model=wire.CodeSent, tags=["members"])
async def spend_code(
    body: wire.SpendCodeRequest, request: Request, ctx: Ctx, caller: Till, key: IdempotencyKey
) -> Response:
    """Send the member a code that authorises spending up to ``points`` on one check."""

    def handle(db: Database, now: int) -> wire.CodeSent:
        member = members.require(db, body.member_id)
        if member.state != "active":
            raise ApiError(ErrorCode.MEMBER_BLOCKED, "This member may not spend points.")
        if body.points <= 0:
            raise ApiError(ErrorCode.INVALID_REQUEST, "Points to spend must be above zero.")
        record = codes.issue_code(
            db,
            ctx.sms,
            phone=member.phone,
            purpose="spend",
            now=now,
            till=caller.pk,
            member_id=member.id,
            points=to_minor(body.points),
        )
        return _code_sent(record, True, "spend")

    return await idempotent_write(ctx, request, caller, key, body, handle)


@router.get("/program", response_model=wire.ProgramSnapshot, tags=["snapshots"])
async def program(ctx: Ctx, caller: Till) -> Response:
    """The program snapshot in force today at the caller's store, versioned, with the QR
    public key."""
    current = await ctx.storage.reading(lambda db: ctx.program_at(db, ctx.now(), caller.zone))
    return json_response(
        wire.ProgramSnapshot(
            version=current.version,
            program=current.to_dict(),
            qr_public_key=current.qr_public_key,
            qr_token_ttl_seconds=current.qr_token_ttl_seconds,
            issued_at=ctx.clock(),
        )
    )


@router.get("/members/delta", response_model=wire.MembersDelta, tags=["snapshots"])
async def members_delta(
    ctx: Ctx, caller: Till, cursor: Cursor = "", limit: Limit = 1000
) -> Response:
    """Members of the caller's store changed after ``cursor`` (empty: from the start), oldest
    change first: those registered there or with a check made there."""
    delta = await ctx.storage.reading(
        lambda db: snapshots.members_delta(db, int(cursor or 0), limit, ctx.now(), caller.store_id)
    )
    return json_response(delta)


@router.get("/catalog/delta", response_model=wire.CatalogDelta, tags=["snapshots"])
async def catalog_delta(
    ctx: Ctx, _till: Till, cursor: Cursor = "", limit: Limit = 1000
) -> Response:
    """Products changed after ``cursor`` (empty: from the start), oldest change first."""
    delta = await ctx.storage.reading(
        lambda db: snapshots.catalog_delta(db, int(cursor or 0), limit)
    )
    return json_response(delta)
