"""Snapshots of the main screens in Russian and English at 80×24 and 120×40.

The server runs on a fixed clock and the till on the same fixed clock, so balances, dates and
the status line's time are the same on every run. Update with ``--snapshot-update`` after a
deliberate change and look at the SVGs before committing them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input

from processing.server.testing import ManualClock
from terminal.launch import build_till_app
from terminal.messages import ScanReceived
from tests.support.ui import ANNA, fixed_clock, server, settle, till_settings

SIZES = [(80, 24), (120, 40)]
LANGUAGES = ["ru", "en"]


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Local time is UTC, so the status line's clock is the same on every machine."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


async def steady_cursor(pilot: Any) -> None:
    """A blinking cursor is drawn or not at the moment of capture (half the runs differed by
    that one cell); a steady cursor is what the snapshots hold."""
    for field in pilot.app.screen.query(Input):
        field.cursor_blink = False
    await pilot.pause()


def snapshot_app(tmp_path: Path, srv: Any, language: str, cashier: str | None) -> Any:
    settings = till_settings(
        tmp_path, srv.url, srv.api_key, till={"language": language, "receipt_language": language}
    )
    return build_till_app(settings, None, start_cashier=cashier, clock=fixed_clock)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_login_screen(
    tmp_path: Path, snap_compare: Any, language: str, size: tuple[int, int]
) -> None:
    with server(tmp_path, clock=ManualClock(fixed_clock())) as srv:
        app = snapshot_app(tmp_path, srv, language, cashier=None)

        async def ready(pilot: Any) -> None:
            await settle(pilot)
            await steady_cursor(pilot)

        assert snap_compare(app, terminal_size=size, run_before=ready)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_sale_screen_with_member_and_preview(
    tmp_path: Path, snap_compare: Any, language: str, size: tuple[int, int]
) -> None:
    with server(tmp_path, clock=ManualClock(fixed_clock())) as srv:
        app = snapshot_app(tmp_path, srv, language, cashier="1")

        async def identified_with_amount(pilot: Any) -> None:
            await settle(pilot)
            pilot.app.post_message(ScanReceived(ANNA, "serial"))
            await settle(pilot)
            for key in ("1", "2", "0", "0", "enter", "f2"):
                await pilot.press(key)
                await settle(pilot)
            await steady_cursor(pilot)

        assert snap_compare(app, terminal_size=size, run_before=identified_with_amount)
