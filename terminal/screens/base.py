"""What every till screen shares: worker failures go to the app's one handler, scans arrive."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from textual.screen import ModalScreen, Screen
from textual.worker import Worker, WorkerState

if TYPE_CHECKING:
    from terminal.app import TillApp


class TillScreen(Screen[Any]):
    """A full screen of the till."""

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


class TillModal(ModalScreen[Any]):
    """A dialog over a till screen; its worker failures are handled the same way."""

    @property
    def till(self) -> TillApp:
        """The app, typed."""
        from terminal.app import TillApp

        return cast(TillApp, self.app)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Failures of this dialog's workers go to the app's one handler."""
        if event.state is WorkerState.ERROR and event.worker.error is not None:
            self.till.report_failure(event.worker.error)

    def handle_scan(self, code: str, source: str) -> None:
        """Dialogs ignore scans unless they override this."""
