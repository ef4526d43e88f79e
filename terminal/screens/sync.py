"""The offline queue: how much waits, what failed for good and why, conflicts; retry now."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Footer, Static

from terminal.i18n import N_, _, clock, day
from terminal.screens.base import TillScreen
from terminal.views import SyncView
from terminal.widgets.message_bar import MessageBar
from terminal.widgets.status_line import StatusLine


def render_sync(view: SyncView) -> Text:
    """The sync screen's body."""
    text = Text()
    text.append((_("Online") if view.online else _("Offline")) + "\n", style="bold")
    text.append(_("Waiting to be sent: {count}").format(count=view.unsent) + "\n")
    if view.oldest_unsent_at is not None:
        local = view.oldest_unsent_at.astimezone()
        text.append(_("Oldest since {when}").format(when=f"{day(local)} {clock(local)}") + "\n")
    text.append(_("Conflicts for the admin: {count}").format(count=view.conflicts) + "\n")
    text.append(_("Refused by the server: {count}").format(count=len(view.dead)) + "\n")
    for line in view.dead[:10]:
        text.append(f"  {line}\n", style="red")
    if view.last_error:
        text.append(_("Last error: {error}").format(error=view.last_error) + "\n", style="yellow")
    return text


class SyncScreen(TillScreen):
    """F5 sends now; F6 gives refused items another try."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f5", "retry", N_("Send now")),
        Binding("f6", "requeue", N_("Retry refused")),
        Binding("escape", "back", N_("Back")),
    ]

    class Loaded(Message):
        """A fresh view of the queue."""

        def __init__(self, view: SyncView) -> None:
            super().__init__()
            self.view = view

    def compose(self) -> ComposeResult:
        settings = self.till.settings
        yield StatusLine(settings.till.store_id, settings.till.till_id, self.till.cashier)
        yield Static(id="sync-body", classes="panel")
        yield MessageBar(id="message")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self._run("read")

    @work(thread=True, exit_on_error=False, exclusive=True, group="sync")
    def _run(self, what: str) -> None:
        services = self.till.services
        if what == "send":
            view = services.sync_now()
        else:
            if what == "requeue":
                services.requeue_dead()
            view = services.sync_view()
        self.post_message(self.Loaded(view))

    def on_sync_screen_loaded(self, message: Loaded) -> None:
        self.query_one("#sync-body", Static).update(render_sync(message.view))
        self.query_one(MessageBar).clear()
        self.till.refresh_status()

    def action_retry(self) -> None:
        """F5: drain the queue now."""
        self.query_one(MessageBar).show(_("Sending…"))
        self._run("send")

    def action_requeue(self) -> None:
        """F6: put refused items back in the queue."""
        self._run("requeue")

    def action_back(self) -> None:
        """Esc: back to the sale."""
        self.app.pop_screen()
