"""Cashier login: id and PIN (checked against scrypt hashes in a worker), then the sale screen."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Footer, Input, Static

from terminal.errors import TillError
from terminal.i18n import N_, _
from terminal.screens.base import TillScreen
from terminal.widgets.message_bar import MessageBar


class LoginScreen(TillScreen):
    """The first screen; only the manager's admin screen (F12, PIN) is reachable from here."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("f12", "admin", N_("Admin"))]

    class LoggedIn(Message):
        """The PIN matched."""

        def __init__(self, cashier: str) -> None:
            super().__init__()
            self.cashier = cashier

    def compose(self) -> ComposeResult:
        settings = self.till.settings
        with Vertical(id="login-box"):
            yield Static(
                Text(f"till · {settings.till.store_id}/{settings.till.till_id}", style="bold"),
                id="login-title",
            )
            yield Static(_("Cashier"), classes="label")
            yield Input(id="cashier", restrict=r"[\w.-]{0,32}")
            yield Static(_("PIN"), classes="label")
            yield Input(id="pin", password=True, restrict=r"\d{0,12}")
            yield MessageBar(id="message")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#cashier", Input).focus()
        if not self.till.cashiers.ids():
            self.query_one(MessageBar).show(
                _("No cashiers yet: the manager adds them in the admin screen (F12).")
            )

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input.id == "cashier":
            self.query_one("#pin", Input).focus()
            return
        cashier = self.query_one("#cashier", Input).value.strip()
        pin = self.query_one("#pin", Input).value
        if not cashier:
            self.query_one("#cashier", Input).focus()
            return
        self.query_one(MessageBar).show(_("Checking…"))
        self._check(cashier, pin)

    @work(thread=True, exit_on_error=False, exclusive=True, group="login")
    def _check(self, cashier: str, pin: str) -> None:
        if not self.till.cashiers.verify(cashier, pin):
            raise TillError(_("Wrong cashier or PIN."))
        self.till.services.office.start_shift(cashier)
        self.post_message(self.LoggedIn(cashier))

    def worker_failed(self, group: str) -> None:
        pin = self.query_one("#pin", Input)
        pin.value = ""
        pin.focus()

    def action_admin(self) -> None:
        """F12: the manager's setup (cashiers, devices, quitting)."""
        from terminal.screens.admin import AdminScreen

        self.app.push_screen(AdminScreen())

    def on_login_screen_logged_in(self, message: LoggedIn) -> None:
        from terminal.screens.sale import SaleScreen

        self.app.switch_screen(SaleScreen())
