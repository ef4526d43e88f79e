"""Checks and holds as the processing tests send them: one line of milk, a member's spend."""

from __future__ import annotations

import uuid
from decimal import Decimal

from processing import wire
from processing.client import ProcessingClient

ANNA, ANNA_PHONE = "100001", "+79161234567"
"""A demo member with 1500 active points, base tier (3 %)."""
IVAN, IVAN_PHONE = "100002", "+79161234568"
"""A demo member with 2500 active points, silver tier (5 %)."""
TARAS = "100009"
"""A demo member with 400 active points."""


def milk_line(amount: str = "1000.00") -> wire.Line:
    return wire.Line(
        name="Молоко",
        category="dairy",
        price=Decimal(amount),
        quantity=Decimal("1"),
        amount=Decimal(amount),
    )


def check_request(member: str, spend: str, amount: str = "1000.00") -> wire.CheckRequest:
    return wire.CheckRequest(
        check_id=str(uuid.uuid4()),
        member_id=member,
        lines=[milk_line(amount)],
        requested_spend=Decimal(spend),
    )


def hold_check(client: ProcessingClient, req: wire.CheckRequest, key: str = "") -> wire.Hold:
    calc = client.calculate(req)
    return client.hold(
        wire.HoldRequest(**req.model_dump(), fingerprint=calc.fingerprint),
        idempotency_key=key or f"h-{req.check_id}",
    )


def held_check(
    client: ProcessingClient, member: str, spend: str, amount: str = "1000.00"
) -> wire.CheckRequest:
    """A check of ``member`` spending ``spend`` on one line of ``amount``, calculated and held;
    the request (for its id and lines)."""
    req = check_request(member, spend, amount)
    hold_check(client, req)
    return req
