"""Admin behind the manager PIN: changes saved to config.toml survive a restart; kiosk rules."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

from textual.widgets import Checkbox, Input, Select

from terminal.config import load_settings
from terminal.errors import TillError
from terminal.launch import build_till_app
from terminal.messages import ScanReceived
from terminal.pins import hash_pin
from terminal.screens.admin import AdminScreen
from terminal.screens.login import LoginScreen
from terminal.screens.prompt import Prompt
from terminal.screens.sale import SaleScreen
from tests.support.ui import server, settle

PIN = "4321"


def write_config(tmp_path: Path, url: str, key: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f"""# a till's config
[till]
store_id = "S1"   # store
till_id = "T1"
language = "en"

[processing]
url = "{url}"
api_key = "{key}"

[printer]
kind = "none"

[offline]
db_path = "{tmp_path / "till.sqlite3"}"
per_check_cap = 300   # offline cap

[security]
admin_pin_hash = "{hash_pin(PIN)}"
""",
        encoding="utf-8",
    )
    return path


async def press(pilot: Any, *keys: str) -> None:
    for key in keys:
        await pilot.press(key)
        await settle(pilot)


async def open_admin(pilot: Any) -> AdminScreen:
    """F12 and the manager PIN: the unlocked admin screen."""
    await press(pilot, "f12", *PIN, "enter")
    admin = pilot.app.screen
    assert isinstance(admin, AdminScreen) and admin.unlocked
    return admin


def test_admin_changes_survive_a_restart(tmp_path: Path) -> None:
    with server(tmp_path) as srv:
        path = write_config(tmp_path, srv.url, srv.api_key)
        app = build_till_app(load_settings(path), path, start_cashier="1")
        seen: dict[str, Any] = {}

        async def change() -> None:
            async with app.run_test(size=(100, 30)) as pilot:
                await settle(pilot)
                await press(pilot, "f12")
                assert isinstance(app.screen, Prompt)
                await press(pilot, *"1111", "enter")
                seen["wrong"] = str(app.screen.query_one("#prompt-error").render())
                await press(pilot, *PIN, "enter")
                admin = app.screen
                assert isinstance(admin, AdminScreen) and admin.unlocked
                cap = admin.query_one("#per_check", Input)
                cap.value = ""
                cap.focus()
                await press(pilot, *"250")
                admin.query_one("#spend", Checkbox).value = True
                await press(pilot, "f2")
                seen["message"] = str(admin.query_one("#message").render())

        asyncio.run(change())
        assert seen["wrong"] == "Wrong manager PIN."
        assert seen["message"].startswith("Saved"), seen["message"]
        text = path.read_text(encoding="utf-8")
        assert "per_check_cap = 250   # offline cap" in text and "# a till's config" in text
        # The backup is the file as it was before the save: the old cap, not the new one.
        backup = (tmp_path / "config.toml.bak").read_text(encoding="utf-8")
        assert "per_check_cap = 300   # offline cap" in backup and "= 250" not in backup
        restarted = load_settings(path)
        assert restarted.offline.per_check_cap == Decimal(250)
        assert restarted.offline.spend_enabled is True
        assert restarted.processing.api_key is not None


def test_cashier_cannot_quit_or_open_the_palette(tmp_path: Path) -> None:
    with server(tmp_path) as srv:
        path = write_config(tmp_path, srv.url, srv.api_key)
        app = build_till_app(load_settings(path), path)
        app.cashiers.add("7", "2468")

        async def scenario() -> None:
            async with app.run_test(size=(80, 24)) as pilot:
                await settle(pilot)
                assert isinstance(app.screen, LoginScreen)
                await press(pilot, "ctrl+q", "ctrl+c", "ctrl+p")
                assert app.is_running and isinstance(app.screen, LoginScreen)
                await press(pilot, "7", "enter", *"0000", "enter")
                assert isinstance(app.screen, LoginScreen)
                assert "Wrong cashier or PIN." in str(app.screen.query_one("#message").render())
                await press(pilot, "shift+tab", "7", "enter", *"2468", "enter")
                assert isinstance(app.screen, SaleScreen), app.screen
                await press(pilot, "ctrl+q", "ctrl+p")
                assert app.is_running and isinstance(app.screen, SaleScreen)
                assert app.services.session.cashier == "7"

        asyncio.run(scenario())


def test_first_cashier_is_added_by_the_manager_from_the_login_screen(tmp_path: Path) -> None:
    with server(tmp_path) as srv:
        path = write_config(tmp_path, srv.url, srv.api_key)
        app = build_till_app(load_settings(path), path)

        async def scenario() -> None:
            async with app.run_test(size=(100, 30)) as pilot:
                await settle(pilot)
                assert isinstance(app.screen, LoginScreen)
                assert "No cashiers yet" in str(app.screen.query_one("#message").render())
                admin = await open_admin(pilot)
                admin.query_one("#cashier_id", Input).value = "42"
                admin.query_one("#cashier_pin", Input).value = "8642"
                await press(pilot, "f8")
                assert "42" in str(admin.query_one("#message").render())
                await press(pilot, "escape")
                assert isinstance(app.screen, LoginScreen)
                await press(pilot, *"42", "enter", *"8642", "enter")
                assert isinstance(app.screen, SaleScreen), app.screen

        asyncio.run(scenario())
        assert app.cashiers.ids() == ["42"]


def test_saved_printer_settings_apply_without_a_restart(tmp_path: Path) -> None:
    paper = tmp_path / "receipts.bin"
    with server(tmp_path) as srv:
        path = write_config(tmp_path, srv.url, srv.api_key)
        app = build_till_app(load_settings(path), path, start_cashier="1")
        seen: dict[str, Any] = {}

        async def scenario() -> None:
            async with app.run_test(size=(100, 30)) as pilot:
                await settle(pilot)
                before = app.services
                shift = before.session.shift_id
                admin = await open_admin(pilot)
                admin.query_one("#printer_kind", Select).value = "file"
                admin.query_one("#printer_path", Input).value = str(paper)
                await press(pilot, "f2")
                seen["message"] = str(admin.query_one("#message").render())
                seen["same"] = app.services is before
                seen["carried"] = (app.services.session.cashier, app.services.session.shift_id) == (
                    "1",
                    shift,
                )
                await press(pilot, "escape")
                sale = app.screen
                assert isinstance(sale, SaleScreen), sale
                app.post_message(ScanReceived("+79161234567", "serial"))
                await settle(pilot)
                await press(pilot, *"500", "enter", "enter")
                seen["sale"] = str(sale.query_one("#message").render())
                for _ in range(100):  # the print worker writes on its own thread
                    if paper.exists() and paper.stat().st_size:
                        break
                    await pilot.pause(0.05)

        asyncio.run(scenario())
        assert seen["message"].startswith("Saved and applied"), seen["message"]
        assert seen["same"] is False and seen["carried"] is True
        assert paper.exists() and paper.stat().st_size > 0, seen["sale"]
        assert load_settings(path).printer.kind == "file"


def test_settings_that_cannot_apply_leave_the_till_as_it_was(tmp_path: Path) -> None:
    with server(tmp_path) as srv:
        path = write_config(tmp_path, srv.url, srv.api_key)
        app = build_till_app(load_settings(path), path, start_cashier="1")
        seen: dict[str, Any] = {}

        async def scenario() -> None:
            async with app.run_test(size=(100, 30)) as pilot:
                await settle(pilot)
                before = app.services
                real_factory = app._services_factory

                # Nothing the form can set fails a build here (and as root no permission
                # does), so the factory fails for the new cap as a lost database would.
                def broken() -> Any:
                    if app.settings.offline.per_check_cap == Decimal(123):
                        raise TillError("The new database cannot be opened.")
                    return real_factory()

                app._services_factory = broken
                await press(pilot, "f12", *PIN, "enter")
                admin = app.screen
                assert isinstance(admin, AdminScreen)
                admin.query_one("#per_check", Input).value = "123"
                await press(pilot, "f2")
                seen["message"] = str(admin.query_one("#message").render())
                seen["replaced"] = app.services is not before
                seen["cap"] = app.settings.offline.per_check_cap
                seen["cashier"] = app.services.session.cashier

        asyncio.run(scenario())
        assert seen["message"] == (
            "Saved, but not applied: The new database cannot be opened. The till goes on as before."
        ), seen["message"]
        # Built again from the old settings (its devices had been stopped), same cashier.
        assert seen["replaced"] is True and seen["cap"] == Decimal(300)
        assert seen["cashier"] == "1"


def test_claims_turned_off_in_admin_refuse_a_sale_without_a_customer_at_once(
    tmp_path: Path,
) -> None:
    with server(tmp_path) as srv:
        path = write_config(tmp_path, srv.url, srv.api_key)
        app = build_till_app(load_settings(path), path, start_cashier="1")
        seen: dict[str, Any] = {}

        async def scenario() -> None:
            async with app.run_test(size=(100, 30)) as pilot:
                await settle(pilot)
                admin = await open_admin(pilot)
                claims = admin.query_one("#claims", Checkbox)
                assert claims.value is True  # the default
                claims.value = False
                await press(pilot, "f2")
                seen["saved"] = str(admin.query_one("#message").render())
                await press(pilot, "escape")
                sale = app.screen
                assert isinstance(sale, SaleScreen), sale
                await press(pilot, *"300", "enter", "enter")
                seen["refusal"] = str(sale.query_one("#message").render())
                seen["result"] = sale.result

        asyncio.run(scenario())
        assert seen["saved"].startswith("Saved and applied"), seen["saved"]
        assert seen["refusal"] == "Identify the customer first: scan or type the phone."
        assert seen["result"] is None
        assert load_settings(path).till.claims is False
