"""The sale flow through the keyboard, asserted on the server's ledger and the till's outbox."""

from __future__ import annotations

import asyncio
from pathlib import Path

from terminal.messages import ScanReceived
from terminal.screens.sale import SaleScreen
from tests.ui_support import ANNA, app_for, server, settle, till_db, till_settings


def test_scan_amount_confirm_earns_and_queues_receipt(tmp_path: Path) -> None:
    with server(tmp_path) as srv:
        settings = till_settings(tmp_path, srv.url, srv.api_key)
        app = app_for(settings)

        async def scenario() -> None:
            async with app.run_test(size=(120, 40)) as pilot:
                await settle(pilot)
                screen = app.screen
                assert isinstance(screen, SaleScreen)
                app.post_message(ScanReceived(ANNA, "serial"))
                await settle(pilot)
                assert screen.member is not None
                await pilot.press("1", "0", "0", "0", "enter")
                await settle(pilot)
                assert screen.preview is not None, screen.query_one("#message").render()
                assert screen.preview.earn > 0
                await pilot.press("enter")
                await settle(pilot)
                assert screen.result is not None, screen.query_one("#message").render()

        asyncio.run(scenario())
        screen_result = app.screen_stack  # noqa: F841  (the app has exited; state is below)
    with till_db(settings) as db:
        row = db.execute("SELECT id, state, kind FROM outbox").fetchall()
        assert [(r[1], r[2]) for r in row] == [("acknowledged", "hold_confirm")]
        jobs = db.execute("SELECT count(*) FROM print_jobs WHERE check_id = ?", [row[0][0]])
        assert jobs.fetchone()[0] == 1
