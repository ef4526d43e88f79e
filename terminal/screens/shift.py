"""The shift report (earned, spent, reversed, offline pending, overrides), printable; close."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Footer, Static

from terminal.i18n import N_, _, clock, day, money, points
from terminal.screens.base import TillScreen
from terminal.screens.manager import ask_manager
from terminal.views import ShiftReport
from terminal.widgets.message_bar import MessageBar
from terminal.widgets.status_line import StatusLine


def report_lines(report: ShiftReport, currency: str) -> list[str]:
    """The report as plain lines (for the screen and for paper)."""
    opened = report.opened_at.astimezone()
    return [
        _("Shift report"),
        _("Cashier: {cashier}").format(cashier=report.cashier or "-"),
        _("Opened: {when}").format(when=f"{day(opened)} {clock(opened)}"),
        _("Checks: {count}").format(count=report.checks),
        _("Without a customer (claim codes): {count}").format(count=report.claims),
        _("Sales: {amount}").format(amount=money(report.total, currency)),
        _("Points earned: {points}").format(points=points(report.earned)),
        _("Points spent: {points}").format(points=points(report.spent)),
        _("Points reversed by returns: {points}").format(points=points(report.reversed)),
        _("Offline, not yet sent: {count}").format(count=report.offline_pending),
        _("Manager overrides: {count}").format(count=report.overrides),
    ]


class ShiftScreen(TillScreen):
    """F5 prints the report; F10 closes the shift (a manager overrides unsent items)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f5", "print", N_("Print")),
        Binding("f10", "close_shift", N_("Close shift")),
        Binding("escape", "back", N_("Back")),
    ]

    class Loaded(Message):
        """The report was computed."""

        def __init__(self, report: ShiftReport) -> None:
            super().__init__()
            self.report = report

    class Closed(Message):
        """The shift is closed."""

    class Queued(Message):
        """The report is queued for the printer."""

    class UnsentItems(Message):
        """Closing was asked while items are unsent: the manager's PIN is needed."""

    def __init__(self) -> None:
        super().__init__()
        self.report: ShiftReport | None = None
        """The last computed report."""

    def compose(self) -> ComposeResult:
        settings = self.till.settings
        yield StatusLine(settings.till.store_id, settings.till.till_id, self.till.cashier)
        yield Static(id="shift-body", classes="panel")
        yield MessageBar(id="message")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self._load()

    @work(thread=True, exit_on_error=False, exclusive=True, group="shift")
    def _load(self) -> None:
        self.post_fresh(self.Loaded(self.till.services.office.shift_report()))

    def on_shift_screen_loaded(self, message: Loaded) -> None:
        self.report = message.report
        lines = report_lines(message.report, self.till.settings.till.currency)
        self.query_one("#shift-body", Static).update(Text("\n".join(lines)))

    def action_print(self) -> None:
        """F5: print the report."""
        if self.report is not None:
            text = "\n".join(report_lines(self.report, self.till.settings.till.currency))
            self._print(text)

    @work(thread=True, exit_on_error=False, group="shift-print")
    def _print(self, text: str) -> None:
        self.till.services.office.print_text(text, "shift_report")
        self.post_message(self.Queued())

    def on_shift_screen_queued(self, message: Queued) -> None:
        self.till.print_receipts()

    def action_close_shift(self, manager: str | None = None) -> None:
        """F10: close; when items are unsent the manager's PIN overrides."""
        self._close(manager)

    @work(thread=True, exit_on_error=False, exclusive=True, group="shift-close")
    def _close(self, manager: str | None) -> None:
        services = self.till.services
        if manager is None and services.office.sync_view().unsent:
            self.post_message(self.UnsentItems())
            return
        services.office.close_shift(manager)
        self.post_message(self.Closed())

    def on_shift_screen_unsent_items(self, message: UnsentItems) -> None:
        self.query_one(MessageBar).show(
            _("Items are still unsent; the manager's PIN closes the shift anyway."), error=True
        )

        def override(manager: str) -> None:
            self._close(manager)

        ask_manager(self.app, override)

    def on_shift_screen_closed(self, message: Closed) -> None:
        from terminal.screens.login import LoginScreen

        self.till.services.session.cashier = None
        self.app.pop_screen()
        self.app.switch_screen(LoginScreen())

    def action_back(self) -> None:
        """Esc: back to the sale."""
        self.app.pop_screen()
