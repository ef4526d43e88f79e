"""Messages that travel up to the app from device threads and workers."""

from __future__ import annotations

from textual.message import Message

from terminal.views import SyncView


class ScanReceived(Message):
    """A scanner (serial thread or keyboard-wedge burst) read one code."""

    def __init__(self, code: str, source: str) -> None:
        super().__init__()
        self.code = code
        """The decoded code, framing and AIM prefix already stripped."""
        self.source = source
        """serial or keyboard."""


class StatusRefreshed(Message):
    """The queue and connection state the status line shows."""

    def __init__(self, sync: SyncView, printer: str) -> None:
        super().__init__()
        self.sync = sync
        """Online flag and queue depth."""
        self.printer = printer
        """One word for the printer: ok, offline, none, or the number of jobs waiting."""


class ServicesReady(Message):
    """The services facade is built; the app starts its timers (and the test-only sale)."""


class ConnectionChanged(Message):
    """The processing server started or stopped answering (the one connection state changed)."""

    def __init__(self, answers: bool) -> None:
        super().__init__()
        self.answers = answers
        """True: the server answers (online)."""
