"""Claim codes through the keyboard: a check without a customer, collected later by a member.

Real server on loopback, real till database, real file printer; scans are posted as the serial
reader thread posts them, and the network is a relay the test can unplug (:class:`Cable`).
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from textual.widgets import DataTable

from drivers.escpos_decode import decode_escpos
from loyalty.claims import format_claim
from processing.client import ProcessingClient
from processing.server.testing import RunningServer
from terminal.app import TillApp
from terminal.config import Settings
from terminal.messages import ScanReceived
from terminal.screens.history import HistoryScreen
from terminal.screens.returns import ReturnsScreen
from terminal.screens.sale import SaleScreen
from tests.support.ui import (
    ANNA,
    app_for,
    behind_cable,
    drive,
    message,
    press,
    server,
    settle,
    till_db,
    till_settings,
    wait_printed,
)


def points_of(srv: RunningServer, phone: str) -> Decimal:
    """The member's points on the server, active and frozen (earned points freeze first)."""
    with ProcessingClient(srv.url, srv.api_key) as client:
        balance = client.identify(phone).balance
    return balance.available + balance.frozen_total


async def sell_without_customer(app: TillApp, pilot: Any, amount: str) -> SaleScreen:
    """Type ``amount``, Enter, Enter with nobody identified; returns the sale screen."""
    screen = app.screen
    assert isinstance(screen, SaleScreen)
    await press(pilot, *amount, "enter")
    assert screen.member is None and screen.preview is None
    out = str(screen.query_one("#check").render())
    assert "Enter prints a claim code" in out, out
    await press(pilot, "enter")
    assert screen.result is not None and screen.result.claim is not None, message(app)
    return screen


def test_a_check_without_a_customer_is_collected_once_by_a_member(
    demo_server: RunningServer, settings: Settings, app: TillApp
) -> None:
    paper = Path(settings.printer.path)
    before = points_of(demo_server, ANNA)
    out: dict[str, Any] = {}

    async def scenario(app: TillApp, pilot: Any) -> None:
        screen = await sell_without_customer(app, pilot, "1200")
        assert screen.result is not None
        out["result"], out["sold"] = screen.result, message(app)
        out["paper"] = await wait_printed(pilot, paper)
        app.post_message(ScanReceived(ANNA, "serial"))
        await settle(pilot)
        assert screen.member is not None, message(app)
        out["panel_before"] = screen.member
        claim = out["result"].claim  # the next customer cleared the finished sale
        app.post_message(ScanReceived(claim.code, "serial"))
        await settle(pilot)
        out["collected"], out["panel_after"] = message(app), screen.member
        out["server_after"] = points_of(demo_server, ANNA)
        app.post_message(ScanReceived(claim.code, "serial"))
        await settle(pilot)
        out["again"], out["panel_again"] = message(app), screen.member

    drive(app, scenario)
    result = out["result"]
    claim = result.claim
    number = result.check_id[:8].upper()
    # 3 % (the base tier) of 1 200, as the server answered it: not provisional.
    assert claim.earn_at_least == Decimal(36) and not claim.provisional
    assert out["sold"] == "Check without a customer: claim code printed — at least 36 points."
    printed = decode_escpos(out["paper"], settings.printer.profile)
    assert printed.qr_codes == [claim.code]
    assert format_claim(claim.code) in printed.text
    assert any(line.startswith("At least") and "36" in line for line in printed.lines)
    assert number in printed.barcodes
    # Anna collects the points once: the server credits 36, the panel shows them.
    assert out["collected"] == f"36 points from check {number} added."
    assert out["server_after"] == before + 36
    panel_before, panel_after = out["panel_before"], out["panel_after"]
    assert panel_after.available + panel_after.frozen_total == out["server_after"]
    assert panel_before.available + panel_before.frozen_total == before
    # The second scan credits nothing more and says so.
    assert out["again"] == "The points of this receipt were already collected."
    assert out["panel_again"] == panel_after
    assert points_of(demo_server, ANNA) == before + 36
    with demo_server.ctx.storage.read() as db:
        stored = db.execute(
            "SELECT check_id, status, redeemed_by FROM claims WHERE code = ?", [claim.code]
        ).fetchall()
        earned = db.execute(
            "SELECT sum(points) FROM movements WHERE check_id = ? AND kind = 'earn'",
            [result.check_id],
        ).fetchone()
    assert stored == [(result.check_id, "redeemed", "100001")]
    assert earned == (3600,)
    with till_db(settings) as db:
        assert db.execute("SELECT kind, state FROM outbox").fetchall() == [
            ("claim", "acknowledged")
        ]
        check = db.execute("SELECT member_id, total, earned FROM checks").fetchall()
        audit = db.execute(
            "SELECT action, cashier, json_extract(detail, '$.reason') FROM audit_log"
            " WHERE action LIKE 'claim%' OR action = 'check_committed' ORDER BY seq"
        ).fetchall()
    assert check == [(None, "1200", "0")]
    assert audit == [
        ("check_committed", "1", None),
        ("claim_redeemed", "1", None),
        ("claim_refused", "1", "already_collected"),
    ]
    # The code never reaches the audit log whole: whoever holds it can collect the points.
    with till_db(settings) as db:
        assert not db.execute(
            "SELECT 1 FROM audit_log WHERE detail LIKE ?", [f"%{claim.code}%"]
        ).fetchone()


def test_a_typed_code_needs_a_customer_and_the_connection(tmp_path: Path) -> None:
    with behind_cable(tmp_path) as (_srv, cable, settings):
        app = app_for(settings)
        out: dict[str, Any] = {}

        async def scenario(app: TillApp, pilot: Any) -> None:
            screen = await sell_without_customer(app, pilot, "500")
            assert screen.result is not None and screen.result.claim is not None
            # As printed, in groups of four: the cashier types the spaces too.
            typed = ["space" if ch == " " else ch for ch in format_claim(screen.result.claim.code)]
            out["claim"] = screen.result.claim
            await press(pilot, *typed, "enter")
            out["nobody"] = message(app)
            app.post_message(ScanReceived(ANNA, "serial"))
            await settle(pilot)
            cable.unplug()
            await press(pilot, *typed, "enter")
            out["offline"] = message(app)
            cable.plug()
            await press(pilot, *typed, "enter")
            out["typed"] = message(app)

        try:
            drive(app, scenario)
        finally:
            cable.close()
        assert out["nobody"] == "Identify the customer first, then scan the receipt's claim code."
        assert out["offline"] == (
            "Collecting points from a receipt needs the connection;"
            " keep the receipt and try again later."
        )
        assert out["typed"].startswith("15 points from check ")
        with till_db(settings) as db:
            # Nothing was queued for the collection: only the claim itself went through the outbox.
            assert db.execute("SELECT kind FROM outbox").fetchall() == [("claim",)]
            attempts = db.execute(
                "SELECT action, cashier, json_extract(detail, '$.reason') FROM audit_log"
                " WHERE action LIKE 'claim_%' ORDER BY seq"
            ).fetchall()
        # Refused without a customer before anything was asked; then offline; then collected.
        assert attempts == [("claim_refused", "1", "offline"), ("claim_redeemed", "1", None)]


def test_claims_off_keeps_the_refusal(tmp_path: Path) -> None:
    with server(tmp_path) as srv:
        settings = till_settings(tmp_path, srv.url, srv.api_key, till={"claims": False})
        app = app_for(settings)
        out: dict[str, Any] = {}

        async def scenario(app: TillApp, pilot: Any) -> None:
            screen = app.screen
            assert isinstance(screen, SaleScreen)
            await press(pilot, *"300", "enter", "enter")
            out["message"], out["result"] = message(app), screen.result
            out["check"] = str(screen.query_one("#check").render())

        drive(app, scenario)
        assert out["message"] == "Identify the customer first: scan or type the phone."
        assert out["result"] is None and "claim code" not in out["check"]
        with till_db(settings) as db:
            assert db.execute("SELECT count(*) FROM outbox").fetchone() == (0,)


def test_history_and_returns_of_a_check_without_a_customer(
    demo_server: RunningServer, settings: Settings, app: TillApp
) -> None:
    paper = Path(settings.printer.path)
    out: dict[str, Any] = {}

    async def scenario(app: TillApp, pilot: Any) -> None:
        screen = app.screen
        assert isinstance(screen, SaleScreen)
        await press(pilot, *"600", "enter", *"400", "enter", "enter")
        assert screen.result is not None and screen.result.claim is not None, message(app)
        out["result"] = screen.result
        first = await wait_printed(pilot, paper)
        await press(pilot, "f7")
        assert isinstance(app.screen, HistoryScreen)
        table = app.screen.query_one("#checks", DataTable)
        out["row"] = [str(cell) for cell in table.get_row_at(0)]
        await press(pilot, "f5")
        for _ in range(100):
            if paper.stat().st_size > len(first):
                break
            await pilot.pause(0.05)
        out["reprint"] = paper.read_bytes()[len(first) :]
        await press(pilot, "escape", "f6")
        assert isinstance(app.screen, ReturnsScreen)
        # The claim code finds the check as well as its number does.
        await press(pilot, *screen.result.claim.code, "enter", "down", "space", "f10")
        out["summary"] = str(app.screen.query_one("#return-summary").render())
        out["returned"] = message(app)

    drive(app, scenario)
    result = out["result"]
    number = result.check_id[:8].upper()
    assert out["row"][0] == number and out["row"][2] == "—"
    reprint = decode_escpos(out["reprint"], settings.printer.profile)
    assert "COPY" in reprint.text and format_claim(result.claim.code) in reprint.text
    assert reprint.qr_codes == [result.claim.code]
    assert out["summary"] == (
        "A check without a customer, its points not collected: no points involved."
    )
    assert out["returned"] == "Return done."
    with demo_server.ctx.storage.read() as db:
        claim = db.execute(
            "SELECT status, returned FROM claims WHERE check_id = ?", [result.check_id]
        ).fetchone()
    assert claim[0] == "open" and '"1"' in claim[1]
    with till_db(settings) as db:
        kinds = db.execute("SELECT kind, state FROM outbox ORDER BY seq").fetchall()
    assert kinds == [("claim", "acknowledged"), ("return", "acknowledged")]


def test_each_refusal_is_one_sentence_and_credits_nothing(tmp_path: Path) -> None:
    import uuid
    from datetime import UTC, datetime

    import pytest

    from loyalty.claims import claim_code
    from processing.server.testing import ManualClock
    from terminal.composition import build_services
    from terminal.errors import TillError
    from terminal.views import QUICK_AMOUNT, SaleDraft, SaleLine

    clock = ManualClock(datetime.now(UTC).replace(microsecond=0))
    with server(tmp_path, clock=clock) as srv:
        settings = till_settings(tmp_path, srv.url, srv.api_key)
        services = build_services(settings, clock=clock)
        try:
            services.office.start_shift("1")

            def sold(amount: str) -> str:
                line = SaleLine(QUICK_AMOUNT, Decimal(amount), Decimal(1), Decimal(amount))
                result = services.sales.commit_sale(
                    SaleDraft(str(uuid.uuid4()), None, (line,)), None
                )
                assert result.claim is not None and not result.claim.provisional
                return result.claim.code

            def refusal(code: str, phone: str | None) -> str:
                member = services.sales.identify(phone, scanned=True) if phone else None
                with pytest.raises(TillError) as refused:
                    services.claims.redeem_claim(code, member, scanned=True)
                return str(refused.value)

            anna, ivan, blocked = ANNA, "+79161234568", "+79161234571"
            returned, taken, kept, late = sold("500"), sold("500"), sold("500"), sold("500")
            returned_id = services.members.find_check(returned)[0].check_id
            assert services.members.return_lines(returned_id, {0: Decimal(1)}).no_member
            services.claims.redeem_claim(
                taken, services.sales.identify(anna, scanned=True), scanned=True
            )
            before = {phone: points_of(srv, phone) for phone in (anna, ivan, blocked)}

            assert refusal(kept, None) == (
                "Identify the customer first, then scan the receipt's claim code."
            )
            assert refusal(claim_code("never sold here"), anna) == (
                "This claim code is not known; check the digits on the receipt."
            )
            assert refusal(taken, ivan) == "The points of this receipt were already collected."
            assert refusal(returned, anna) == (
                "The goods on this receipt were returned; there are no points to collect."
            )
            assert refusal(kept, blocked) == "This member is blocked and cannot collect points."
            assert {phone: points_of(srv, phone) for phone in before} == before
            clock.advance(31 * 24 * 3600)  # past the claim's 30 days
            assert refusal(late, anna) == (
                "This claim code has expired; its points can no longer be collected."
            )
            with srv.ctx.storage.read() as db:
                status = db.execute("SELECT status FROM claims WHERE code = ?", [late]).fetchone()
            assert status == ("open",)  # expired by the clock, credited to nobody
        finally:
            services.close()


def test_the_shift_report_counts_checks_without_a_customer(tmp_path: Path) -> None:
    from terminal.screens.shift import ShiftScreen

    with server(tmp_path) as srv:
        settings = till_settings(tmp_path, srv.url, srv.api_key)
        app = app_for(settings)
        out: dict[str, Any] = {}

        async def scenario(app: TillApp, pilot: Any) -> None:
            await sell_without_customer(app, pilot, "400")
            await sell_without_customer(app, pilot, "250")
            app.post_message(ScanReceived(ANNA, "serial"))
            await settle(pilot)
            await press(pilot, *"100", "enter", "enter")
            await press(pilot, "f9")
            assert isinstance(app.screen, ShiftScreen), app.screen
            out["report"] = str(app.screen.query_one("#shift-body").render())

        drive(app, scenario)
        assert "Checks: 3" in out["report"], out["report"]
        assert "Without a customer (claim codes): 2" in out["report"], out["report"]
