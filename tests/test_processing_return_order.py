"""A return that reaches the server before its check does (the check still in another
till's queue, or a sync that failed) is refused with ``unknown_check`` and that refusal is not
kept as the return key's answer: the same return, under the same key, is applied once the check
is there. Otherwise a queued return would be refused for ever."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from processing import wire
from processing.client import ProcessingClient
from processing.errors import ErrorCode, Rejected
from processing.server.testing import ManualClock

IVAN = "100001"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 6, 15, 10, 0, tzinfo=UTC))


def test_a_return_before_its_check_is_applied_when_the_check_arrives(
    client: ProcessingClient, clock: ManualClock
) -> None:
    check = wire.OfflineCheck(
        check_id=str(uuid.uuid4()),
        member_id=IVAN,
        lines=[
            wire.Line(
                name="Молоко",
                category="dairy",
                price=Decimal("500.00"),
                quantity=Decimal(2),
                amount=Decimal("1000.00"),
            )
        ],
        made_at=clock.now,
    )
    request = wire.ReturnRequest(
        return_id="r-early",
        check_id=check.check_id,
        lines=[wire.ReturnLine(index=0, quantity=Decimal(1))],
    )
    with pytest.raises(Rejected) as refused:
        client.return_check(request, idempotency_key="r-early")
    assert refused.value.code == ErrorCode.UNKNOWN_CHECK

    applied = client.replay_offline(check, idempotency_key=f"o-{check.check_id}")
    assert applied.earned > 0
    returned = client.return_check(request, idempotency_key="r-early")
    assert returned.points_taken_back == applied.earned / 2
    # And from now on the key answers what it did, once.
    again = client.return_check(request, idempotency_key="r-early")
    assert again == returned
