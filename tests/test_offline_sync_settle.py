"""A printed sale's record is never given up on while the server may still settle it.

Real server on loopback (its clock moved by the test), real till database, the real sync engine
and transport. A confirmation that arrives after the hold's ten minutes is for a sale whose
receipt was printed: the till keeps it queued (the server settles late confirms) instead of
dead-lettering it, which left the points in limbo.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from offline_cache.checks import CheckRecord, commit_check
from offline_cache.conflicts import open_conflicts
from offline_cache.db import open_database
from offline_cache.link import ProcessingTransport
from offline_cache.offline import outstanding_budget_use
from offline_cache.outbox import Outbox
from offline_cache.sync import SyncEngine
from processing import wire
from processing.client import ProcessingClient
from processing.server.testing import ManualClock, RunningServer

ANNA = "100001"


def test_a_late_confirmation_is_not_dead_lettered(
    tmp_path: Path, client: ProcessingClient, server: RunningServer, clock: ManualClock
) -> None:
    check_id = str(uuid.uuid4())
    request = wire.CheckRequest(
        check_id=check_id,
        member_id=ANNA,
        lines=[wire.Line(price=Decimal(500), quantity=Decimal(1), amount=Decimal(500))],
        requested_spend=Decimal(100),
    )
    calc = client.calculate(request)
    hold = client.hold(
        wire.HoldRequest(**request.model_dump(), fingerprint=calc.fingerprint),
        idempotency_key=f"{check_id}-hold",
    )
    till_db = tmp_path / "till.sqlite3"
    db = open_database(till_db)
    # The sale was committed and printed; the confirmation was lost with the network.
    commit_check(
        db,
        CheckRecord(
            check_id=check_id,
            member_id=ANNA,
            total=Decimal(500),
            earned=Decimal(0),
            spent=Decimal(100),
            offline=False,
            payload={"check_id": check_id, "hold_id": hold.hold_id},
        ),
    )
    clock.advance(server.ctx.hold_ttl + 60)  # the network came back eleven minutes later
    SyncEngine(till_db, ProcessingTransport(client)).drain()
    record = Outbox(db).get(check_id)
    assert record.state != "dead", record.dead_reason
    db.close()


def _offline(check_id: str, member: str, spend: str) -> CheckRecord:
    payload = wire.OfflineCheck(
        check_id=check_id,
        member_id=member,
        lines=[wire.Line(price=Decimal(500), quantity=Decimal(1), amount=Decimal(500))],
        spent_offline=Decimal(spend),
        made_at=datetime.now(UTC) - timedelta(minutes=5),
    ).model_dump(mode="json")
    return CheckRecord(check_id, member, Decimal(500), Decimal(0), Decimal(spend), True, payload)


def test_a_refused_offline_spend_stays_visible_and_counted(
    tmp_path: Path, client: ProcessingClient
) -> None:
    till_db = tmp_path / "till.sqlite3"
    db = open_database(till_db)
    commit_check(db, _offline("ok-1", ANNA, "0"))
    commit_check(db, _offline("gone-1", "999999", "50"))
    report = SyncEngine(till_db, ProcessingTransport(client)).drain()
    assert [record_id for record_id, _ in report.dead] == ["gone-1"]
    kinds = [(c.record_id, c.kind) for c in open_conflicts(db)]
    assert ("gone-1", "refused") in kinds
    # The till gave 50 points the server never applied: they stay used until a manager sees it.
    assert outstanding_budget_use(db) == Decimal(50)
    db.close()
