"""The accountant's reports (liability per store, movements of a period) and the conflicts an
operator resolves, with who and why kept."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

from click.testing import CliRunner, Result

from processing import wire
from processing.client import ProcessingClient
from processing.server.cli import processing
from processing.server.testing import ManualClock, RunningServer

ANNA = "100001"  # 1500 active points, home store S1


def run(server: RunningServer, *args: str) -> Result:
    return CliRunner().invoke(processing, [*args, "--db", server.ctx.storage.location])


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def _offline(check_id: str, spent: str, clock: ManualClock) -> wire.OfflineCheck:
    return wire.OfflineCheck(
        check_id=check_id,
        member_id=ANNA,
        lines=[
            wire.Line(
                name="Сыр",
                category="dairy",
                price=Decimal("1000.00"),
                quantity=Decimal("1"),
                amount=Decimal("1000.00"),
            )
        ],
        spent_offline=Decimal(spent),
        made_at=clock(),
    )


def test_liability_grows_by_the_earn_and_movements_list_the_day(
    server: RunningServer, client: ProcessingClient, clock: ManualClock
) -> None:
    today = datetime.now(UTC).date().isoformat()
    before = {
        r["store"]: r for r in _rows(run(server, "report", "liability", "--at", today).output)
    }
    client.replay_offline(_offline("off-1", "0", clock), idempotency_key="o1")
    after = {r["store"]: r for r in _rows(run(server, "report", "liability", "--at", today).output)}
    # 3 % of 1000 earned at store S1, frozen for 14 days: the liability grows by 30.
    assert Decimal(after["S1"]["frozen_points"]) - Decimal(before["S1"]["frozen_points"]) == 30
    assert after["TOTAL"]["currency"] == "RUB"
    assert Decimal(after["TOTAL"]["amount"]) == sum(
        Decimal(r["amount"]) for store, r in after.items() if store != "TOTAL"
    )
    with server.ctx.storage.read() as conn:
        outstanding = conn.execute(
            "SELECT SUM(remaining) FROM lots WHERE expires_at IS NULL OR expires_at > ?",
            [int(datetime.fromisoformat(today).replace(tzinfo=UTC).timestamp()) + 86400],
        ).fetchone()[0]
    assert Decimal(after["TOTAL"]["points"]) == Decimal(outstanding) / 100
    moves = _rows(run(server, "report", "movements", "--from", today, "--to", today).output)
    of_check = [m for m in moves if m["check_id"]]
    assert [
        (m["member_id"], m["kind"], m["points"], m["check_id"], m["store"]) for m in of_check
    ] == [(ANNA, "earn", "30.00", "off-1", "S1")]
    assert {m["note"] for m in moves if not m["check_id"]} == {"demo seed"}
    backwards = run(server, "report", "movements", "--from", today, "--to", "2000-01-01")
    assert backwards.output == "Error: --to is before --from.\n"


def test_a_conflict_is_resolved_once_with_who_and_why(
    server: RunningServer, client: ProcessingClient, clock: ManualClock
) -> None:
    assert run(server, "conflicts", "list").output == "No open conflicts.\n"
    result = client.replay_offline(_offline("greedy", "500", clock), idempotency_key="g")
    assert result.shortfall == Decimal("200.00")  # 30 % of 1000 allowed
    listed = run(server, "conflicts", "list").output.splitlines()
    assert len(listed) == 1
    assert listed[0].startswith("#1 ")
    assert "offline_spend_shortfall check greedy member 100001" in listed[0]
    assert "shortfall 200.00" in listed[0]
    assert listed[0].endswith("[open]")
    resolved = run(
        server, "conflicts", "resolve", "1", "--debit", "--reason", "customer agreed",
        "--operator", "olga",
    )  # fmt: skip
    assert resolved.output == (
        "Conflict 1 resolved by olga; 200.00 points debited from member 100001.\n"
    )
    assert run(server, "conflicts", "list").output == "No open conflicts.\n"
    assert run(server, "conflicts", "list", "--all").output.rstrip().endswith("[resolved by olga]")
    again = run(server, "conflicts", "resolve", "1", "--reason", "x")
    assert again.exit_code == 1
    assert again.output == "Error: Conflict 1 was resolved by olga already.\n"
    with server.ctx.storage.read() as conn:
        debit = conn.execute(
            "SELECT SUM(points), MAX(note) FROM movements WHERE kind = 'adjust'"
            " AND member_id = ? AND note LIKE 'conflict 1%'",
            [ANNA],
        ).fetchone()
        log = conn.execute("SELECT operator, action, subject, reason FROM operator_log").fetchall()
    assert debit == (-20000, "conflict 1 (greedy): customer agreed (olga)")
    assert log == [("olga", "conflict_resolve", "1", "customer agreed")]
