"""The register's receipt on the sale screen: the real app (Pilot) with its bridge on, a
register played by the simulator over HTTP, and the reference server on loopback.
"""

from __future__ import annotations

import asyncio
import socket
from decimal import Decimal
from pathlib import Path
from typing import Any

from terminal.bridge.simulator import Register, cart_line
from terminal.messages import ScanReceived
from terminal.screens.sale import SaleScreen
from terminal.widgets.check_panel import CheckPanel
from tests.support.ui import ANNA, app_for, server, settle, till_settings

LINES = [
    cart_line(1, "Milk", "89.90", "2"),
    cart_line(2, "Cheese", "899.00", "0.455", "409.05"),
    cart_line(3, "Cigarettes", "199.99", payable_with_points=False),
]
"""A register's receipt: 788.84 in all."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def message(screen: Any) -> str:
    return str(screen.query_one("#message").render())


def test_the_registers_cart_is_shown_identified_spent_and_handed_back(tmp_path: Path) -> None:
    with server(tmp_path) as srv:
        port = free_port()
        settings = till_settings(
            tmp_path, srv.url, srv.api_key, bridge={"enabled": True, "port": port}
        )
        app = app_for(settings)
        seen: dict[str, Any] = {}

        async def scenario() -> None:
            async with app.run_test(size=(140, 40)) as pilot:
                await settle(pilot)
                screen = app.screen
                assert isinstance(screen, SaleScreen)
                pos = Register(f"http://127.0.0.1:{port}", "POS-1")
                try:
                    await asyncio.to_thread(pos.put_cart, "R-UI", LINES)
                    await settle(pilot)
                    assert screen.bridged is not None
                    panel = str(screen.query_one(CheckPanel).render())
                    assert "Milk" in panel and "Cigarettes" in panel and "788.84" in panel
                    assert "POS-1" in str(screen.query_one(CheckPanel).border_subtitle)

                    # The register's lines are read-only here.
                    await pilot.press("1", "0", "0", "enter")
                    await settle(pilot)
                    assert "cash register" in message(screen)
                    assert screen.draft is not None and len(screen.draft.lines) == 3

                    # The customer panel works as today: the scan identifies for the register.
                    app.post_message(ScanReceived(ANNA, "serial"))
                    await settle(pilot)
                    state = await asyncio.to_thread(pos.state, "R-UI")
                    assert state["member"]["phone_masked"].endswith("67")
                    assert screen.member is not None

                    # F2 spends the most allowed, on the lines points may pay for.
                    await pilot.press("f2")
                    await settle(pilot)
                    state = await asyncio.to_thread(pos.state, "R-UI")
                    calc = state["calculation"]
                    seen["spend"] = Decimal(calc["spend"])
                    seen["discounts"] = [Decimal(line["discount"]) for line in calc["lines"]]
                    assert not state["cashier_done"]

                    # Enter hands the check back; the register finishes it and the screen
                    # is free for the next one.
                    await pilot.press("enter")
                    await settle(pilot)
                    state = await asyncio.to_thread(pos.state, "R-UI")
                    assert state["cashier_done"] is True
                    assert "Handed back" in message(screen)
                    done = await asyncio.to_thread(pos.finish, "R-UI", "FN-UI")
                    seen["spent"] = Decimal(done["finish"]["spent"])
                    await settle(pilot)
                    assert screen.bridged is None and screen.draft is None
                    assert "finished" in message(screen)
                finally:
                    pos.close()

        asyncio.run(scenario())
    assert seen["spend"] > 0
    assert seen["spent"] == seen["spend"]
    assert sum(seen["discounts"], Decimal(0)) == seen["spend"]
    assert seen["discounts"][2] == 0
