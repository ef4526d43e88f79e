"""``audit`` checks the ledger's invariants: sound after a realistic day on the real server,
and every deliberately broken row named."""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path

from click.testing import CliRunner, Result

from processing import wire
from processing.client import ClientSettings, ProcessingClient
from processing.server import ledger
from processing.server.cli import processing
from processing.server.testing import ManualClock, RunningServer, running_server

ANNA, IVAN = "100001", "100002"
MILK = "4600070000014"


def audit(db: Path) -> Result:
    return CliRunner().invoke(processing, ["audit", "--db", str(db)])


def _line(amount: str) -> wire.Line:
    return wire.Line(
        barcode=MILK,
        name="Молоко",
        price=Decimal(amount),
        quantity=Decimal("2"),
        amount=Decimal(amount) * 2,
    )


def _sale(client: ProcessingClient, check_id: str, member: str, spend: str) -> None:
    request = wire.CheckRequest(
        check_id=check_id, member_id=member, lines=[_line("500.00")], requested_spend=Decimal(spend)
    )
    calc = client.calculate(request)
    hold = wire.HoldRequest(**request.model_dump(), fingerprint=calc.fingerprint)
    client.hold(hold, idempotency_key=f"h-{check_id}")
    client.confirm(check_id, idempotency_key=f"c-{check_id}")


def _realistic_day(server: RunningServer, client: ProcessingClient, clock: ManualClock) -> None:
    _sale(client, "sale-1", ANNA, "100")
    _sale(client, "sale-2", IVAN, "0")
    request = wire.CheckRequest(
        check_id="void-1", member_id=IVAN, lines=[_line("100.00")], requested_spend=Decimal("50")
    )
    calc = client.calculate(request)
    client.hold(
        wire.HoldRequest(**request.model_dump(), fingerprint=calc.fingerprint),
        idempotency_key="h-void",
    )
    client.cancel("void-1", idempotency_key="x-void")
    client.replay_offline(
        wire.OfflineCheck(
            check_id="offline-1",
            member_id=ANNA,
            lines=[_line("10.00")],
            spent_offline=Decimal("400"),  # far beyond the share of the check: a conflict
            made_at=clock(),
        ),
        idempotency_key="o-1",
    )
    client.return_check(
        wire.ReturnRequest(
            return_id="r-1",
            check_id="sale-1",
            lines=[wire.ReturnLine(index=0, quantity=Decimal("1"))],
        ),
        idempotency_key="r-1",
    )
    clock.advance(400 * 86400)  # lots expire
    with server.ctx.storage.write() as db:
        ledger.expire_lots(db, server.ctx.now())


def test_the_ledger_is_sound_after_a_realistic_day(
    server: RunningServer, client: ProcessingClient, clock: ManualClock
) -> None:
    _realistic_day(server, client, clock)
    result = audit(server.ctx.storage.location)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("The ledger is sound: ")
    assert " 0 checks" not in result.output


def test_audit_names_each_broken_row_and_exits_1(tmp_path: Path, clock: ManualClock) -> None:
    # Its own server, not the ``server`` fixture: that one audits the books when it stops.
    db = tmp_path / "broken.db"
    with (
        running_server(db, clock=clock, synchronous="NORMAL") as live,
        ProcessingClient(live.url, live.api_key, ClientSettings(attempts=1)) as client,
    ):
        _sale(client, "sale-1", ANNA, "100")
    with sqlite3.connect(db) as conn:
        lot = conn.execute(
            "SELECT id FROM lots WHERE member_id = ? AND check_id IS NULL ORDER BY id LIMIT 1",
            [IVAN],
        ).fetchone()[0]
        conn.execute("UPDATE lots SET remaining = remaining + 700 WHERE id = ?", [lot])
        conn.execute("DELETE FROM movements WHERE check_id = 'sale-1' AND kind = 'earn'")
    result = audit(db)
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert f"member {IVAN}: its lots hold 2507.00 points, its movements sum to 2500.00" in lines
    assert any(line.startswith(f"lot {lot} of member {IVAN}: issued 2500.00") for line in lines)
    # The earn's movement is gone: the member, the lot and the check each show it.
    assert f"member {ANNA}: its lots hold 1472.00 points, its movements sum to 1445.00" in lines
    assert any(line.endswith("its movements sum to 0.00 (first none)") for line in lines)
    assert (
        "check sale-1 (confirmed): earned 27.00 and spent 100.00, but its movements earn 0.00"
        " and spend 100.00"
    ) in lines
    assert result.stderr == f"{len(lines)} breaks in the ledger.\n"
