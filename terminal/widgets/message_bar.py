"""One line under the screen's content: the last outcome or failure, as one sentence."""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget


class MessageBar(Widget):
    """Shows one sentence; server and customer text is shown literally (no markup).

    A plain widget with a fixed height: changing the sentence repaints this line only,
    without a layout pass over the whole screen (it happens on every scan).
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._text = Text()

    def render(self) -> Text:
        return self._text

    def show(self, sentence: str, *, error: bool = False) -> None:
        """Replace the sentence; errors are styled so they stand out in a 16-colour console."""
        if sentence == self._text.plain and error == self.has_class("error"):
            return  # the same sentence again (the next scan of a queue): nothing to repaint
        self.set_class(error, "error")
        self._text = Text(sentence)
        self.refresh()

    def clear(self) -> None:
        """Remove the sentence."""
        self.set_class(False, "error")
        self._text = Text()
        self.refresh()
