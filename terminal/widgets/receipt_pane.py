"""The receipt preview: the last receipt as the paper would show it (the demo's file printer)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from terminal.i18n import _


class ReceiptPane(VerticalScroll):
    """A scrollable column with the last printed receipt, literal text."""

    def __init__(self) -> None:
        super().__init__(id="receipt-pane")
        self.border_title = _("Printed receipt")  # not "Receipt": that is "Чек", as the check is
        self._body = Static(Text(_("No receipt yet.")), id="receipt-text")

    def compose(self) -> ComposeResult:
        yield self._body

    def show(self, receipt: str) -> None:
        """Replace the preview with ``receipt``."""
        self._body.update(Text(receipt))
        self.scroll_home(animate=False)
