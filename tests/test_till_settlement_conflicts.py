"""What the server settled short reaches the till's admin as one specific sentence: a late
confirmation whose held points were gone, a queued return whose earned points were spent.

Real server on loopback (its clock moved by the test), real till database, the real sync
engine and transport.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from offline_cache.checks import CheckRecord, commit_check, queue_record
from offline_cache.conflicts import open_conflicts
from offline_cache.db import open_database
from offline_cache.link import ProcessingTransport
from offline_cache.outbox import KIND_RETURN
from offline_cache.sync import SyncEngine
from processing import wire
from processing.amounts import from_minor
from processing.client import ProcessingClient
from processing.server import ledger
from processing.server.testing import ManualClock, RunningServer
from terminal.screens.sync import describe_conflict
from tests.support.holds import TARAS, check_request, hold_check

DAY = 86400


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 6, 15, 10, 0, tzinfo=UTC))  # no promotion runs


def test_a_late_confirmation_settled_short_is_said_with_its_shortfall(
    tmp_path: Path, client: ProcessingClient, server: RunningServer, clock: ManualClock
) -> None:
    req = check_request(TARAS, "300", "1000.00")  # Taras: 400 points
    hold = hold_check(client, req)
    db = open_database(tmp_path / "till.sqlite3")
    commit_check(  # committed and printed; the confirmation waits for the network
        db,
        CheckRecord(
            check_id=req.check_id,
            member_id=TARAS,
            total=Decimal(1000),
            earned=hold.calculation.earn,
            spent=Decimal(300),
            offline=False,
            payload={"check_id": req.check_id, "hold_id": hold.hold_id},
        ),
    )
    clock.advance(server.ctx.hold_ttl + 60)
    other = check_request(TARAS, "300", "1000.00")  # meanwhile, another till spends 300
    hold_check(client, other)
    client.confirm(other.check_id, idempotency_key="other")
    SyncEngine(tmp_path / "till.sqlite3", ProcessingTransport(client)).drain()
    [conflict] = [c for c in open_conflicts(db) if c.record_id == req.check_id]
    assert conflict.detail["conflict"] == "confirm_spend_shortfall"
    assert describe_conflict(conflict) == (
        "A late confirmation: 300.00 points were held, 100.00 could still be taken,"
        " 200.00 were missing."
    )
    db.close()


def test_a_queued_return_that_could_not_take_back_spent_points_is_said(
    tmp_path: Path, client: ProcessingClient, server: RunningServer, clock: ManualClock
) -> None:
    sale = check_request(TARAS, "0", "1000.00")
    hold_check(client, sale)
    earned = client.confirm(sale.check_id, idempotency_key="earn")
    clock.advance(60 * DAY)  # the earn is active
    with server.ctx.storage.read() as db:
        everything = from_minor(ledger.available(db, TARAS, server.ctx.now()))
    spend = check_request(TARAS, format(everything, "f"), "5000.00")
    hold_check(client, spend)
    client.confirm(spend.check_id, idempotency_key="spend-all")
    db = open_database(tmp_path / "till.sqlite3")
    return_id = str(uuid.uuid4())
    request = wire.ReturnRequest(
        return_id=return_id,
        check_id=sale.check_id,
        lines=[wire.ReturnLine(index=0, quantity=Decimal(1))],
    )
    queue_record(  # made offline: the cashier could not be told at the counter
        db,
        return_id,
        KIND_RETURN,
        request.model_dump(mode="json"),
        action="return",
        cashier="1",
        online=False,
        detail={"check_id": sale.check_id},
    )
    SyncEngine(tmp_path / "till.sqlite3", ProcessingTransport(client)).drain()
    [conflict] = [c for c in open_conflicts(db) if c.record_id == return_id]
    assert conflict.detail["conflict"] == "return_shortfall"
    assert describe_conflict(conflict) == (
        f"A return could not take back {earned.earned} points already spent; the refund"
        " should have been that much less."
    )
    db.close()
