"""Connects the configured scanner's reader thread to the app: its events become messages.

The serial reader lives on its own thread (``drivers.serial_scanner``) and calls back from it;
``post_message`` is thread-safe, so each event is handed to the UI thread as a message and
nothing else is shared. A keyboard-wedge scanner needs no thread: the sale screen's input line
tells its bursts from typing.
"""

from __future__ import annotations

from collections.abc import Callable

from textual.app import App
from textual.message import Message

from terminal.config import Settings
from terminal.i18n import _
from terminal.messages import ScanReceived


class ScannerChanged(Message):
    """The scanner port was lost or found again; ``state`` is one word for the status line."""

    def __init__(self, state: str, sentence: str) -> None:
        super().__init__()
        self.state = state
        """ok or lost."""
        self.sentence = sentence
        """Why, for the message line (from the driver)."""


def start_scanner(
    settings: Settings, app: App[None], port: str | None = None
) -> Callable[[], None]:
    """Start the serial reader when configured (or on ``port``); returns the stop function."""
    scanner = settings.scanner
    if scanner.kind != "serial" and port is None:
        return lambda: None
    from drivers.scan_events import Scanned, ScannerState, UnreadableScan
    from drivers.serial_scanner import SerialScanner

    def on_event(event: object) -> None:
        if isinstance(event, Scanned):
            app.post_message(ScanReceived(event.code, "serial"))
        elif isinstance(event, ScannerState):
            # The driver's reason is English detail for the log; the cashier reads a sentence.
            if event.connected:
                worded = _("Scanner connected on {port}.").format(port=event.port)
            else:
                worded = _("The scanner on {port} is lost; the till keeps trying.").format(
                    port=event.port
                )
            app.post_message(ScannerChanged("ok" if event.connected else "lost", worded))
        elif isinstance(event, UnreadableScan):
            app.post_message(ScannerChanged("ok", _("The scan could not be read; scan again.")))

    reader = SerialScanner(
        port or scanner.port,
        baudrate=scanner.baudrate,
        parity=scanner.parity,
        stopbits=scanner.stopbits,
        suffix=scanner.suffix,
        prefix=scanner.prefix,
        max_length=scanner.max_length,
        gap_ms=scanner.gap_ms,
        on_event=on_event,
    )
    reader.start()
    return reader.stop
