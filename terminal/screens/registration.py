"""New member registration: phone → SMS code → consent → optional name, birthday, email.

Offline the registration is queued for the sync (no code can be checked then). The sync sends
it and the server texts the customer a code; :class:`PendingCodePrompt` takes that code later
(from the sync screen, the sale screen when the phone is typed or scanned, or here when the
phone is typed again). Once the code is confirmed the new member becomes the sale screen's
customer.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Checkbox, Footer, Input, Static

from terminal.errors import TillError
from terminal.i18n import N_, _
from terminal.screens.base import TillScreen
from terminal.screens.prompt import Prompt
from terminal.services.members import CodeStep, Registration
from terminal.views import MemberView

if TYPE_CHECKING:
    from offline_cache.registrations import PendingRegistration
from terminal.messages import CustomerChosen, PendingFound
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


def code_question(phone_masked: str) -> str:
    """The code prompt's question, the same for online and queued registrations."""
    return _("Code sent to {phone}. Code from the SMS:").format(phone=phone_masked)


class PendingCodePrompt(Prompt):
    """The customer's code for a registration queued offline; dismisses with the member.

    On opening, a new code is sent when the last one has expired. A wrong code is said inside
    the dialog, which stays open; Esc leaves the registration pending.
    """

    def __init__(self, pending: PendingRegistration) -> None:
        super().__init__(code_question(pending.phone_masked), restrict=r"\d{0,8}")
        self.pending = pending
        """The registration whose code is asked."""

    def on_mount(self) -> None:
        self._ready()

    class Ready(Message):
        """The pending registration, with a fresh code when the last one had expired."""

        def __init__(self, pending: PendingRegistration) -> None:
            super().__init__()
            self.pending = pending

    class Confirmed(Message):
        """The customer's code was right: the member, identified."""

        def __init__(self, member: MemberView) -> None:
            super().__init__()
            self.member = member

    @work(thread=True, exit_on_error=False, exclusive=True, group="pending-ready")
    def _ready(self) -> None:
        ready = self.till.services.members.ready_pending(self.pending.record_id)
        self.post_fresh(self.Ready(ready))

    def dismiss_with(self, answer: str | None) -> None:
        """Enter: check the code on the server (the dialog stays open until it is right)."""
        if not answer:
            return
        self.query_one("#prompt-error", Static).update(Text(_("Checking the code…")))
        self._confirm(answer)

    @work(thread=True, exit_on_error=False, exclusive=True, group="pending-confirm")
    def _confirm(self, code: str) -> None:
        member = self.till.services.members.confirm_pending(self.pending.record_id, code)
        self.post_message(self.Confirmed(member))

    def on_pending_code_prompt_ready(self, message: Ready) -> None:
        """A new code went out: say so in the dialog."""
        if message.pending.code_id != self.pending.code_id:
            self.pending = message.pending
            self.query_one("#prompt-error", Static).update(
                Text(_("The code had expired; a new code was sent."))
            )

    def on_pending_code_prompt_confirmed(self, message: Confirmed) -> None:
        """Success closes the dialog with the member."""
        self.dismiss(message.member)


def offer_pending_code(screen: TillScreen, pending: PendingRegistration) -> None:
    """Ask for the code of ``pending`` over ``screen``; the member becomes the sale's customer.

    Call on the UI thread (a worker posts :class:`~terminal.messages.PendingFound`).
    """

    def entered(member: MemberView | None) -> None:
        if member is not None:
            show_on_sale(screen, member)

    screen.app.push_screen(PendingCodePrompt(pending), entered)


def show_on_sale(screen: TillScreen, member: MemberView) -> None:
    """Back to the sale screen with ``member`` on it (the app closes the screens above it)."""
    screen.app.post_message(
        CustomerChosen(member, _("Registration confirmed; the new member is the customer."))
    )


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
            return
        if event.input.id == "phone" and event.value.strip():
            self._find_pending(event.value.strip())
        self.focus_next()

    @work(thread=True, exit_on_error=False, exclusive=True, group="register")
    def _find_pending(self, phone: str) -> None:
        pending = self.till.services.members.pending_for_phone(phone)
        if pending is not None:
            self.post_message(PendingFound(pending))

    def on_pending_found(self, message: PendingFound) -> None:
        offer_pending_code(self, message.pending)

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
        self.post_message(self.CodeStarted(self.till.services.members.register_start(form)))

    def on_registration_screen_code_started(self, message: CodeStarted) -> None:
        step = message.step
        if step.queued or step.code_id is None:
            self.query_one(MessageBar).show(
                _("Offline: the registration is queued and will be sent when the server is back.")
            )
            return
        code_id = step.code_id
        if step.pending is not None:
            offer_pending_code(self, step.pending)
            return

        def entered(code: str | None) -> None:
            if code:
                self._confirm(code_id, code)

        question = code_question(step.phone_masked)
        self.app.push_screen(Prompt(question, restrict=r"\d{0,8}"), entered)

    @work(thread=True, exit_on_error=False, exclusive=True, group="register")
    def _confirm(self, code_id: str, code: str) -> None:
        self.post_message(
            self.Registered(self.till.services.members.register_confirm(code_id, code))
        )

    def on_registration_screen_registered(self, message: Registered) -> None:
        self.app.post_message(CustomerChosen(message.member))

    def action_back(self) -> None:
        """Esc: back to the sale."""
        self.app.pop_screen()
