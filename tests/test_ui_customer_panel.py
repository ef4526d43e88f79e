"""The customer panel tells the truth after a sale and on a birthday."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from terminal.app import TillApp
from terminal.i18n import points
from terminal.member_progress import after_sale
from terminal.messages import ScanReceived
from terminal.views import MemberView
from terminal.widgets.customer_panel import CustomerPanel
from tests.support.ui import (
    drive,
    message,
    press,
    scan_anna,
    settle,
)

ELENA = "+79161234572"
"""A demo member in the birthday window (Base tier 3 %, the program's birthday rate 14 %)."""


def _panel(app: TillApp) -> str:
    return str(app.screen.query_one(CustomerPanel).render())


def test_the_panel_shows_the_tier_progress_after_the_sale(app: TillApp) -> None:
    out: dict[str, Any] = {}

    async def scenario(app: TillApp, pilot: Any) -> None:
        screen = await scan_anna(app, pilot)
        out["before"] = _panel(app)
        await press(pilot, *"1000", "enter", "enter")
        assert screen.result is not None, message(app)
        out["after"] = _panel(app)

    drive(app, scenario)
    # Anna has spent 8 200 in her life; Silver starts at 15 000; this check paid 1 000.
    assert f"to Silver: {points(Decimal(6800))}" in out["before"]
    assert f"to Silver: {points(Decimal(5800))}" in out["after"], out["after"]


def test_a_member_in_the_birthday_window_is_shown_the_birthday_rate(app: TillApp) -> None:
    out: dict[str, Any] = {}

    async def scenario(app: TillApp, pilot: Any) -> None:
        app.post_message(ScanReceived(ELENA, "serial"))
        await settle(pilot)
        out["panel"] = _panel(app)

    drive(app, scenario)
    assert "14%" in out["panel"] and "irthday" in out["panel"], out["panel"]


def test_after_a_sale_the_panel_counts_only_the_points_still_to_expire() -> None:
    soon, later = datetime(2026, 12, 27, tzinfo=UTC), datetime(2027, 1, 5, tzinfo=UTC)
    anna = MemberView(
        member_id="100001", phone_masked="+7 916 ***-**-67", name="Анна", state="active",
        tier_name="Base", tier_rate=Decimal(3), next_tier=None, to_next=None,
        available=Decimal(1500), expiring_total=Decimal(400), expiring_on=soon,
        expiring_lots=((Decimal(300), soon), (Decimal(100), later)),
    )  # fmt: skip
    part = after_sale(anna, None, Decimal("900.00"), Decimal(1200), spent=Decimal(300))
    assert (part.expiring_total, part.expiring_on) == (Decimal(100), later)
    more = after_sale(anna, None, Decimal("640.00"), Decimal(1140), spent=Decimal(360))
    assert (more.expiring_total, more.expiring_on) == (Decimal(40), later)
    everything = after_sale(anna, None, Decimal(0), Decimal(1100), spent=Decimal(400))
    assert (everything.expiring_total, everything.expiring_on) == (Decimal(0), None)
