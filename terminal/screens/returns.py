"""Returns against an original check, partial by line and quantity.

Type or scan the check number (printed under its barcode), Enter. Move through the lines with
↑/↓; ``+``/``-`` change the quantity to return, Space returns the whole line; F10 returns.
The result shows the points taken back and given back.
"""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import DataTable, Footer, Input, Static

from terminal.i18n import N_, _, money, points
from terminal.screens.base import TillScreen
from terminal.views import CheckRow, ReturnView, SaleLine
from terminal.widgets.message_bar import MessageBar
from terminal.widgets.status_line import StatusLine


class ReturnsScreen(TillScreen):
    """Find a check, choose lines and quantities, return."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f10", "submit", N_("Return")),
        Binding("plus,equals_sign", "more", N_("+1"), show=False),
        Binding("minus", "less", N_("-1"), show=False),
        Binding("space", "whole", N_("Whole line")),
        Binding("escape", "back", N_("Back")),
    ]

    class Found(Message):
        """The check was found."""

        def __init__(self, row: CheckRow, lines: tuple[SaleLine, ...]) -> None:
            super().__init__()
            self.row = row
            self.lines = lines

    class Returned(Message):
        """The return went through (or was queued)."""

        def __init__(self, result: ReturnView) -> None:
            super().__init__()
            self.result = result

    def __init__(self) -> None:
        super().__init__()
        self.check: CheckRow | None = None
        """The check being returned against."""
        self.lines: tuple[SaleLine, ...] = ()
        """Its lines."""
        self.quantities: dict[int, Decimal] = {}
        """Line index → quantity to return."""

    def compose(self) -> ComposeResult:
        settings = self.till.settings
        yield StatusLine(settings.till.store_id, settings.till.till_id, self.till.cashier)
        yield Static(_("Check number (scan the receipt's barcode or type it), then Enter"))
        yield Input(id="check-number", max_length=64)
        yield DataTable(id="lines", cursor_type="row", zebra_stripes=True)
        yield Static(id="return-summary")
        yield MessageBar(id="message")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("#", _("Item"), _("Qty"), _("Amount"), _("Return"))
        self.query_one(Input).focus()

    def handle_scan(self, code: str, source: str) -> None:
        """A scanned receipt barcode looks the check up."""
        self._find(code)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.value.strip():
            self._find(event.value)

    @work(thread=True, exit_on_error=False, exclusive=True, group="returns")
    def _find(self, number: str) -> None:
        row, lines = self.till.services.members.find_check(number)
        self.post_fresh(self.Found(row, lines))

    def on_returns_screen_found(self, message: Found) -> None:
        self.check, self.lines, self.quantities = message.row, message.lines, {}
        self._fill()
        self.query_one(DataTable).focus()
        self.query_one(MessageBar).show(
            _("Check {number}: choose what comes back, then F10.").format(
                number=message.row.check_id[:8].upper()
            )
        )

    def _fill(self) -> None:
        table = self.query_one(DataTable)
        cursor = table.cursor_row
        table.clear()
        currency = self.till.settings.till.currency
        for index, line in enumerate(self.lines):
            back = self.quantities.get(index, Decimal(0))
            table.add_row(
                str(index + 1),
                Text(line.name),
                points(line.quantity),
                money(line.amount, currency),
                points(back) if back else "",
            )
        if self.lines:
            table.move_cursor(row=min(cursor, len(self.lines) - 1))

    def _change(self, delta: Decimal | None) -> None:
        if not self.lines:
            return
        index = self.query_one(DataTable).cursor_row
        line = self.lines[index]
        current = self.quantities.get(index, Decimal(0))
        wanted = line.quantity if delta is None else current + delta
        self.quantities[index] = max(Decimal(0), min(line.quantity, wanted))
        self._fill()

    def action_more(self) -> None:
        """+: one more of the line."""
        self._change(Decimal(1))

    def action_less(self) -> None:
        """-: one fewer."""
        self._change(Decimal(-1))

    def action_whole(self) -> None:
        """Space: the whole line (again: none of it)."""
        if not self.lines:
            return
        index = self.query_one(DataTable).cursor_row
        if self.quantities.get(index):
            self.quantities[index] = Decimal(0)
            self._fill()
        else:
            self._change(None)

    def action_submit(self) -> None:
        """F10: return the chosen quantities."""
        if self.check is None:
            return
        self.query_one(MessageBar).show(_("Returning…"))
        self._return(self.check.check_id, dict(self.quantities))

    @work(thread=True, exit_on_error=False, exclusive=True, group="returns")
    def _return(self, check_id: str, quantities: dict[int, Decimal]) -> None:
        self.post_message(
            self.Returned(self.till.services.members.return_lines(check_id, quantities))
        )

    def on_returns_screen_returned(self, message: Returned) -> None:
        result = message.result
        summary = self.query_one("#return-summary", Static)
        if result.queued:
            summary.update(
                _("Offline: the return is queued and will be sent when the server is back.")
            )
        elif result.no_member:
            summary.update(
                _("A check without a customer, its points not collected: no points involved.")
            )
        else:
            summary.update(Text(return_summary(result)))
        self.quantities = {}
        self.check = None
        self.query_one(MessageBar).show(_("Return done."))
        self.query_one(Input).focus()

    def action_back(self) -> None:
        """Esc: back to the sale."""
        self.app.pop_screen()


def return_summary(result: ReturnView) -> str:
    """What a return applied online did, in the cashier's words; earned points already spent
    (the server could not take them back) are said with the amount to keep from the refund."""
    text = _("Points taken back: {taken}. Points given back: {given}.").format(
        taken=points(result.taken_back), given=points(result.given_back)
    )
    if result.shortfall:
        text += " " + _(
            "{points} points earned on this check were already spent: deduct them from the"
            " cash refund."
        ).format(points=points(result.shortfall))
    if result.balance_after is not None:
        text += " " + _("New balance: {balance}.").format(balance=points(result.balance_after))
    return text
