"""A one-line dialog: a question, an input, Enter to answer, Esc to back out."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Input, Static
from textual.worker import Worker, WorkerState

from terminal.i18n import N_
from terminal.screens.base import TillModal
from terminal.sentences import sentence


class Prompt(TillModal):
    """Dismisses with the typed text, or None on Esc."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "back", N_("Back"))]

    def __init__(self, question: str, *, password: bool = False, restrict: str | None = None):
        super().__init__()
        self.question = question
        """What is asked (literal text)."""
        self.password = password
        """Hide what is typed (PINs, SMS codes)."""
        self.restrict = restrict
        """A regular expression the typed text must match as it is typed."""

    def compose(self) -> ComposeResult:
        with Vertical(id="prompt-box"):
            yield Static(Text(self.question), id="prompt-question")
            yield Input(password=self.password, restrict=self.restrict, id="prompt-input")
            yield Static(id="prompt-error")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss_with(event.value.strip())

    def dismiss_with(self, answer: str | None) -> None:
        """Close with ``answer``; subclasses may check it first."""
        self.dismiss(answer)

    def action_back(self) -> None:
        """Esc: no answer."""
        self.dismiss(None)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A failed check (a wrong PIN) is said inside the dialog, which stays open."""
        if event.state is WorkerState.ERROR and event.worker.error is not None:
            self.query_one("#prompt-error", Static).update(Text(sentence(event.worker.error)))
            self.query_one(Input).value = ""
