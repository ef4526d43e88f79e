"""Stores and tills: list them, revoke a till's key, give it a new one."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from processing.errors import ErrorCode
from processing.server.handling import Ctx
from processing.server.ops import tills
from processing.server.ops.api.base import (
    AnswerModel,
    Name,
    Operator,
    ReasonBody,
    as_time,
    now,
    refuse,
)

router = APIRouter()


class StoreAnswer(AnswerModel):
    store_id: str
    timezone: str | None
    active_tills: int
    revoked_keys: int
    last_check_at: datetime | None


class TillAnswer(AnswerModel):
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
            last_check_at=as_time(r.last_check_at),
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
            revoked_at=as_time(r.revoked_at),
            last_check_at=as_time(r.last_check_at),
        )
        for r in rows
    ]


class NewKey(AnswerModel):
    store_id: str
    till_id: str
    api_key: str


@router.post("/tills/{store}/{till}/revoke", status_code=204, response_class=Response)
def till_revoke(store: Name, till: Name, body: ReasonBody, ctx: Ctx, who: Operator) -> Response:
    """Revoke a till's key: every server process refuses it (401) from its next request."""
    try:
        with ctx.storage.write() as db:
            tills.revoke(db, store, till, now(ctx), who.name, body.reason.strip())
    except tills.TillError as exc:
        raise refuse(str(exc), ErrorCode.NOT_FOUND) from None
    return Response(status_code=204)


@router.post("/tills/{store}/{till}/rotate-key", response_model=NewKey)
def till_rotate_key(store: Name, till: Name, body: ReasonBody, ctx: Ctx, who: Operator) -> NewKey:
    """A new key for a known till (shown once in this answer); its old key is refused."""
    try:
        with ctx.storage.write() as db:
            key = tills.rotate_key(db, store, till, now(ctx), who.name, body.reason.strip())
    except tills.TillError as exc:
        raise refuse(str(exc), ErrorCode.NOT_FOUND) from None
    return NewKey(store_id=store, till_id=till, api_key=key)
