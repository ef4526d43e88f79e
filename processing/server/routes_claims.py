"""Routes: claims — a check made without a customer, registered under its claim code, and
redeemed later by a member (:mod:`processing.server.claims`)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from loyalty.claims import claim_code
from loyalty.program import Program
from processing import wire
from processing.server import claims
from processing.server.engine import Database
from processing.server.handling import Ctx, IdempotencyKey, Till, idempotent_write
from processing.server.routes_checks import ERRORS

router = APIRouter(responses=ERRORS)


@router.post("/claims", response_model=wire.Claim, tags=["claims"])
async def create_claim(
    sent: wire.ClaimBody, request: Request, ctx: Ctx, caller: Till, key: IdempotencyKey
) -> Response:
    """Register a check made without a customer under its claim code; the claim is worth at
    least the base tier's earn and can be redeemed for 30 days from when the check was made."""
    # The code follows from the check id; a body that sends one is checked by claims.create.
    body = (
        sent
        if sent.code is not None
        else sent.model_copy(update={"code": claim_code(sent.check_id)})
    )
    return await idempotent_write(
        ctx,
        request,
        caller,
        key,
        body,
        lambda db, now: claims.create(
            db,
            # the version in force on the sale's day at the store (made_at ahead counts as now)
            ctx.program_at(db, min(int(body.made_at.timestamp()), now), caller.zone),
            body,
            now,
            caller.store_id,
            caller.till_id,
            caller.zone,
        ),
    )


@router.post("/claims/redeem", response_model=wire.ClaimRedeemed, tags=["claims"])
async def redeem_claim(
    body: wire.RedeemClaimRequest, request: Request, ctx: Ctx, caller: Till, key: IdempotencyKey
) -> Response:
    """Credit the claim's check to the member, as a check made offline at the claim's time
    (once: the same member again is told ``already_collected``, another member is refused)."""

    def program_sold(db: Database, now: int) -> Program:
        # The version in force on the sale's day at the store that sold it (the claim earns
        # as an offline check made then); today's for a code no claim has (refused anyway).
        row = claims.by_code(db, body.code)
        if row is None:
            return ctx.program_at(db, now, caller.zone)
        return ctx.program_at(db, row.made_at, row.zone())

    return await idempotent_write(
        ctx,
        request,
        caller,
        key,
        body,
        lambda db, now: claims.redeem(db, program_sold(db, now), body, now, caller.zone),
    )
