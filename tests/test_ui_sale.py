"""The sale flow through the keyboard, asserted on the server's ledger, the outbox and paper.

The scanner is the one piece of hardware faked: a scan is posted exactly as the serial reader
thread posts it. The printer is the real file printer driven by the real print worker.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

from drivers.escpos_decode import decode_escpos
from terminal.views import SaleResult
from tests.support.ui import (
    app_for,
    scan_anna,
    server,
    server_check,
    settle,
    till_db,
    till_settings,
    wait_printed,
)

DIGITS = set("0123456789")


class KeyCounter:
    """Presses keys through the pilot and counts those that are not amount digits."""

    def __init__(self, pilot: Any) -> None:
        self.pilot = pilot
        self.other_keys = 0

    async def press(self, *keys: str) -> None:
        for key in keys:
            if key not in DIGITS:
                self.other_keys += 1
            await self.pilot.press(key)
            await settle(self.pilot)


def run_sale(tmp_path: Path, keys: tuple[str, ...]) -> tuple[SaleResult, int, bytes, Any, Any]:
    """Scan Anna, press ``keys``; returns the result, other-key count, paper, server, settings."""
    with server(tmp_path) as srv:
        settings = till_settings(tmp_path, srv.url, srv.api_key)
        app = app_for(settings)
        out: dict[str, Any] = {}

        async def scenario() -> None:
            async with app.run_test(size=(120, 40)) as pilot:
                await settle(pilot)
                screen = await scan_anna(app, pilot)
                assert screen.member is not None and screen.member.entry == "scanned"
                counter = KeyCounter(pilot)
                await counter.press(*keys)
                assert screen.result is not None, screen.query_one("#message").render()
                out["result"] = screen.result
                out["panel_available"] = screen.member.available
                out["keys"] = counter.other_keys
                out["paper"] = await wait_printed(pilot, Path(settings.printer.path))

        asyncio.run(scenario())
        ledger = server_check(srv, out["result"].check_id)
    # The customer panel shows the balance after the sale, not the one from before it.
    assert out["panel_available"] == out["result"].balance_after
    return out["result"], out["keys"], out["paper"], ledger, settings


def test_scanned_member_typed_amount_earns_in_two_keys(tmp_path: Path) -> None:
    result, other_keys, paper, ledger, settings = run_sale(
        tmp_path, ("1", "2", "0", "0", "enter", "enter")
    )
    assert other_keys <= 3
    assert result.confirmed and result.earned == Decimal(36) and result.spent == 0
    assert ledger == ("confirmed", 3600, 0)
    assert result.check_id[:8].upper().encode() in paper
    # The bonus block carries the member's tier and the points expiring soon (seeded: 300).
    printed = decode_escpos(paper, settings.printer.profile).text
    assert "Base" in printed and "Silver" in printed and "Expiring" in printed
    # Earned points activate later (the demo program freezes them 14 days): paper says until when.
    assert "Frozen until" in printed
    with till_db(settings) as db:
        rows = db.execute("SELECT id, state, kind FROM outbox").fetchall()
        assert rows == [(result.check_id, "acknowledged", "hold_confirm")]
        printed = db.execute("SELECT state FROM print_jobs WHERE check_id = ?", [rows[0][0]])
        assert printed.fetchall() == [("printed",)]


def test_spending_the_maximum_takes_three_keys(tmp_path: Path) -> None:
    result, other_keys, _paper, ledger, _settings = run_sale(
        tmp_path, ("1", "0", "0", "0", "enter", "f2", "enter")
    )
    assert other_keys <= 4
    # 30 % of 1 000 may be paid with points; earn is on the 700 paid in money.
    assert result.spent == Decimal(300) and result.earned == Decimal(21)
    assert ledger == ("confirmed", 2100, 30000)
    # Earned points are frozen first (deferred activation), so only the spend shows now.
    assert result.balance_after == Decimal(1200)
