"""A registration queued offline is confirmed with the customer's code once the server is back.

Real server on loopback, real till database; the network is a relay the test unplugs
(:class:`~tests.support.ui.Cable`). Every test asserts the server's members and the till's
audit, not only the screen.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from processing.server.testing import ManualClock, RunningServer
from terminal.app import TillApp
from terminal.screens.registration import PendingCodePrompt, RegistrationScreen
from terminal.screens.sale import SaleScreen
from terminal.screens.sync import SyncScreen
from tests.support.ui import (
    Cable,
    app_for,
    behind_cable,
    drive,
    message,
    press,
    server,
    till_db,
    till_settings,
)

PHONE = "+79990003344"


def wrong(code: str) -> str:
    return "000000" if code != "000000" else "111111"


async def register_offline_then_sync(app: TillApp, pilot: Any, cable: Cable) -> None:
    """Register PHONE with the cable out, plug it back, open the sync screen and send now."""
    cable.unplug()
    await press(pilot, "f5")
    assert isinstance(app.screen, RegistrationScreen)
    await press(pilot, *PHONE, "tab", "space", "tab", *"Vera", "f10")
    assert "queued" in message(app), message(app)
    await press(pilot, "escape")
    cable.plug()
    await press(pilot, "f8")
    assert isinstance(app.screen, SyncScreen)
    await press(pilot, "f5")


def server_member(srv: RunningServer) -> tuple[Any, ...] | None:
    with srv.ctx.storage.read() as db:
        row = db.execute(
            "SELECT name, consent, state FROM members WHERE phone = ?", [PHONE]
        ).fetchone()
    return None if row is None else tuple(row)


def confirmed_audit(settings: Any) -> list[Any]:
    with till_db(settings) as db:
        return db.execute(
            "SELECT action, detail FROM audit_log WHERE action LIKE 'registration%' ORDER BY seq"
        ).fetchall()


def test_queued_registration_is_confirmed_from_the_sync_screen(tmp_path: Path) -> None:
    with behind_cable(tmp_path) as (srv, cable, settings):
        app = app_for(settings)
        out: dict[str, Any] = {}

        async def scenario(app: TillApp, pilot: Any) -> None:
            await register_offline_then_sync(app, pilot, cable)
            screen = app.screen
            assert isinstance(screen, SyncScreen)
            assert [p.phone_masked for p in screen.pending] == ["+7 999 ***-**-44"]
            out["before"] = server_member(srv)
            code = srv.latest_code(PHONE)
            await press(pilot, "enter")
            assert isinstance(app.screen, PendingCodePrompt), message(app)
            await press(pilot, *code, "enter")
            sale = app.screen
            assert isinstance(sale, SaleScreen), type(sale)
            out["member"] = sale.member
            out["pending"] = app.services.members.pending_registrations()

        try:
            drive(app, scenario)
        finally:
            cable.close()
        assert out["before"] is None  # the SMS code went out, the member waits for it
        member = out["member"]
        assert member is not None and member.name == "Vera" and member.online
        assert member.phone_masked == "+7 999 ***-**-44"
        assert server_member(srv) == ("Vera", 1, "active")
        assert out["pending"] == []
        audit = confirmed_audit(settings)
        assert [a for a, _ in audit] == ["registration_queued", "registration_confirmed"]
        assert PHONE not in str(audit)  # masked phones only


def test_a_wrong_code_is_said_and_the_registration_stays_pending(tmp_path: Path) -> None:
    with behind_cable(tmp_path) as (srv, cable, settings):
        app = app_for(settings)
        out: dict[str, Any] = {}

        async def scenario(app: TillApp, pilot: Any) -> None:
            await register_offline_then_sync(app, pilot, cable)
            await press(pilot, "enter")
            prompt = app.screen
            assert isinstance(prompt, PendingCodePrompt)
            await press(pilot, *wrong(srv.latest_code(PHONE)), "enter")
            assert app.screen is prompt
            out["error"] = str(prompt.query_one("#prompt-error").render())
            await press(pilot, "escape")
            screen = app.screen
            assert isinstance(screen, SyncScreen)
            out["rows"] = len(screen.pending)

        try:
            drive(app, scenario)
        finally:
            cable.close()
        assert out["error"] == "The SMS code is wrong; ask the customer again."
        assert out["rows"] == 1
        assert server_member(srv) is None


def test_the_phone_typed_at_the_sale_offers_the_code_prompt(tmp_path: Path) -> None:
    with behind_cable(tmp_path) as (srv, cable, settings):
        app = app_for(settings)
        out: dict[str, Any] = {}

        async def scenario(app: TillApp, pilot: Any) -> None:
            await register_offline_then_sync(app, pilot, cable)
            await press(pilot, "escape")
            assert isinstance(app.screen, SaleScreen)
            await press(pilot, *PHONE, "enter")
            assert isinstance(app.screen, PendingCodePrompt), message(app)
            await press(pilot, *srv.latest_code(PHONE), "enter")
            sale = app.screen
            assert isinstance(sale, SaleScreen)
            out["member"] = sale.member

        try:
            drive(app, scenario)
        finally:
            cable.close()
        assert out["member"] is not None and out["member"].name == "Vera"
        assert server_member(srv) == ("Vera", 1, "active")


def test_registration_screen_offers_the_prompt_and_an_expired_code_is_resent(
    tmp_path: Path,
) -> None:
    clock = ManualClock()
    with server(tmp_path, clock=clock) as srv:
        cable = Cable(srv.url)
        settings = till_settings(tmp_path, cable.url, srv.api_key)
        app = app_for(settings)
        out: dict[str, Any] = {}

        async def scenario(app: TillApp, pilot: Any) -> None:
            await register_offline_then_sync(app, pilot, cable)
            first = srv.latest_code(PHONE)
            clock.advance(400)  # the server's code lives 300 s
            await press(pilot, "escape", "f5")
            assert isinstance(app.screen, RegistrationScreen)
            await press(pilot, *PHONE, "enter")
            prompt = app.screen
            assert isinstance(prompt, PendingCodePrompt), message(app)
            await press(pilot, *first, "enter")
            out["error"] = str(prompt.query_one("#prompt-error").render())
            second = srv.latest_code(PHONE)
            out["new_code"] = second != first or None
            await press(pilot, *second, "enter")
            sale = app.screen
            assert isinstance(sale, SaleScreen), type(sale)
            out["member"] = sale.member

        try:
            drive(app, scenario)
        finally:
            cable.close()
        assert out["error"] == "The code has expired; a new code was sent to +7 999 ***-**-44."
        assert out["member"] is not None and out["member"].name == "Vera"
        assert server_member(srv) == ("Vera", 1, "active")
        actions = [a for a, _ in confirmed_audit(settings)]
        assert actions == [
            "registration_queued",
            "registration_code_resent",
            "registration_confirmed",
        ]
