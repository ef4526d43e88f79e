"""New member registration: phone → SMS code → consent → optional name, birthday, email.

Offline the registration is queued for the sync (no code can be checked then). Once the code
is confirmed the new member becomes the sale screen's customer.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Checkbox, Footer, Input, Static

from terminal.errors import TillError
from terminal.i18n import N_, _
from terminal.member_services import CodeStep, Registration
from terminal.screens.base import TillScreen
from terminal.screens.prompt import Prompt
from terminal.views import MemberView
from terminal.widgets.message_bar import MessageBar
from terminal.widgets.status_line import StatusLine


def parse_birthday(text: str) -> date | None:
    """``31.12.1990`` or ``1990-12-31``; None when empty; raises TillError when unreadable."""
    text = text.strip()
    if not text:
        return None
    for pattern in ("%d.%m.%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise TillError(_("Write the birthday as 31.12.1990."))


class RegistrationScreen(TillScreen):
    """The registration form; F10 sends the code, Esc goes back to the sale."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f10", "submit", N_("Send code")),
        Binding("escape", "back", N_("Back")),
    ]

    class CodeStarted(Message):
        """The server sent the code (or the registration was queued)."""

        def __init__(self, step: CodeStep) -> None:
            super().__init__()
            self.step = step

    class Registered(Message):
        """The code was right: the member exists."""

        def __init__(self, member: MemberView) -> None:
            super().__init__()
            self.member = member

    def compose(self) -> ComposeResult:
        settings = self.till.settings
        yield StatusLine(settings.till.store_id, settings.till.till_id, self.till.cashier)
        with Vertical(classes="panel", id="registration"):
            yield Static(Text(_("New member"), style="bold"))
            yield Static(_("Phone"), classes="label")
            yield Input(id="phone", restrict=r"[0-9+() -]{0,20}")
            yield Checkbox(_("The customer agrees to the program rules"), id="consent")
            yield Static(_("Name (optional)"), classes="label")
            yield Input(id="name", max_length=120)
            yield Static(_("Birthday (optional, 31.12.1990)"), classes="label")
            yield Input(id="birthday", restrict=r"[0-9.-]{0,10}")
            yield Static(_("E-mail (optional)"), classes="label")
            yield Input(id="email", max_length=254)
        yield MessageBar(id="message")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#phone", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter moves to the next field; on the last one it sends the code."""
        event.stop()
        if event.input.id == "email":
            self.action_submit()
        else:
            self.focus_next()

    def action_submit(self) -> None:
        """F10: validate and send the code."""
        try:
            form = Registration(
                phone=self.query_one("#phone", Input).value.strip(),
                consent=self.query_one("#consent", Checkbox).value,
                name=self.query_one("#name", Input).value.strip() or None,
                birthday=parse_birthday(self.query_one("#birthday", Input).value),
                email=self.query_one("#email", Input).value.strip() or None,
            )
        except TillError as error:
            self.query_one(MessageBar).show(str(error), error=True)
            return
        if not form.phone:
            self.query_one(MessageBar).show(_("Type the customer's phone."), error=True)
            return
        self.query_one(MessageBar).show(_("Sending the code…"))
        self._start(form)

    @work(thread=True, exit_on_error=False, exclusive=True, group="register")
    def _start(self, form: Registration) -> None:
        self.post_message(self.CodeStarted(self.till.services.register_start(form)))

    def on_registration_screen_code_started(self, message: CodeStarted) -> None:
        step = message.step
        if step.queued or step.code_id is None:
            self.query_one(MessageBar).show(
                _("Offline: the registration is queued and will be sent when the server is back.")
            )
            return
        code_id = step.code_id

        def entered(code: str | None) -> None:
            if code:
                self._confirm(code_id, code)

        question = _("Code sent to {phone}. Code from the SMS:").format(phone=step.phone_masked)
        self.app.push_screen(Prompt(question, restrict=r"\d{0,8}"), entered)

    @work(thread=True, exit_on_error=False, exclusive=True, group="register")
    def _confirm(self, code_id: str, code: str) -> None:
        self.post_message(self.Registered(self.till.services.register_confirm(code_id, code)))

    def on_registration_screen_registered(self, message: Registered) -> None:
        from terminal.screens.sale import SaleScreen

        self.app.pop_screen()
        screen = self.app.screen
        if isinstance(screen, SaleScreen):
            screen.post_message(SaleScreen.Identified(message.member))

    def action_back(self) -> None:
        """Esc: back to the sale."""
        self.app.pop_screen()
