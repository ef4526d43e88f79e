"""Keys at the till: a quickly typed amount is an amount; Tab moves through the login form."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from textual import events
from textual.widgets import Input

from terminal.app import TillApp
from terminal.config import Settings
from terminal.screens.login import LoginScreen
from tests.support.ui import app_for, drive, message, scan_anna, server, settle, till_settings


def test_an_amount_typed_faster_than_the_wedge_gap_is_taken_as_the_amount(
    tmp_path: Path,
) -> None:
    with server(tmp_path) as srv:
        # The widest gap the config allows, so the test's keys surely count as one burst.
        settings = till_settings(
            tmp_path, srv.url, srv.api_key, scanner={"keyboard_max_gap_ms": 500}
        )
        app = app_for(settings)
        out: dict[str, Any] = {}

        async def scenario(app: TillApp, pilot: Any) -> None:
            screen = await scan_anna(app, pilot)
            # One press() call: the keys arrive closer together than the wedge gap.
            await pilot.press(*"1234.50", "enter")
            await settle(pilot)
            out["lines"] = [line.amount for line in screen.draft.lines] if screen.draft else []
            out["message"] = message(app)

        drive(app, scenario)
        assert out["lines"] == [Decimal("1234.50")], out["message"]


def test_tab_in_a_fast_burst_moves_from_the_cashier_to_the_pin(settings: Settings) -> None:
    app = app_for(settings, cashier=None)
    out: dict[str, Any] = {}

    async def scenario(app: TillApp, pilot: Any) -> None:
        assert isinstance(app.screen, LoginScreen)
        # As a terminal delivers keys typed quickly: all queued before any is handled
        # (Pilot's press() would wait for each key to be handled first).
        for key, character in [("7", "7"), ("tab", "\t"), *[(d, d) for d in "1234"]]:
            app.post_message(events.Key(key, character))
        await settle(pilot)
        out["cashier"] = app.screen.query_one("#cashier", Input).value
        out["pin"] = app.screen.query_one("#pin", Input).value

    drive(app, scenario)
    assert out == {"cashier": "7", "pin": "1234"}
