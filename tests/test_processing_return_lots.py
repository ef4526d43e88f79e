"""Returns against the real server: spent points come back into the lots they were spent from,
with those lots' own expiry dates, never as a fresh lot with a full year to live."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

from processing import wire
from processing.client import ProcessingClient
from processing.server import ledger
from processing.server.testing import RunningServer

ANNA = "+79161234567"  # 1200 points expiring in 265 days, 300 expiring in 20 days


def _sale(client: ProcessingClient, spend: str) -> str:
    line = wire.Line(
        name="Сыр", category="dairy", price=Decimal("1000.00"), quantity=Decimal("2"),
        amount=Decimal("2000.00"),
    )  # fmt: skip
    req = wire.CheckRequest(
        check_id=str(uuid.uuid4()), member_id="100001", lines=[line],
        requested_spend=Decimal(spend),
    )  # fmt: skip
    calc = client.calculate(req)
    assert calc.spend == Decimal(spend)
    client.hold(
        wire.HoldRequest(**req.model_dump(), fingerprint=calc.fingerprint),
        idempotency_key=f"h-{req.check_id}",
    )
    client.confirm(req.check_id, idempotency_key=f"c-{req.check_id}")
    return req.check_id


def _return(client: ProcessingClient, check_id: str, quantity: str) -> wire.ReturnResult:
    return client.return_check(
        wire.ReturnRequest(
            return_id=str(uuid.uuid4()),
            check_id=check_id,
            lines=[wire.ReturnLine(index=0, quantity=Decimal(quantity))],
        ),
        idempotency_key=str(uuid.uuid4()),
    )


def test_returned_spend_keeps_its_original_expiry(
    client: ProcessingClient, server: RunningServer
) -> None:
    before = client.identify(ANNA, expiring_within_days=30).balance
    assert before.expiring_total == Decimal("300.00")
    (soon,) = before.expiring
    # 400 spent: the 300 expiring soonest first, then 100 of the 1200.
    check_id = _sale(client, "400")
    assert client.identify(ANNA, expiring_within_days=30).balance.expiring_total == 0
    half = _return(client, check_id, "1")
    assert half.points_given_back == Decimal("200.00")
    # The last spent come back first: the 100 of the long lot, then 100 of the short one.
    after_half = client.identify(ANNA, expiring_within_days=30).balance
    assert after_half.expiring_total == Decimal("100.00")
    _return(client, check_id, "1")
    after = client.identify(ANNA, expiring_within_days=30).balance
    assert after.expiring_total == Decimal("300.00")
    assert [lot.expires_at for lot in after.expiring] == [soon.expires_at]
    # Nothing lives longer than it did before the sale: no lot expires a year from now.
    late = client.identify(ANNA, expiring_within_days=366).balance.expiring
    assert max(lot.expires_at for lot in late) < soon.expires_at + timedelta(days=250)
    with server.ctx.storage.read() as db:
        assert ledger.audit(db) == []
