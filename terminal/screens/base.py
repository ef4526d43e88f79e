"""What every till screen shares: worker failures go to the app's one handler, scans arrive."""

from __future__ import annotations

from typing import Any

from textual import getters
from textual.screen import ModalScreen, Screen
from textual.worker import Worker, WorkerState

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
