"""A scanning burst costs the server two calculations, not one a line; a check is never
committed on the till's estimate.

The reference server runs on loopback and the till is driven through Textual's Pilot. The
till's client is wrapped to count the calculate requests it sends (the requests themselves go
to the real server). The screen's pace gets a clock that never moves, so every change after
the first is inside a burst however slow this box is today; the quiet timer is Textual's own.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from processing.client import ProcessingClient
from processing.server.testing import ManualClock
from terminal.i18n import money
from terminal.preview_pace import PreviewPace
from terminal.screens.sale import SaleScreen
from terminal.views import SaleLine
from terminal.widgets.check_panel import CheckPanel
from tests.support.holds import ANNA, held_check
from tests.support.read_limited import read_limited
from tests.support.ui import (
    app_for,
    drive,
    message,
    press,
    scan_anna,
    server,
    server_check,
    settle,
    till_settings,
)


def test_a_change_after_a_quiet_spell_is_calculated_at_once_and_a_burst_waits() -> None:
    now = [100.0]
    pace = PreviewPace(quiet_s=2.5, clock=lambda: now[0])
    assert pace.change()  # the first line of a check
    now[0] += 1.0
    assert not pace.change()
    now[0] += 2.4
    assert not pace.change()  # measured from the last change, not the first
    now[0] += 2.5
    assert pace.change()  # a pause as long as the quiet spell ends the burst
    now[0] += 0.1
    pace.reset()
    assert pace.change()  # a new check starts afresh


def test_a_basket_scanned_at_a_cashiers_pace_is_one_burst() -> None:
    """20 lines, one every 4 s (a slow cashier): the server is asked for the first at once,
    and for the rest once, after the burst (or on Enter)."""
    now = [0.0]
    pace = PreviewPace(clock=lambda: now[0])  # the shipped quiet spell
    at_once = []
    for _ in range(20):
        at_once.append(pace.change())
        now[0] += 4.0
    assert at_once == [True] + [False] * 19


def _line(amount: str) -> SaleLine:
    value = Decimal(amount)
    return SaleLine("Товар", value, Decimal(1), value)


def _count_calculates(app: Any) -> list[str]:
    """Wrap the till's client so each calculate request sent is recorded by its check id."""
    client = app.services.sales.client
    sent: list[str] = []
    real = client.calculate

    def calculate(request: Any) -> Any:
        sent.append(request.check_id)
        return real(request)

    client.calculate = calculate
    return sent


def _panel(screen: SaleScreen) -> str:
    return str(screen.query_one(CheckPanel).render())


def _with_anna(tmp_path: Path, srv: Any, scenario: Any) -> dict[str, Any]:
    """Drive the till against ``srv`` with Anna identified and a pace whose clock never moves:
    ``scenario(app, pilot, screen, sent calculate ids, out)``; returns ``out``."""
    app = app_for(till_settings(tmp_path, srv.url, srv.api_key))
    out: dict[str, Any] = {"srv": srv}

    async def run(app: Any, pilot: Any) -> None:
        screen = await scan_anna(app, pilot)
        screen.pace = PreviewPace(quiet_s=screen.pace.quiet_s, clock=lambda: 0.0)
        await scenario(app, pilot, screen, _count_calculates(app), out)

    drive(app, run)
    return out


def _scenario(tmp_path: Path, scenario: Any) -> Any:
    with server(tmp_path) as srv:
        out = _with_anna(tmp_path, srv, scenario)
        if "check_id" in out:
            out["ledger"] = server_check(srv, out["check_id"])
        return out


def test_enter_inside_a_burst_commits_on_the_servers_figures(tmp_path: Path) -> None:
    async def scenario(app: Any, pilot: Any, screen: SaleScreen, sent: list[str], out: Any) -> None:
        screen.pace.quiet_s = 60.0  # the burst lasts the whole test
        for amount in ("100", "200", "300", "400"):
            screen.post_message(SaleScreen.LineFound(_line(amount)))
        await settle(pilot)
        assert len(sent) == 1, "only the first line goes to the server at once"
        estimate = screen.preview
        assert estimate is not None and estimate.estimate
        assert estimate.total == Decimal(1000) and estimate.fingerprint == ""
        assert "estimate" in _panel(screen)
        out["estimate_earn"] = estimate.earn
        await press(pilot, "enter")
        assert len(sent) == 2, "Enter asks the server for the check on screen"
        assert screen.result is not None, message(app)
        out["check_id"] = screen.result.check_id
        out["earned"] = screen.result.earned

    out = _scenario(tmp_path, scenario)
    # Anna is at the base tier, 3 %, with no offer on these lines: estimate and server agree.
    assert out["estimate_earn"] == out["earned"] == Decimal(30)
    assert out["ledger"] == ("confirmed", 3000, 0)


def test_the_server_is_asked_once_when_the_burst_ends(tmp_path: Path) -> None:
    async def scenario(app: Any, pilot: Any, screen: SaleScreen, sent: list[str], out: Any) -> None:
        screen.pace.quiet_s = 0.5
        for amount in ("100", "200", "300", "400"):
            screen.post_message(SaleScreen.LineFound(_line(amount)))
        await settle(pilot)
        await pilot.pause(1.5)  # the quiet spell passes with nobody pressing anything
        await settle(pilot)
        preview = screen.preview
        assert preview is not None and not preview.estimate and preview.fingerprint
        assert preview.total == Decimal(1000) and preview.earn == Decimal(30)
        assert "estimate" not in _panel(screen)
        assert len(sent) == 2 and len(set(sent)) == 1  # the first line, then the whole check
        await press(pilot, "enter")
        assert len(sent) == 2, "the server's figures were on screen: no third calculation"
        assert screen.result is not None, message(app)
        out["check_id"] = screen.result.check_id

    out = _scenario(tmp_path, scenario)
    assert out["ledger"] == ("confirmed", 3000, 0)


def test_an_amount_to_pay_the_server_does_not_confirm_is_never_committed(tmp_path: Path) -> None:
    """Another till holds Anna's points while this one scans: the estimate still spends 300,
    the server only 150 — Enter shows the server's amount and waits for a second Enter."""

    async def scenario(app: Any, pilot: Any, screen: SaleScreen, sent: list[str], out: Any) -> None:
        screen.pace.quiet_s = 60.0
        await press(pilot, "1", "0", "0", "0", "enter", "f2")  # 30 % of 1 000: 300 points
        assert screen.preview is not None and screen.preview.spend == Decimal(300)
        assert not screen.preview.estimate
        srv = out["srv"]
        with ProcessingClient(srv.url, srv.api_key) as other_till:
            for _ in range(3):  # 1 500 - 3 × 450 leaves Anna 150 points
                held_check(other_till, ANNA, "450", "2000.00")
        screen.post_message(SaleScreen.LineFound(_line("500")))
        await settle(pilot)
        estimate = screen.preview
        assert estimate is not None and estimate.estimate
        assert estimate.spend == Decimal(300) and estimate.to_pay == Decimal(1200)
        await press(pilot, "enter")
        assert screen.result is None, "the server's figures differ: nothing is committed"
        assert screen.preview is not None and not screen.preview.estimate
        assert screen.preview.spend == Decimal(150)
        assert screen.preview.to_pay == Decimal(1350)
        assert money(Decimal(1350), app.settings.till.currency) in message(app)
        out["unheld"] = screen.draft.check_id if screen.draft else ""
        await press(pilot, "enter")  # the cashier has seen the amount: now it commits
        assert screen.result is not None, message(app)
        assert screen.result.spent == Decimal(150)
        out["check_id"] = screen.result.check_id

    out = _scenario(tmp_path, scenario)
    assert out["unheld"] == out["check_id"]
    # Earn on the 1 350 paid in money at 3 %, rounded down to whole points; 150 points spent.
    assert out["ledger"] == ("confirmed", 4000, 15000)


def test_a_refused_calculation_takes_the_estimate_away_and_enter_asks_again(
    tmp_path: Path,
) -> None:
    """The server refuses the calculation Enter asks for (this till's reads are spent): the
    estimate leaves the screen with the refusal's sentence, nothing is committed, and Enter,
    once the reads are back, asks the server again and commits on its figures."""
    clock = ManualClock()

    async def scenario(app: Any, pilot: Any, screen: SaleScreen, sent: list[str], out: Any) -> None:
        screen.pace.quiet_s = 60.0
        for amount in ("100", "200"):
            screen.post_message(SaleScreen.LineFound(_line(amount)))
        await settle(pilot)
        assert screen.preview is not None and screen.preview.estimate
        srv = out["srv"]
        with srv.ctx.storage.read() as db:
            (till_pk,) = db.execute("SELECT id FROM tills").fetchone()
        now = clock().timestamp()
        while srv.ctx.reads.take(till_pk, now) == 0:
            pass  # the till's reads are spent: the next calculate is refused
        await press(pilot, "enter")
        assert len(sent) == 2
        assert screen.result is None and screen.preview is None
        assert "estimate" not in _panel(screen)
        out["refused"] = message(app)
        clock.advance(10)  # ten reads are back
        await press(pilot, "enter")
        assert len(sent) == 3, "Enter asked the server again"
        assert screen.result is not None, message(app)
        out["check_id"] = screen.result.check_id

    with read_limited(tmp_path / "processing.sqlite3", clock, burst=500) as srv:
        out = _with_anna(tmp_path, srv, scenario)
        ledger = server_check(srv, out["check_id"])
    assert out["refused"]  # the refusal's own sentence, from the app's worker-error handler
    assert ledger == ("confirmed", 900, 0)
