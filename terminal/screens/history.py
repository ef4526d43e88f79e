"""Recent checks of this till; Enter (or F5) reprints the one under the cursor."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import DataTable, Footer

from terminal.i18n import N_, _, clock, day, money, points
from terminal.screens.base import TillScreen
from terminal.views import CheckRow
from terminal.widgets.message_bar import MessageBar
from terminal.widgets.receipt_pane import ReceiptPane
from terminal.widgets.status_line import StatusLine


class HistoryScreen(TillScreen):
    """The last checks, newest first, with reprint."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f5", "reprint", N_("Reprint")),
        Binding("escape", "back", N_("Back")),
    ]

    class Loaded(Message):
        """The recent checks were read."""

        def __init__(self, rows: list[CheckRow]) -> None:
            super().__init__()
            self.rows = rows

    class Reprinted(Message):
        """A reprint was queued; ``text`` is what it says."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[CheckRow] = []
        """The checks in the table, in order."""

    def compose(self) -> ComposeResult:
        settings = self.till.settings
        yield StatusLine(settings.till.store_id, settings.till.till_id, self.till.cashier)
        with Horizontal(id="sale-body"):
            yield DataTable(id="checks", cursor_type="row", zebra_stripes=True)
            pane = ReceiptPane()
            pane.styles.width = settings.printer.columns + 4
            yield pane
        yield MessageBar(id="message")
        yield Footer(compact=True)

    def on_resize(self, event: events.Resize) -> None:
        """The receipt preview shows only where the table keeps room to read."""
        columns = self.till.settings.printer.columns
        self.query_one(ReceiptPane).display = event.size.width >= columns + 4 + 60

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns(
            _("Check"),
            _("Time"),
            _("Customer"),
            _("Total"),
            _("Earned"),
            _("Spent"),
            _("Cashier"),
        )
        table.focus()
        self._load()

    @work(thread=True, exit_on_error=False, exclusive=True, group="history")
    def _load(self) -> None:
        self.post_fresh(self.Loaded(self.till.services.office.history()))

    def on_history_screen_loaded(self, message: Loaded) -> None:
        self.rows = message.rows
        table = self.query_one(DataTable)
        table.clear()
        currency = self.till.settings.till.currency
        for row in message.rows:
            local = row.created_at.astimezone()
            mark = " ⚠" if row.offline else ""
            table.add_row(
                row.check_id[:8].upper() + mark,
                f"{day(local)} {clock(local)}",
                Text(row.customer or "—"),  # — : a check without a customer (a claim code)
                money(row.total, currency),
                points(row.earned),
                points(row.spent),
                Text(row.cashier or ""),
            )
        if not message.rows:
            self.query_one(MessageBar).show(_("No checks yet."))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_reprint()

    def action_reprint(self) -> None:
        """Reprint the check under the cursor."""
        if not self.rows:
            return
        row = self.rows[self.query_one(DataTable).cursor_row]
        self.query_one(MessageBar).show(_("Reprinting…"))
        self._reprint(row.check_id)

    @work(thread=True, exit_on_error=False, exclusive=True, group="reprint")
    def _reprint(self, check_id: str) -> None:
        self.post_message(self.Reprinted(self.till.services.office.reprint(check_id)))

    def on_history_screen_reprinted(self, message: Reprinted) -> None:
        self.query_one(ReceiptPane).show(message.text)
        self.query_one(MessageBar).show(_("The copy is printing."))
        self.till.print_receipts()

    def action_back(self) -> None:
        """Esc: back to the sale."""
        self.app.pop_screen()
