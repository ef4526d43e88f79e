"""A return whose earned points were already spent never pushes the balance below zero: the
server takes back what is there, and the rest is a visible ``return_shortfall`` conflict whose
amount the answer tells the till (the store deducts it from the cash refund)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from processing import wire
from processing.amounts import from_minor
from processing.client import ProcessingClient
from processing.server import ledger
from processing.server.testing import ManualClock, RunningServer
from tests.support.holds import TARAS, check_request, hold_check

DAY = 86400


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 6, 15, 10, 0, tzinfo=UTC))  # no promotion runs


def _sale(client: ProcessingClient, member: str, spend: str, amount: str) -> wire.CheckResult:
    req = check_request(member, spend, amount)
    hold_check(client, req)
    return client.confirm(req.check_id, idempotency_key=f"c-{req.check_id}")


def test_a_return_of_spent_earnings_takes_what_is_there_and_records_the_rest(
    client: ProcessingClient, server: RunningServer, clock: ManualClock
) -> None:
    earned = _sale(client, TARAS, "0", "1000.00")  # Taras: 400 points, earns on 1000.00
    assert earned.earned > 0
    clock.advance(60 * DAY)  # the earn is active, whatever the activation delay
    with server.ctx.storage.read() as db:
        everything = ledger.available(db, TARAS, server.ctx.now())
    # Every point he has, the earned ones too, goes on another check (a large one).
    spent = _sale(client, TARAS, format(from_minor(everything), "f"), "5000.00")
    assert spent.spent * 100 == everything
    result = client.return_check(
        wire.ReturnRequest(
            return_id="r-1",
            check_id=earned.check_id,
            lines=[wire.ReturnLine(index=0, quantity=Decimal(1))],
        ),
        idempotency_key="r-1",
    )
    assert result.points_taken_back == 0
    assert result.shortfall == earned.earned
    assert result.balance_after == 0
    with server.ctx.storage.read() as db:
        now = server.ctx.now()
        assert ledger.available(db, TARAS, now) == 0
        negative = db.execute(
            "SELECT count(*) FROM lots WHERE member_id = ? AND remaining < 0", [TARAS]
        ).fetchone()[0]
        assert negative == 0
        rows = db.execute(
            "SELECT kind, details FROM conflicts WHERE check_id = ?", [earned.check_id]
        ).fetchall()
        assert [str(r[0]) for r in rows] == ["return_shortfall"]
        details = json.loads(rows[0][1])
        assert (details["shortfall"], details["return_id"]) == (
            format(earned.earned, "f"),
            "r-1",
        )
        # The ledger: what is left is what was issued less spent less taken back.
        assert ledger.audit(db) == []
        kinds = dict(
            db.execute(
                "SELECT kind, SUM(points) FROM movements WHERE member_id = ? GROUP BY kind",
                [TARAS],
            ).fetchall()
        )
        left = db.execute(
            "SELECT SUM(remaining) FROM lots WHERE member_id = ?", [TARAS]
        ).fetchone()[0]
        assert kinds.get("reverse", 0) == 0  # nothing could be taken back
        assert left == sum(kinds.get(k, 0) for k in ledger.LOT_KINDS)
    # The same return again: the same answer, no second conflict.
    again = client.return_check(
        wire.ReturnRequest(
            return_id="r-1",
            check_id=earned.check_id,
            lines=[wire.ReturnLine(index=0, quantity=Decimal(1))],
        ),
        idempotency_key="r-1",
    )
    assert again == result
