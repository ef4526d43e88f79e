"""Coupons against the real server: a coupon-gated promotion applies only to the coupon's owner,
once, online and in offline replay."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from loyalty.program import Promotion, PromotionKind
from processing import wire
from processing.client import ProcessingClient
from processing.server.context import store_program
from processing.server.testing import RunningServer

BONUS = Decimal("100")


def _with_coupon_promotion(server: RunningServer) -> None:
    """A new program version: 100 bonus points on any check presenting WELCOME10."""
    today = datetime.now(UTC).date()
    with server.ctx.storage.write() as db:
        program = server.ctx.program(db)
        promo = Promotion(
            promo_id="welcome",
            name="Welcome",
            kind=PromotionKind.CHECK_BONUS,
            starts_on=today - timedelta(days=365),
            ends_on=today + timedelta(days=365),
            bonus_points=BONUS,
            coupon="WELCOME10",
        )
        new = replace(program, version=program.version + 1, promotions=(*program.promotions, promo))
        store_program(db, new, server.ctx.now())


def _line() -> wire.Line:
    return wire.Line(
        name="Хлеб", category="bakery", price=Decimal("100.00"), quantity=Decimal("1"),
        amount=Decimal("100.00"),
    )  # fmt: skip


def _earn(client: ProcessingClient, member: str, coupons: list[str]) -> Decimal:
    request = wire.CheckRequest(
        check_id=str(uuid.uuid4()), member_id=member, lines=[_line()], coupons=coupons
    )
    return client.calculate(request).earn


def _sale(client: ProcessingClient, member: str, coupons: list[str]) -> wire.CheckResult:
    req = wire.CheckRequest(
        check_id=str(uuid.uuid4()), member_id=member, lines=[_line()], coupons=coupons
    )
    calc = client.calculate(req)
    client.hold(
        wire.HoldRequest(**req.model_dump(), fingerprint=calc.fingerprint),
        idempotency_key=f"h-{req.check_id}",
    )
    return client.confirm(req.check_id, idempotency_key=f"c-{req.check_id}")


def _offline(client: ProcessingClient, member: str, coupons: list[str]) -> wire.CheckResult:
    check = wire.OfflineCheck(
        check_id=str(uuid.uuid4()),
        member_id=member,
        lines=[_line()],
        made_at=datetime.now(UTC),
        coupons=coupons,
    )
    return client.replay_offline(check, idempotency_key=f"o-{check.check_id}")


def test_a_coupon_counts_for_its_owner_only(
    client: ProcessingClient, server: RunningServer
) -> None:
    _with_coupon_promotion(server)
    plain = _earn(client, "100002", [])
    # Ivan presents Anna's coupon: no bonus, online or offline.
    assert _earn(client, "100002", ["WELCOME10"]) == plain
    assert _offline(client, "100002", ["WELCOME10"]).earned == plain
    # Anna, its owner, gets the bonus.
    assert _earn(client, "100001", ["WELCOME10"]) - _earn(client, "100001", []) == BONUS


def test_a_coupon_is_used_once_online(client: ProcessingClient, server: RunningServer) -> None:
    _with_coupon_promotion(server)
    without = _earn(client, "100001", [])
    first = _sale(client, "100001", ["WELCOME10"])
    assert first.earned - without == BONUS
    assert _earn(client, "100001", ["WELCOME10"]) == without
    assert _sale(client, "100001", ["WELCOME10"]).earned == without
    assert _offline(client, "100001", ["WELCOME10"]).earned == without


def test_a_coupon_is_used_once_offline(client: ProcessingClient, server: RunningServer) -> None:
    _with_coupon_promotion(server)
    without = _earn(client, "100001", [])
    assert _offline(client, "100001", ["WELCOME10"]).earned - without == BONUS
    assert _offline(client, "100001", ["WELCOME10"]).earned == without
    assert _earn(client, "100001", ["WELCOME10"]) == without
