"""Shift close (a manager overrides unsent items) and registration queued while offline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from terminal.app import TillApp
from terminal.pins import hash_pin
from terminal.screens.login import LoginScreen
from terminal.screens.manager import ManagerPin
from terminal.screens.registration import RegistrationScreen
from terminal.screens.shift import ShiftScreen
from tests.support.ui import (
    app_for,
    behind_cable,
    drive,
    message,
    press,
    sell,
    server,
    till_db,
    till_settings,
)


def test_closing_with_unsent_items_needs_the_manager(tmp_path: Path) -> None:
    with behind_cable(tmp_path, security={"admin_pin_hash": hash_pin("5555")}) as (
        _srv,
        cable,
        settings,
    ):
        app = app_for(settings)
        out: dict[str, Any] = {}

        async def scenario(app: TillApp, pilot: Any) -> None:
            cable.unplug()
            screen = await sell(app, pilot, "300", "enter")
            assert screen.result is not None and screen.result.offline, message(app)
            await press(pilot, "f9")
            assert isinstance(app.screen, ShiftScreen)
            out["report"] = str(app.screen.query_one("#shift-body").render())
            await press(pilot, "f10")
            assert isinstance(app.screen, ManagerPin), message(app)
            await press(pilot, *"5555", "enter")
            assert isinstance(app.screen, LoginScreen), app.screen

        try:
            drive(app, scenario)
        finally:
            cable.close()
        assert "Checks: 1" in out["report"] and "not yet sent: 1" in out["report"]
        with till_db(settings) as db:
            shifts = db.execute("SELECT closed_at IS NOT NULL, override_by FROM shifts").fetchall()
        assert shifts == [(1, "manager")]


def test_registration_offline_is_queued(tmp_path: Path) -> None:
    with behind_cable(tmp_path) as (_srv, cable, settings):
        app = app_for(settings)
        out: dict[str, Any] = {}

        async def scenario(app: TillApp, pilot: Any) -> None:
            cable.unplug()
            await press(pilot, "f5")
            assert isinstance(app.screen, RegistrationScreen)
            await press(pilot, *"89990002233", "tab", "space", "f10")
            out["message"] = message(app)

        try:
            drive(app, scenario)
        finally:
            cable.close()
        assert out["message"].startswith("Offline: the registration is queued"), out["message"]
        with till_db(settings) as db:
            rows = db.execute("SELECT kind, state FROM outbox").fetchall()
        assert rows == [("registration", "pending")]


def test_shift_report_prints_kazakh_letters_through_the_receipt_renderer(tmp_path: Path) -> None:
    from drivers.escpos_decode import decode_escpos
    from drivers.text_normalise import normalise_text

    with server(tmp_path) as srv:
        settings = till_settings(
            tmp_path, srv.url, srv.api_key, till={"language": "kk", "receipt_language": "kk"}
        )
        app = app_for(settings)
        out: dict[str, Any] = {}

        async def scenario(app: TillApp, pilot: Any) -> None:
            await sell(app, pilot, "300", "enter")
            await press(pilot, "f9")
            assert isinstance(app.screen, ShiftScreen)
            out["report"] = str(app.screen.query_one("#shift-body").render())
            receipts = Path(settings.printer.path)
            before = receipts.stat().st_size if receipts.exists() else 0
            await press(pilot, "f5")
            for _ in range(200):  # the print worker appends the job in the background
                if receipts.exists() and receipts.stat().st_size > before:
                    break
                await pilot.pause(0.05)
            out["printed"] = receipts.read_bytes()[before:]

        drive(app, scenario)
    decoded = decode_escpos(out["printed"], settings.printer.profile).text
    # The printer gets the receipts' normalised text: no-break spaces and the ₽ sign become words.
    report = normalise_text(out["report"], "kk")
    report_lines = [line.strip() for line in report.splitlines() if line.strip()]
    assert report_lines and any(ch in out["report"] for ch in "ӘҒҚҢӨҰҮҺІәғқңөұүһі")
    for line in report_lines:
        assert line in decoded, f"{line!r} is not on the printed report"
    assert "?" not in decoded
