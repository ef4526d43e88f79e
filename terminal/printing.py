"""The receipt printer for the app: the configured connection and the drivers' print worker.

Receipts are enqueued as bytes in the till database by the sale; the drivers' worker thread
drains them in order with timeouts and retries, so a printer that is off never blocks or loses a
check. Its events become :class:`PrinterChanged` messages for the status line.
"""

from __future__ import annotations

from collections.abc import Callable

from textual.app import App
from textual.message import Message

from terminal.config import Settings
from terminal.device_settings import printer_for
from terminal.i18n import N_, _
from terminal.sentences import sentence

PRINT_FAILED = N_("The receipt could not be printed; it stays queued.")


class PrinterChanged(Message):
    """A job printed (``ok``) or failed (``failed`` with the driver's sentence)."""

    def __init__(self, state: str, sentence: str) -> None:
        super().__init__()
        self.state = state
        """ok or failed."""
        self.sentence = sentence
        """Why it failed, translated, for the message line; empty when it printed."""


def start_printing(
    settings: Settings, app: App[None]
) -> tuple[Callable[[], None], Callable[[], None]]:
    """Start the print worker; returns (wake it after an enqueue, stop it)."""
    if settings.printer.kind == "none":
        return (lambda: None), (lambda: None)
    from drivers.print_worker import PrintDone, PrintFailed, PrintWorker
    from offline_cache.db import open_database
    from offline_cache.print_jobs import PrintJobs

    def on_event(event: object) -> None:
        if isinstance(event, PrintDone):
            app.post_message(PrinterChanged("ok", ""))
        elif isinstance(event, PrintFailed):
            worded = sentence(event.error) if event.error is not None else _(PRINT_FAILED)
            app.post_message(PrinterChanged("failed", worded))

    worker = PrintWorker(
        lambda: PrintJobs(open_database(settings.offline.db_path)),
        lambda: printer_for(settings),
        on_event,
        idle_poll=2.0,
    )
    worker.start()
    return worker.notify, worker.stop
