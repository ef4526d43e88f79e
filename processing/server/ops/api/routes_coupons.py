"""Coupons: issue to a member or a segment, list, cancel."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import Field

from processing.errors import ErrorCode
from processing.server.handling import Ctx
from processing.server.ops import coupons
from processing.server.ops.api.base import (
    AnswerModel,
    BodyModel,
    Name,
    Operator,
    Reason,
    ReasonBody,
    in_force,
    now,
    refuse,
)
from processing.server.ops.common import earliest_today

router = APIRouter()


class CouponIssue(BodyModel):
    """One member, or a segment (all conditions given must hold), as ``coupons issue``."""

    promo_id: str = Field(min_length=1, max_length=64)
    member_id: str | None = Field(default=None, min_length=1, max_length=64)
    tier: str | None = Field(default=None, max_length=64)
    birthday: bool = False
    phones: list[str] | None = Field(default=None, max_length=1_000_000)
    """Phones of the segment (one each), normalised with ``region``."""
    not_bought_days: int | None = Field(default=None, ge=1, le=3650)
    region: Literal["RU", "UA", "KZ"] = "RU"
    code: str | None = Field(default=None, max_length=64)
    """One shared code for all (with ``limit``); none: a unique code each."""
    limit: int | None = Field(default=None, ge=1, le=10_000_000)
    valid_from: date | None = None
    valid_to: date
    reason: Reason


class CouponIssued(AnswerModel):
    members: int
    already: int
    rejected_phones: list[str]


class CouponAnswer(AnswerModel):
    code: str
    title: str
    valid_from: date | None
    valid_to: date | None
    holders: int
    used: int
    limit: int | None
    cancelled: bool
    reserved: int
    """Codes an open hold has reserved: not used yet (the hold may be cancelled or run out)."""


class CouponCancelled(AnswerModel):
    code: str
    cancelled: int


@router.post("/coupons/issue", response_model=CouponIssued)
def coupon_issue(body: CouponIssue, ctx: Ctx, who: Operator) -> CouponIssued:
    """Issue the coupon of a promotion asking for one (as ``coupons issue``); phones that are
    not phones are named in ``rejected_phones`` and left out."""
    from processing.server.ops.offers import Segment, read_phones

    phones = None if body.phones is None else read_phones("\n".join(body.phones), body.region)
    segment = Segment(
        tier=body.tier,
        birthday=body.birthday,
        phones=None if phones is None else tuple(phones.phones),
        not_bought_days=body.not_bought_days,
    )
    if body.member_id is not None and not segment.empty():
        raise refuse("Give either member_id or a segment, not both.")
    at = now(ctx)
    try:
        with ctx.storage.write() as db:
            start = body.valid_from or earliest_today(db, at)
            done = coupons.issue(
                db, in_force(db, at), body.promo_id.strip(), member_id=body.member_id,
                segment=segment, shared=body.code, limit=body.limit, start=start,
                end=body.valid_to, now=at, operator=who.name, reason=body.reason.strip(),
            )  # fmt: skip
    except coupons.CouponError as exc:
        raise refuse(str(exc)) from None
    rejected = [] if phones is None else [f"{r.line}: {r.problem}" for r in phones.rejected]
    return CouponIssued(members=done.members, already=done.already, rejected_phones=rejected)


@router.get("/coupons", response_model=list[CouponAnswer])
def coupons_list(
    ctx: Ctx, _who: Operator, everything: Annotated[bool, Query(alias="all")] = False
) -> list[CouponAnswer]:
    """Each code: dates, holders, uses, open holds, cancelled (as ``coupons list``)."""
    with ctx.storage.read() as db:
        at = now(ctx)
        rows = coupons.listed(db, None if everything else earliest_today(db, at), at=at)
    return [
        CouponAnswer(
            code=r.code,
            title=r.title,
            valid_from=None if r.valid_from is None else date.fromisoformat(r.valid_from),
            valid_to=None if r.valid_to is None else date.fromisoformat(r.valid_to),
            holders=r.holders,
            used=r.used,
            limit=r.limit,
            cancelled=r.cancelled,
            reserved=r.reserved,
        )
        for r in rows
    ]


@router.post("/coupons/{code}/cancel", response_model=CouponCancelled)
def coupon_cancel(code: Name, body: ReasonBody, ctx: Ctx, who: Operator) -> CouponCancelled:
    """Cancel a code for all its holders now (as ``coupons cancel``)."""
    try:
        with ctx.storage.write() as db:
            count = coupons.cancel(
                db, code, now=now(ctx), operator=who.name, reason=body.reason.strip()
            )
    except coupons.CouponError as exc:
        raise refuse(str(exc), ErrorCode.NOT_FOUND) from None
    return CouponCancelled(code=code.strip().upper(), cancelled=count)
