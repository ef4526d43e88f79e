"""Offline replay applies the program as online would at ``made_at``: the till's spend is a
request, capped by the program's rules and the balance; the rest is a conflict, never debited."""

from __future__ import annotations

from decimal import Decimal

import pytest

from processing import wire
from processing.client import ProcessingClient
from processing.errors import Rejected
from processing.server import ledger
from processing.server.testing import ManualClock, RunningServer
from tests.support.holds import ANNA, IVAN
from tests.support.settling import available, lifetime_spend, offline_check, quiet_clock


@pytest.fixture
def clock() -> ManualClock:
    return quiet_clock()


def _line(amount: str, category: str = "dairy") -> wire.Line:
    return wire.Line(
        name="Товар",
        category=category,
        price=Decimal(amount),
        quantity=Decimal("1"),
        amount=Decimal(amount),
    )


def _replay(
    client: ProcessingClient,
    clock: ManualClock,
    check_id: str,
    member: str,
    spent: str,
    line: wire.Line,
    **extra: object,
) -> wire.CheckResult:
    """The till's offline check of one ``line``, ``spent`` points taken, replayed now."""
    return client.replay_offline(
        offline_check(check_id, member, [line], clock(), spent, **extra),
        idempotency_key=f"k-{check_id}",
    )


def _conflicts(server: RunningServer) -> list[tuple[str, str]]:
    with server.ctx.storage.read() as db:
        return [(str(r[0]), str(r[1])) for r in db.execute("SELECT check_id, kind FROM conflicts")]


def test_replay_spends_no_more_than_the_share_of_the_check_allows(
    client: ProcessingClient, server: RunningServer, clock: ManualClock
) -> None:
    # The repro: one 10.00 line and 500.00 spent offline answered 200 and debited 500.
    points, lifetime = available(server, ANNA), lifetime_spend(server, ANNA)
    result = _replay(client, clock, "inflated", ANNA, "500.00", _line("10.00"))
    # 30 % of 10.00 is 3.00 (whole points): that much is the program's; the rest a conflict.
    assert result.spent == Decimal("3.00")
    assert result.conflict == "offline_spend_shortfall"
    assert result.shortfall == Decimal("497.00")
    assert result.earned == Decimal("0.00")  # nothing was paid in money
    after, lifetime_after = available(server, ANNA), lifetime_spend(server, ANNA)
    assert points - after == 3_00
    assert lifetime_after >= lifetime  # spending points never lowers the tier's base
    assert _conflicts(server) == [("inflated", "offline_spend_shortfall")]
    with server.ctx.storage.read() as db:
        assert ledger.audit(db) == []


def test_replay_spends_nothing_on_an_excluded_category(
    client: ProcessingClient, server: RunningServer, clock: ManualClock
) -> None:
    points = available(server, ANNA)
    result = _replay(client, clock, "smokes", ANNA, "50.00", _line("189.00", "tobacco"))
    assert (result.spent, result.shortfall) == (Decimal("0.00"), Decimal("50.00"))
    assert result.conflict == "offline_spend_shortfall"
    assert available(server, ANNA) == points


def test_replay_within_the_rules_spends_and_earns_as_online(
    client: ProcessingClient, server: RunningServer, clock: ManualClock
) -> None:
    lifetime = lifetime_spend(server, ANNA)
    result = _replay(client, clock, "fair", ANNA, "300.00", _line("1000.00"))
    assert (result.spent, result.conflict, result.shortfall) == (
        Decimal("300.00"),
        None,
        Decimal("0.00"),
    )
    assert result.earned == Decimal("21.00")  # 3 % of the 700.00 paid in money
    assert lifetime_spend(server, ANNA) == lifetime + 700_00
    assert _conflicts(server) == []


def test_replay_of_fractional_points_spends_whole_points_only(
    client: ProcessingClient, server: RunningServer, clock: ManualClock
) -> None:
    result = _replay(client, clock, "cents", ANNA, "10.50", _line("1000.00"))
    assert (result.spent, result.shortfall) == (Decimal("10.00"), Decimal("0.50"))


def test_replay_above_the_code_threshold_needs_a_manager_override(
    client: ProcessingClient, server: RunningServer, clock: ManualClock
) -> None:
    points = available(server, IVAN)
    bare = _replay(client, clock, "big-1", IVAN, "600.00", _line("3000.00"))
    # No code could be asked offline and no manager vouched for it: nothing is debited.
    assert (bare.spent, bare.shortfall) == (Decimal("0.00"), Decimal("600.00"))
    assert bare.conflict == "offline_spend_shortfall"
    assert available(server, IVAN) == points + 0  # the earn is frozen
    override = wire.ManagerOverride(cashier_id="m-7", reason="customer known, phone dead")
    vouched = _replay(
        client, clock, "big-2", IVAN, "600.00", _line("3000.00"), manager_override=override
    )
    assert (vouched.spent, vouched.conflict) == (Decimal("600.00"), None)
    with server.ctx.storage.read() as db:
        row = db.execute("SELECT kind, details FROM conflicts WHERE check_id = 'big-2'").fetchone()
    assert row[0] == "manager_override" and "m-7" in row[1]


def test_replay_for_an_earn_only_member_spends_nothing(
    client: ProcessingClient, server: RunningServer, clock: ManualClock
) -> None:
    with server.ctx.storage.write() as db:
        db.execute("UPDATE members SET state = 'earn_only' WHERE id = ?", [ANNA])
    result = _replay(client, clock, "earn-only", ANNA, "100.00", _line("1000.00"))
    assert (result.spent, result.shortfall) == (Decimal("0.00"), Decimal("100.00"))


def test_replay_for_an_unknown_member_is_404(client: ProcessingClient, clock: ManualClock) -> None:
    with pytest.raises(Rejected) as caught:
        _replay(client, clock, "nobody", "999999", "0", _line("10.00"))
    assert (caught.value.code, caught.value.status) == ("unknown_member", 404)


def test_replay_beyond_the_share_earns_only_on_the_money_paid(
    client: ProcessingClient, server: RunningServer, clock: ManualClock
) -> None:
    points, lifetime = available(server, ANNA), lifetime_spend(server, ANNA)
    result = _replay(client, clock, "over", ANNA, "500.00", _line("1000.00"))
    # 30 % of 1000.00 may be paid with points; the till took 500, so 500.00 came in money.
    assert (result.spent, result.shortfall) == (Decimal("300.00"), Decimal("200.00"))
    assert result.earned == Decimal("15.00")  # 3 % of the 500.00 paid in money
    after, lifetime_after = available(server, ANNA), lifetime_spend(server, ANNA)
    assert (points - after, lifetime_after - lifetime) == (300_00, 500_00)
    with server.ctx.storage.read() as db:
        (details,) = db.execute("SELECT details FROM conflicts WHERE check_id = 'over'").fetchone()
    assert '"reason": "program"' in details
