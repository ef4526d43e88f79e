"""What every till screen shares: worker failures go to the app's one handler, scans arrive."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any, cast

from textual.binding import BindingsMap
from textual.screen import ModalScreen, Screen
from textual.worker import Worker, WorkerState

from terminal.i18n import _

if TYPE_CHECKING:
    from terminal.app import TillApp


def translate_bindings(node: Screen[Any]) -> None:
    """Show this screen's F-key labels in the current language.

    ``BINDINGS`` are class attributes evaluated at import, before a language is chosen, so they
    carry English marked with ``N_``; each screen instance translates its own copy (Textual
    copies the class's bindings into ``_bindings`` per instance).
    """
    translated = BindingsMap()
    for key, bindings in node._bindings.key_to_bindings.items():
        translated.key_to_bindings[key] = [
            replace(b, description=_(b.description)) if b.description else b for b in bindings
        ]
    node._bindings = translated


class _TillParts:
    """The app typed, and every worker failure sent to the app's one handler."""

    app: Any

    @property
    def till(self) -> TillApp:
        """The app, typed."""
        from terminal.app import TillApp

        return cast(TillApp, self.app)

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

    def __init__(self) -> None:
        super().__init__()
        translate_bindings(self)


class TillModal(_TillParts, ModalScreen[Any]):
    """A dialog over a till screen (dialogs ignore scans unless they override handle_scan)."""

    def __init__(self) -> None:
        super().__init__()
        translate_bindings(self)
