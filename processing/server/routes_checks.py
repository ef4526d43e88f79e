"""Routes: calculate, hold, confirm, cancel, offline replay (single and batch), returns."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from loyalty.program import Program
from processing import wire
from processing.errors import ErrorCode
from processing.server import (
    hold_calculation,
    holds,
    idempotency,
    limits,
    replay,
    returns,
    settle,
)
from processing.server.auth import TillIdentity
from processing.server.context import ServerContext
from processing.server.engine import Database
from processing.server.handling import (
    JSON,
    Ctx,
    IdempotencyKey,
    Till,
    idempotent_write,
    write,
)
from processing.server.problems import ApiError

ERRORS: dict[int | str, dict[str, object]] = {
    status: {"model": wire.ErrorBody} for status in (400, 401, 404, 409, 413, 422, 429)
}

router = APIRouter(responses=ERRORS)

CheckId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]


@router.post("/calculate", response_model=wire.Calculation, tags=["checks"])
async def calculate(body: wire.CheckRequest, ctx: Ctx, caller: Till) -> Response:
    """The authoritative calculation of a check; changes nothing."""

    def read(db: Database) -> str:
        now = ctx.now()
        return hold_calculation.preview(
            db, lambda epoch: ctx.program_at(db, now, caller.zone, epoch), body, now,
            caller.zone, ctx.previews, ctx.catalog,
        )  # fmt: skip

    return Response(await ctx.storage.reading(read), media_type=JSON)


def hold_request(check_id: str, body: wire.HoldBody) -> wire.HoldRequest:
    """The hold's request, with the path's check id when the body has none (one it has is
    checked against the path by the route)."""
    return body if body.check_id is not None else body.model_copy(update={"check_id": check_id})


@router.post("/checks/{check_id}/hold", response_model=wire.Hold, tags=["checks"])
async def hold(
    check_id: CheckId,
    sent: wire.HoldBody,
    request: Request,
    ctx: Ctx,
    caller: Till,
    key: IdempotencyKey,
) -> Response:
    """Reserve the calculated spend; refused with stale_calculation if the check changed."""
    body = hold_request(check_id, sent)
    prepared = None
    if body.check_id == check_id and not ctx.previews.has(check_id, body.fingerprint):
        now = ctx.now()
        # The calculation is done here, on a read snapshot, before the write lock; inside the
        # write only what it read is checked again (and it is redone if that changed). A
        # calculation this process answered with this fingerprint is only checked, in the
        # write: it needs no snapshot of its own.

        def prepare(db: Database) -> hold_calculation.PreparedHold | None:
            return hold_calculation.prepare_hold(
                db, lambda epoch: ctx.program_at(db, now, caller.zone, epoch), body, now,
                caller.zone, ctx.previews, ctx.catalog,
            )  # fmt: skip

        prepared = await ctx.storage.reading(prepare)

    def handle(db: Database, now: int) -> str:
        if body.check_id != check_id:
            raise ApiError(ErrorCode.INVALID_REQUEST, "The check id in the path and body differ.")
        return holds.hold(
            db, lambda epoch: ctx.program_at(db, now, caller.zone, epoch), body, now, caller,
            ctx.hold_ttl,
            prepared, ctx.previews, ctx.catalog,
        )  # fmt: skip

    # A refused hold reserved nothing: the till may send the corrected hold (a fresh
    # calculation, the right SMS code) under the same key.
    return await idempotent_write(
        ctx,
        request,
        caller,
        key,
        body,
        handle,
        now=None if prepared is None else prepared.now,
        refusal_is_final=False,
        raw=await request.body(),
    )


@router.post("/checks/{check_id}/confirm", response_model=wire.CheckResult, tags=["checks"])
async def confirm(
    check_id: CheckId, request: Request, ctx: Ctx, caller: Till, key: IdempotencyKey
) -> Response:
    """Apply the held check's earn and spend."""
    return await idempotent_write(
        ctx,
        request,
        caller,
        key,
        None,
        lambda db, now: settle.confirm(
            db,
            # the version the check was held with (its lot's activation and expiry)
            lambda version: ctx.program_version(db, version),
            check_id,
            now,
            caller=caller,
        ),
    )


@router.post("/checks/{check_id}/cancel", response_model=wire.CancelResult, tags=["checks"])
async def cancel(
    check_id: CheckId, request: Request, ctx: Ctx, caller: Till, key: IdempotencyKey
) -> Response:
    """Release the hold (void, timeout, crash recovery)."""
    return await idempotent_write(
        ctx, request, caller, key, None, lambda db, now: settle.cancel(db, check_id, now, caller)
    )


@router.post("/checks/offline", response_model=wire.CheckResult, tags=["offline"])
async def replay_offline(
    body: wire.OfflineCheck, request: Request, ctx: Ctx, caller: Till, key: IdempotencyKey
) -> Response:
    """Apply one check made offline; a spend shortfall is recorded as a conflict."""
    return await idempotent_write(
        ctx,
        request,
        caller,
        key,
        body,
        lambda db, now: replay.replay_offline(
            db, _program_made(ctx, db, body, now, caller), body, now, caller
        ),
    )


_ITEM_ROUTE = "/v1/checks/offline"


def _program_made(
    ctx: ServerContext, db: Database, check: wire.OfflineCheck, now: int, caller: TillIdentity
) -> Program:
    """The program version in force when and where an offline check was made: its day in the
    calendar of the caller's store (a check made Monday earns by Monday's rules, whenever it
    arrives; a ``made_at`` ahead of the server's clock counts as now, as the replay does)."""
    return ctx.program_at(db, min(int(check.made_at.timestamp()), now), caller.zone)


@router.post("/checks/offline/batch", response_model=wire.ReplayBatchResult, tags=["offline"])
async def replay_batch(
    body: wire.ReplayBatchRequest, ctx: Ctx, caller: Till, key: IdempotencyKey
) -> Response:
    """Apply offline checks in order, each under its own idempotency key; one result each.

    The batch is applied in slices (``limits.batch_slices``: a bounded number of items and
    lines each), one write transaction (one fsync) per slice, so the write lock is never held
    for a whole large batch. Each item runs inside its own SAVEPOINT, so an item refused for
    good is rolled back alone and never undoes the others; its answer is stored under its own
    key in the same transaction as its effects (a batch cut short is replayed item by item).
    """
    del key  # the batch is idempotent because each item is

    def apply(items: list[wire.ReplayItem]) -> Callable[[Database], list[str]]:
        def run(db: Database) -> list[str]:
            now = ctx.now()
            return [
                _replay_item(db, _program_made(ctx, db, item.check, now, caller), item, now, caller)
                for item in items
            ]

        return run

    parts: list[str] = []
    for items in limits.batch_slices(list(body.items)):
        parts += await write(ctx, apply(items), long=True)
    # The stored answers are spliced in as they are: a duplicate gets the very same bytes.
    return Response('{"results":[' + ",".join(parts) + "]}", media_type=JSON)


def _replay_item(
    db: Database, program: Program, item: wire.ReplayItem, now: int, caller: TillIdentity
) -> str:
    """One batch item inside the batch's transaction; its ItemResult as JSON text."""
    head = (
        f'{{"idempotency_key":{json.dumps(item.idempotency_key)},'
        f'"check_id":{json.dumps(item.check.check_id)},'
    )
    digest = idempotency.body_hash(_ITEM_ROUTE, item.check.model_dump_json().encode())
    try:
        stored = idempotency.lookup(db, caller.pk, item.idempotency_key, _ITEM_ROUTE, digest)
    except ApiError as error:  # the key was used for another body
        return f'{head}"status":"rejected","result":null,"error":{json.dumps(error.body())}}}'
    status = "duplicate"
    if stored is None:
        status = "applied"
        db.conn.execute("SAVEPOINT item")
        try:
            result = replay.replay_offline(db, program, item.check, now, caller)
        except ApiError as error:
            db.conn.execute("ROLLBACK TO SAVEPOINT item")
            db.conn.execute("RELEASE SAVEPOINT item")
            stored = idempotency.StoredAnswer(error.status, json.dumps(error.body()))
        else:
            db.conn.execute("RELEASE SAVEPOINT item")
            stored = idempotency.StoredAnswer(200, result.model_dump_json())
        idempotency.store(db, caller.pk, item.idempotency_key, _ITEM_ROUTE, digest, stored, now)
    if stored.status == 200:
        return f'{head}"status":"{status}","result":{stored.body},"error":null}}'
    return f'{head}"status":"rejected","result":null,"error":{stored.body}}}'


@router.post("/returns", response_model=wire.ReturnResult, tags=["checks"])
async def return_check(
    body: wire.ReturnRequest, request: Request, ctx: Ctx, caller: Till, key: IdempotencyKey
) -> Response:
    """Return lines of a completed check: points taken back and given back pro rata."""
    return await idempotent_write(
        ctx,
        request,
        caller,
        key,
        body,
        lambda db, now: returns.return_check(
            db, ctx.program_at(db, now, caller.zone), body, now, caller.store_id
        ),
        # The check may still be on its way (another till's queue): refused now, not for ever.
        not_yet=frozenset({ErrorCode.UNKNOWN_CHECK}),
    )
