"""Every cashier flow through the keyboard, asserted on the server's ledger and the till's outbox.

Real server on loopback, real till database, real file printer; a scan is posted as the serial
reader thread posts it, and the network is a relay the test can unplug (:class:`Cable`).
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from processing.server.testing import RunningServer
from terminal.app import TillApp
from terminal.config import Settings
from terminal.messages import ScanReceived
from terminal.screens.history import HistoryScreen
from terminal.screens.prompt import Prompt
from terminal.screens.registration import RegistrationScreen
from terminal.screens.returns import ReturnsScreen
from terminal.screens.sale import SaleScreen
from terminal.screens.sync import SyncScreen
from tests.support.ui import (
    ANNA,
    app_for,
    behind_cable,
    drive,
    message,
    press,
    scan_anna,
    sell,
    server,
    server_check,
    settle,
    till_db,
    till_settings,
    wait_printed,
)


def test_spend_above_threshold_asks_for_the_sms_code(
    demo_server: RunningServer, app: TillApp
) -> None:
    out: dict[str, Any] = {}

    async def scenario(app: TillApp, pilot: Any) -> None:
        screen = await sell(app, pilot, "3000", "f2")
        assert screen.preview is not None and screen.preview.code_required
        await press(pilot, "enter")
        assert isinstance(app.screen, Prompt), message(app)
        await press(pilot, *demo_server.latest_code(ANNA), "enter")
        assert screen.result is not None, message(app)
        out["result"] = screen.result

    drive(app, scenario)
    result = out["result"]
    assert result.spent == Decimal(900)
    assert server_check(demo_server, result.check_id) == ("confirmed", 6300, 90000)


def test_offline_sale_is_queued_then_synced_once(tmp_path: Path) -> None:
    with behind_cable(tmp_path, offline={"spend_enabled": True}) as (srv, cable, settings):
        app = app_for(settings)
        out: dict[str, Any] = {}

        async def scenario(app: TillApp, pilot: Any) -> None:
            cable.unplug()
            screen = await sell(app, pilot, "500")
            assert screen.member is not None and not screen.member.online, message(app)
            assert screen.preview is not None and not screen.preview.online
            await press(pilot, "enter")
            assert screen.result is not None and screen.result.offline, message(app)
            out["result"] = screen.result
            with till_db(settings) as db:
                out["queued"] = db.execute("SELECT kind, state, offline FROM outbox").fetchall()
            cable.plug()
            await press(pilot, "f8")
            assert isinstance(app.screen, SyncScreen)
            await press(pilot, "f5")
            body = str(app.screen.query_one("#sync-body").render())
            out["sync_body"] = body

        try:
            drive(app, scenario)
        finally:
            cable.close()
        result = out["result"]
        assert out["queued"] == [("offline_check", "pending", 1)]
        assert "Waiting to be sent: 0" in out["sync_body"]
        with till_db(settings) as db:
            assert db.execute("SELECT state FROM outbox").fetchall() == [("acknowledged",)]
        status, earned, spent = server_check(srv, result.check_id)
        assert status in {"applied_offline", "confirmed"} and earned == 1500 and spent == 0
        # The provisional figure on the offline receipt is the core's calculation, as the
        # server's is: they agree when the cache is current.
        assert result.earned * 100 == earned, result.earned


def test_registration_with_code_identifies_the_new_member(tmp_path: Path) -> None:
    phone = "+79990001122"
    with server(tmp_path) as srv:
        settings = till_settings(tmp_path, srv.url, srv.api_key)
        app = app_for(settings)
        out: dict[str, Any] = {}

        async def scenario(app: TillApp, pilot: Any) -> None:
            await press(pilot, "f5")
            assert isinstance(app.screen, RegistrationScreen)
            await press(pilot, *phone, "tab", "space", "tab", *"Vera", "f10")
            assert isinstance(app.screen, Prompt), message(app)
            await press(pilot, *srv.latest_code(phone), "enter")
            sale = app.screen
            assert isinstance(sale, SaleScreen)
            out["member"] = sale.member

        drive(app, scenario)
        member = out["member"]
        assert member is not None and member.name == "Vera" and "22" in member.phone_masked
        with srv.ctx.storage.read() as db:
            row = db.execute("SELECT name FROM members WHERE phone = ?", [phone]).fetchone()
        assert row == ("Vera",)


def test_partial_return_takes_back_points_per_line(
    demo_server: RunningServer, settings: Settings, app: TillApp
) -> None:
    out: dict[str, Any] = {}

    async def scenario(app: TillApp, pilot: Any) -> None:
        screen = await scan_anna(app, pilot)
        await press(pilot, *"600", "enter", *"400", "enter", "enter")
        assert screen.result is not None, message(app)
        check_id = screen.result.check_id
        await press(pilot, "f6")
        assert isinstance(app.screen, ReturnsScreen)
        await press(pilot, *check_id[:8], "enter", "down", "space", "f10")
        summary = str(app.screen.query_one("#return-summary").render())
        out["summary"], out["check_id"] = summary, check_id

    drive(app, scenario)
    # 3 % of the 400 line is taken back: 12 points.
    assert "taken back: 12" in out["summary"], out["summary"]
    with demo_server.ctx.storage.read() as db:
        taken = db.execute(
            "SELECT taken_back FROM returns WHERE check_id = ?", [out["check_id"]]
        ).fetchall()
    assert taken == [(1200,)]
    with till_db(settings) as db:
        kinds = db.execute("SELECT kind, state FROM outbox ORDER BY seq").fetchall()
    assert kinds == [("hold_confirm", "acknowledged"), ("return", "acknowledged")]


def test_reprint_prints_a_marked_copy(settings: Settings, app: TillApp) -> None:
    paper = Path(settings.printer.path)
    out: dict[str, Any] = {}

    async def scenario(app: TillApp, pilot: Any) -> None:
        screen = await sell(app, pilot, "250", "enter")
        assert screen.result is not None
        first = await wait_printed(pilot, paper)
        await press(pilot, "f7")
        assert isinstance(app.screen, HistoryScreen)
        await press(pilot, "f5")
        for _ in range(100):
            if paper.stat().st_size > len(first):
                break
            await pilot.pause(0.05)
        out["first"], out["check_id"] = first, screen.result.check_id

    drive(app, scenario)
    with till_db(settings) as db:
        jobs = db.execute(
            "SELECT kind, state FROM print_jobs WHERE check_id = ? ORDER BY id",
            [out["check_id"]],
        ).fetchall()
    assert jobs == [("sale", "printed"), ("reprint", "printed")]
    assert paper.stat().st_size > 2 * len(out["first"]) - 200


def test_offline_spend_above_the_threshold_needs_the_manager(tmp_path: Path) -> None:
    from terminal.pins import hash_pin
    from terminal.screens.manager import ManagerPin

    with behind_cable(
        tmp_path,
        offline={"spend_enabled": True, "manager_pin_above": "100"},
        security={"admin_pin_hash": hash_pin("7777")},
    ) as (_srv, cable, settings):
        app = app_for(settings)
        out: dict[str, Any] = {}

        async def scenario(app: TillApp, pilot: Any) -> None:
            cable.unplug()
            screen = await sell(app, pilot, "1000", "f2")
            assert screen.preview is not None and screen.preview.spend == Decimal(300)
            await press(pilot, "enter")
            assert isinstance(app.screen, ManagerPin), message(app)
            await press(pilot, *"7777", "enter")
            assert screen.result is not None, message(app)
            out["result"] = screen.result

        try:
            drive(app, scenario)
        finally:
            cable.close()
        assert out["result"].offline and out["result"].spent == Decimal(300)
        with till_db(settings) as db:
            outbox = db.execute("SELECT kind, offline, spend_cents FROM outbox").fetchall()
            audit = db.execute(
                "SELECT override_by FROM audit_log WHERE action = 'check_committed'"
            ).fetchall()
        assert outbox == [("offline_check", 1, 30000)]
        assert audit == [("manager",)]


def test_typed_coupon_is_applied_to_the_check(demo_server: RunningServer, app: TillApp) -> None:
    out: dict[str, Any] = {}

    async def scenario(app: TillApp, pilot: Any) -> None:
        screen = await scan_anna(app, pilot)
        await press(pilot, *"welcome10", "enter", *"800", "enter")
        assert screen.draft is not None and screen.draft.coupons == ("WELCOME10",)
        await press(pilot, "enter")
        assert screen.result is not None, message(app)
        out["check_id"] = screen.result.check_id

    drive(app, scenario)
    with demo_server.ctx.storage.read() as db:
        used = db.execute("SELECT used_check_id FROM coupons WHERE code = 'WELCOME10'")
        assert used.fetchone() == (out["check_id"],)


def test_esc_voids_the_check_without_queueing_anything(settings: Settings, app: TillApp) -> None:
    out: dict[str, Any] = {}

    async def scenario(app: TillApp, pilot: Any) -> None:
        screen = await sell(app, pilot, "700")
        assert screen.draft is not None
        out["check_id"] = screen.draft.check_id
        await press(pilot, "escape")
        assert screen.draft is None and screen.member is None
        out["message"] = message(app)

    drive(app, scenario)
    assert out["message"] == "Check voided."
    with till_db(settings) as db:
        assert db.execute("SELECT count(*) FROM outbox").fetchone() == (0,)
        voided = db.execute(
            "SELECT record_id FROM audit_log WHERE action = 'check_voided'"
        ).fetchall()
    assert voided == [(out["check_id"],)]


def test_a_failed_local_commit_releases_the_server_hold(tmp_path: Path) -> None:
    from offline_cache.outbox import Outbox

    with server(tmp_path) as srv:
        settings = till_settings(tmp_path, srv.url, srv.api_key)
        app = app_for(settings)
        out: dict[str, Any] = {}

        async def scenario(app: TillApp, pilot: Any) -> None:
            screen = await sell(app, pilot, "900", "f2")
            assert screen.draft is not None
            check_id = screen.draft.check_id
            # Something else already holds this id in the till database: the commit fails.
            with till_db(settings) as db:
                Outbox(db).append(check_id, "return", {"taken": "elsewhere"})
            await press(pilot, "enter")
            out["check_id"], out["result"], out["message"] = check_id, screen.result, message(app)

        drive(app, scenario)
        assert out["result"] is None and out["message"]
        with srv.ctx.storage.read() as db:
            status = db.execute("SELECT status FROM checks WHERE id = ?", [out["check_id"]])
            assert status.fetchone() == ("cancelled",)


def test_blocked_member_gets_one_sentence_and_no_points(settings: Settings, app: TillApp) -> None:
    out: dict[str, Any] = {}

    async def scenario(app: TillApp, pilot: Any) -> None:
        screen = app.screen
        assert isinstance(screen, SaleScreen)
        app.post_message(ScanReceived("+79161234571", "serial"))
        await settle(pilot)
        await press(pilot, *"500", "enter", "enter")
        out["message"] = message(app)
        out["check"] = str(screen.query_one("#check").render())
        out["result"] = screen.result

    drive(app, scenario)
    assert out["message"] == "This member is blocked: no points on this sale."
    assert "No points on this check" in out["check"] and out["result"] is None
    with till_db(settings) as db:
        assert db.execute("SELECT count(*) FROM outbox").fetchone() == (0,)


def test_chosen_spend_then_none(app: TillApp) -> None:
    seen: list[Decimal] = []

    async def scenario(app: TillApp, pilot: Any) -> None:
        screen = await sell(app, pilot, "1000", "f3")
        assert isinstance(app.screen, Prompt)
        await press(pilot, *"120", "enter")
        assert screen.preview is not None
        seen.append(screen.preview.spend)
        await press(pilot, "f4")
        assert screen.preview is not None
        seen.append(screen.preview.spend)
        await press(pilot, "f3", *"5000", "enter")
        assert screen.preview is not None
        seen.append(screen.preview.spend)

    drive(app, scenario)
    # A chosen amount above the limit is cut to the limit (30 % of 1 000).
    assert seen == [Decimal(120), Decimal(0), Decimal(300)]
