"""The offline queue: how much waits, what failed for good and why, conflicts; retry now.

Below it, registrations queued offline whose SMS code went out since: Enter on one asks the
customer's code (:class:`~terminal.screens.registration.PendingCodePrompt`). Then the open
conflicts, one sentence each; F7 lets a manager mark the one under the cursor seen (audited).
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import DataTable, Footer, Static

from terminal.i18n import N_, _, clock, day
from terminal.screens.base import TillScreen
from terminal.views import MemberView, SyncView
from terminal.widgets.message_bar import MessageBar
from terminal.widgets.status_line import StatusLine

if TYPE_CHECKING:
    from offline_cache.conflicts import Conflict
    from offline_cache.registrations import PendingRegistration


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


def describe_conflict(conflict: Conflict) -> str:
    """What differed, in one sentence for the admin."""
    local, server = conflict.local or "?", conflict.server or "?"
    if conflict.kind == "server_conflict":
        if conflict.detail.get("conflict") == "offline_spend_shortfall":
            return _(
                "Offline spend above the real balance: {local} requested, {server} applied."
            ).format(local=local, server=server)
        shortfall = conflict.detail.get("shortfall", "?")
        if conflict.detail.get("conflict") == "confirm_spend_shortfall":
            return _(
                "A late confirmation: {held} points were held, {taken} could still be taken,"
                " {missing} were missing."
            ).format(held=_sum(server, shortfall), taken=server, missing=shortfall)
        if conflict.detail.get("conflict") == "return_shortfall":
            return _(
                "A return could not take back {points} points already spent; the refund"
                " should have been that much less."
            ).format(points=shortfall)
        return _(
            "The server reported a conflict ({what}): {local} requested, {server} applied."
        ).format(what=conflict.detail.get("conflict", "?"), local=local, server=server)
    if conflict.kind == "spend":
        return _("Points spent: the till took {local} offline, the server {server}.").format(
            local=local, server=server
        )
    if conflict.kind == "earn":
        return _(
            "Points earned: the till promised {local} offline, the server gave {server}."
        ).format(local=local, server=server)
    if conflict.kind == "refused":
        return _("Refused by the server: {reason}").format(
            reason=conflict.detail.get("message") or server
        )
    return _("{kind}: the till {local}, the server {server}.").format(
        kind=conflict.kind, local=local, server=server
    )


def _sum(first: str, second: str) -> str:
    """Two amounts of points as text, added; '?' when either is not a number."""
    try:
        return str(Decimal(first) + Decimal(second))
    except ArithmeticError:
        return "?"


def age(delta: timedelta) -> str:
    """How long ago, in the largest whole unit: minutes, hours or days."""
    minutes = max(int(delta.total_seconds() // 60), 0)
    if minutes < 60:
        return _("{count} min").format(count=minutes)
    if minutes < 24 * 60:
        return _("{count} h").format(count=minutes // 60)
    return _("{count} d").format(count=minutes // (24 * 60))


class SyncScreen(TillScreen):
    """F5 sends now; F6 gives refused items another try; Enter takes a registration's code."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f5", "retry", N_("Send now")),
        Binding("f6", "requeue", N_("Retry refused")),
        Binding("f7", "resolve", N_("Mark conflict seen")),
        Binding("escape", "back", N_("Back")),
    ]

    class Loaded(Message):
        """A fresh view of the queue."""

        def __init__(
            self, view: SyncView, pending: list[PendingRegistration], conflicts: list[Conflict]
        ) -> None:
            super().__init__()
            self.view = view
            self.pending = pending
            self.conflicts = conflicts

    def compose(self) -> ComposeResult:
        settings = self.till.settings
        yield StatusLine(settings.till.store_id, settings.till.till_id, self.till.cashier)
        yield Static(id="sync-body", classes="panel")
        yield Static(id="pending-title")
        yield DataTable(id="pending", cursor_type="row", zebra_stripes=True)
        yield Static(id="conflicts-title")
        yield DataTable(id="conflicts", cursor_type="row", zebra_stripes=True)
        yield MessageBar(id="message")
        yield Footer(compact=True)

    def __init__(self) -> None:
        super().__init__()
        self.pending: list[PendingRegistration] = []
        """Registrations waiting for the customer's code, as the table shows them."""
        self.conflicts: list[Conflict] = []
        """Open conflicts, as the conflicts table shows them (newest first)."""

    def on_mount(self) -> None:
        self.query_one("#pending-title").display = False
        table = self.query_one("#pending", DataTable)
        table.display = False
        table.add_columns(_("Phone"), _("Queued"), _("Code sent"))
        self.query_one("#conflicts-title").display = False
        conflicts = self.query_one("#conflicts", DataTable)
        conflicts.display = False
        conflicts.add_columns(_("Time"), _("Check"), _("Member"), _("What differed"))
        self._read()

    # One worker group: a newer request replaces an older one still running.

    @work(thread=True, exit_on_error=False, exclusive=True, group="sync")
    def _read(self) -> None:
        self._loaded(self.till.services.office.sync_view())

    @work(thread=True, exit_on_error=False, exclusive=True, group="sync")
    def _send(self) -> None:
        self._loaded(self.till.services.office.sync_now())

    @work(thread=True, exit_on_error=False, exclusive=True, group="sync")
    def _requeue(self) -> None:
        services = self.till.services
        services.office.requeue_dead()
        self._loaded(services.office.sync_view())

    @work(thread=True, exit_on_error=False, exclusive=True, group="sync")
    def _resolve(self, conflict_id: int, manager: str) -> None:
        services = self.till.services
        services.office.resolve_conflict(conflict_id, manager)
        self._loaded(services.office.sync_view())

    def _loaded(self, view: SyncView) -> None:
        """From a worker: post the queue with the registrations and conflicts beside it."""
        services = self.till.services
        self.post_fresh(
            self.Loaded(
                view, services.members.pending_registrations(), services.office.open_conflicts()
            )
        )

    def on_sync_screen_loaded(self, message: Loaded) -> None:
        self.query_one("#sync-body", Static).update(render_sync(message.view))
        self.query_one(MessageBar).clear()
        self._show_pending(message.pending)
        self._show_conflicts(message.conflicts)
        self.till.refresh_status()

    def _show_pending(self, pending: list[PendingRegistration]) -> None:
        self.pending = pending
        title = self.query_one("#pending-title", Static)
        table = self.query_one("#pending", DataTable)
        table.clear()
        now = self.till.services.clock()
        for row in pending:
            sent = "" if row.sent_at is None else age(now - row.sent_at)
            table.add_row(Text(row.phone_masked), age(now - row.queued_at), sent)
        title.update(
            Text(
                _("Registrations waiting for the customer's code: {count} (Enter)").format(
                    count=len(pending)
                ),
                style="bold",
            )
        )
        title.display = table.display = bool(pending)
        if pending:
            table.focus()

    def _show_conflicts(self, conflicts: list[Conflict]) -> None:
        self.conflicts = conflicts
        title = self.query_one("#conflicts-title", Static)
        table = self.query_one("#conflicts", DataTable)
        table.clear()
        for row in conflicts:
            local = row.created_at.astimezone()
            member = row.phone_masked or row.member_id or ""
            table.add_row(
                Text(f"{day(local)} {clock(local)}"),
                Text(row.record_id[:8]),
                Text(member),
                Text(describe_conflict(row)),
            )
        title.update(
            Text(
                _("Open conflicts: {count} (F7 marks one seen)").format(count=len(conflicts)),
                style="bold",
            )
        )
        title.display = table.display = bool(conflicts)
        if conflicts and not self.pending:
            table.focus()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter on a registration: ask the customer's code."""
        event.stop()
        if event.data_table.id == "pending" and 0 <= event.cursor_row < len(self.pending):
            self.ask_code(self.pending[event.cursor_row])

    def ask_code(self, pending: PendingRegistration) -> None:
        """The code prompt for ``pending``; right, the member goes to the sale screen."""
        from terminal.screens.registration import PendingCodePrompt, show_on_sale

        def entered(member: MemberView | None) -> None:
            if member is not None:
                show_on_sale(self, member)
            else:
                self._read()

        self.app.push_screen(PendingCodePrompt(pending), entered)

    def action_retry(self) -> None:
        """F5: drain the queue now."""
        self.query_one(MessageBar).show(_("Sending…"))
        self._send()

    def action_requeue(self) -> None:
        """F6: put refused items back in the queue."""
        self._requeue()

    def action_resolve(self) -> None:
        """F7: a manager marks the conflict under the cursor seen."""
        from terminal.screens.manager import ask_manager

        if not self.conflicts:
            self.query_one(MessageBar).show(_("No open conflicts."))
            return
        row = self.query_one("#conflicts", DataTable).cursor_row
        conflict = self.conflicts[min(max(row, 0), len(self.conflicts) - 1)]

        def resolve(manager: str) -> None:
            self._resolve(conflict.id, manager)

        ask_manager(self.app, resolve)

    def action_back(self) -> None:
        """Esc: back to the sale."""
        self.app.pop_screen()
