"""The customer panel tells the truth after a sale and on a birthday."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from terminal.app import TillApp
from terminal.i18n import points
from terminal.messages import ScanReceived
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
