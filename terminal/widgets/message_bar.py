"""One line under the screen's content: the last outcome or failure, as one sentence."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


class MessageBar(Static):
    """Shows one sentence; server and customer text is shown literally (no markup)."""

    def show(self, sentence: str, *, error: bool = False) -> None:
        """Replace the sentence; errors are styled so they stand out in a 16-colour console."""
        self.set_class(error, "error")
        self.update(Text(sentence))

    def clear(self) -> None:
        """Remove the sentence."""
        self.set_class(False, "error")
        self.update("")
