"""The top line: store, till, cashier, online or offline with queue depth, devices, clock."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from terminal.i18n import _, clock
from terminal.messages import StatusRefreshed


class StatusLine(Static):
    """Rebuilt from the newest :class:`StatusRefreshed` and a clock tick."""

    def __init__(self, store: str, till: str, cashier: str | None) -> None:
        super().__init__(id="status-line")
        self.store = store
        """Store id from config."""
        self.till_id = till
        """Till id from config."""
        self.cashier = cashier
        """Who is logged in."""
        self.snapshot: StatusRefreshed | None = None
        """The last status read by the app's worker."""
        self.scanner = "none"
        """Scanner state word."""
        self._line: Text | None = None

    def on_mount(self) -> None:
        self.set_interval(15, self._render_line)
        # A screen opened later starts from the app's newest snapshot, not from blank.
        last = getattr(self.app, "last_status", None)
        if last is not None:
            self.apply(last, getattr(self.app, "scanner_state", "none"))
        else:
            self._render_line()

    def apply(self, snapshot: StatusRefreshed, scanner: str) -> None:
        """Show a new queue/connection snapshot."""
        self.snapshot = snapshot
        self.scanner = scanner
        self._render_line()

    def _render_line(self) -> None:
        line = Text(no_wrap=True, overflow="ellipsis")
        line.append(f"{self.store}/{self.till_id}", style="bold")
        if self.cashier:
            line.append("  " + _("Cashier") + f" {self.cashier}")
        line.append("  ")
        sync = self.snapshot.sync if self.snapshot else None
        if sync is None or sync.online:
            line.append(_("ONLINE"), style="bold green")
        else:
            line.append(" " + _("OFFLINE") + " ", style="bold reverse red")
        if sync is not None and sync.unsent:
            line.append("  " + _("Queue") + f" {sync.unsent}", style="yellow")
        if sync is not None and sync.dead:
            line.append("  " + _("Failed") + f" {len(sync.dead)}", style="bold red")
        line.append("  " + _("Scanner") + f": {self.scanner}")
        printer = self.snapshot.printer if self.snapshot else "…"
        line.append("  " + _("Printer") + f": {printer}")
        now = self.app.clock().astimezone()  # type: ignore[attr-defined]
        line.append(f"  {clock(now)}")
        if line == self._line:
            return  # most snapshots change nothing the line shows: no repaint
        self._line = line
        self.update(line, layout=False)  # one row, sized by the stylesheet
