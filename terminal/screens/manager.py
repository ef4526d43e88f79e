"""Asking for the manager's PIN: a password prompt, checked against the scrypt hash in a worker."""

from __future__ import annotations

from collections.abc import Callable

from textual import work
from textual.app import App
from textual.message import Message

from terminal.errors import TillError
from terminal.i18n import _
from terminal.pins import verify_pin
from terminal.screens.prompt import Prompt

MANAGER = "manager"
"""How an override is attributed in the audit log (there is one manager PIN per till)."""


class ManagerPin(Prompt):
    """Dismisses with :data:`MANAGER` when the PIN is right, None on Esc."""

    class Verified(Message):
        """The PIN matched the stored hash."""

    def __init__(self) -> None:
        super().__init__(_("Manager PIN:"), password=True, restrict=r"\d{0,12}")

    def dismiss_with(self, answer: str | None) -> None:
        """Check the PIN off the UI thread; a wrong PIN keeps the dialog open."""
        if answer is None:
            self.dismiss(None)
            return
        self._verify(answer)

    @work(thread=True, exit_on_error=False, exclusive=True, group="pin")
    def _verify(self, pin: str) -> None:
        stored = self.till.settings.security.admin_pin_hash
        if not stored:
            raise TillError(_("No manager PIN is set; run `till config hash-pin`."))
        if not verify_pin(pin, stored):
            raise TillError(_("Wrong manager PIN."))
        self.post_message(self.Verified())

    def on_manager_pin_verified(self, message: Verified) -> None:
        self.dismiss(MANAGER)


def ask_manager(
    app: App[None], then: Callable[[str], None], cancelled: Callable[[], None] | None = None
) -> None:
    """Push the PIN dialog; ``then(MANAGER)`` runs only after a right PIN, ``cancelled`` on Esc."""

    def done(result: str | None) -> None:
        if result:
            then(result)
        elif cancelled is not None:
            cancelled()

    app.push_screen(ManagerPin(), done)
