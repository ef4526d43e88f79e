"""The sync screen lists the open conflicts; a manager marks one seen with F7 (audited).

Real server on loopback, real till database; the network is a relay the test unplugs
(:class:`~tests.support.ui.Cable`). The conflict is a real one: the till spends points
offline that another till spent on the server meanwhile.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from textual.widgets import DataTable

from processing import wire
from processing.client import ProcessingClient
from processing.server.testing import RunningServer
from terminal.app import TillApp
from terminal.pins import hash_pin
from terminal.screens.manager import ManagerPin
from terminal.screens.sync import SyncScreen
from tests.support.ui import (
    ANNA,
    app_for,
    behind_cable,
    drive,
    message,
    press,
    sell,
    till_db,
)


def spend_everything_elsewhere(srv: RunningServer) -> None:
    """Another till replays a check that spends all of Anna's 1 500 points on the server."""
    with srv.ctx.storage.read() as sdb:
        (member_id,) = sdb.execute("SELECT id FROM members WHERE phone = ?", [ANNA]).fetchone()
    line = wire.Line(
        sku="SKU00010",
        name="Bread",
        category="bakery",
        price=Decimal("10000.00"),
        quantity=Decimal(1),
        amount=Decimal("10000.00"),
    )
    check = wire.OfflineCheck(
        check_id=str(uuid.uuid4()),
        member_id=member_id,
        lines=[line],
        spent_offline=Decimal(1500),
        made_at=datetime.now(UTC),
        # Above the SMS-code threshold: the server debits it only with a manager's word.
        manager_override=wire.ManagerOverride(cashier_id="manager", reason="test"),
    )
    with ProcessingClient(srv.url, srv.api_key) as client:
        (result,) = client.replay_batch(
            [wire.ReplayItem(idempotency_key=check.check_id, check=check)]
        )
    assert result.result is not None and result.result.spent == Decimal("1500.00")


def test_an_offline_spend_above_the_real_balance_is_listed_and_marked_seen(
    tmp_path: Path,
) -> None:
    with behind_cable(
        tmp_path, offline={"spend_enabled": True}, security={"admin_pin_hash": hash_pin("7777")}
    ) as (srv, cable, settings):
        app = app_for(settings)
        out: dict[str, Any] = {}

        async def scenario(app: TillApp, pilot: Any) -> None:
            cable.unplug()
            screen = await sell(app, pilot, "1000", "f2")
            assert screen.preview is not None and screen.preview.spend == Decimal(300)
            await press(pilot, "enter")
            if isinstance(app.screen, ManagerPin):  # an offline spend this size needs the PIN
                await press(pilot, *"7777", "enter")
            assert screen.result is not None and screen.result.offline, message(app)
            out["check_id"] = screen.result.check_id
            spend_everything_elsewhere(srv)
            cable.plug()
            await press(pilot, "f8")
            sync = app.screen
            assert isinstance(sync, SyncScreen)
            await press(pilot, "f5")
            out["conflicts"] = list(sync.conflicts)
            table = sync.query_one("#conflicts", DataTable)
            out["shown"] = table.display
            out["title"] = str(sync.query_one("#conflicts-title").render())
            out["cells"] = [
                [str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)
            ]
            await press(pilot, "f7")
            assert isinstance(app.screen, ManagerPin), message(app)
            await press(pilot, *"7777", "enter")
            assert app.screen is sync
            out["after"] = list(sync.conflicts)

        try:
            drive(app, scenario)
        finally:
            cable.close()
        check_id = out["check_id"]
        conflicts = out["conflicts"]
        assert conflicts and {c.record_id for c in conflicts} == {check_id}
        assert all(c.phone_masked == "+7 916 ***-**-67" for c in conflicts)
        assert out["shown"] and "Open conflicts" in out["title"]
        sentences = [row[3] for row in out["cells"]]
        assert (
            "Offline spend above the real balance: 300.00 requested, 0.00 applied." in sentences
        ), sentences
        assert all(row[1] == check_id[:8] and row[2] == "+7 916 ***-**-67" for row in out["cells"])
        # F7 marked the newest one seen; the rest stay open.
        assert len(out["after"]) == len(conflicts) - 1
        with till_db(settings) as db:
            audit = db.execute(
                "SELECT override_by, record_id FROM audit_log WHERE action = 'conflict_resolved'"
            ).fetchall()
            resolved = db.execute(
                "SELECT count(*) FROM conflicts WHERE resolved_at IS NOT NULL"
            ).fetchone()[0]
        assert audit == [("manager", check_id)]
        assert resolved == 1
