"""What every till screen shares: worker failures go to the app's one handler, scans arrive."""

from __future__ import annotations

from typing import Any

from textual import getters
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.worker import Worker, WorkerState, get_current_worker

from terminal.app_base import TillAppBase
from terminal.textual_workarounds import translate_bindings


class _TillParts:
    """Every worker failure sent to the app's one handler; scans arrive."""

    till: TillAppBase

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Every worker of this screen that fails ends up here, then in the app's handler."""
        if event.state is WorkerState.ERROR and event.worker.error is not None:
            self.till.report_failure(event.worker.error)
            self.worker_failed(event.worker.group)

    def post_fresh(self, message: Message) -> None:
        """From a thread worker: post ``message`` unless the worker was cancelled meanwhile
        (an exclusive worker replaced by a newer one, or the screen closed), so an answer
        nobody waits for any more never reaches the screen."""
        if not get_current_worker().is_cancelled:
            self.post_message(message)  # type: ignore[attr-defined]

    def worker_failed(self, group: str) -> None:
        """Hook: undo a busy state after a failure in ``group`` (the sentence is shown already)."""

    def handle_scan(self, code: str, source: str) -> None:
        """A scan arrived while this screen is active; screens that take scans override this."""


class TillScreen(_TillParts, Screen[Any]):
    """A full screen of the till."""

    till = getters.app(TillAppBase)
    """The app, typed."""

    def __init__(self) -> None:
        super().__init__()
        translate_bindings(self)


class TillModal(_TillParts, ModalScreen[Any]):
    """A dialog over a till screen (dialogs ignore scans unless they override handle_scan)."""

    till = getters.app(TillAppBase)
    """The app, typed."""

    def __init__(self) -> None:
        super().__init__()
        translate_bindings(self)
