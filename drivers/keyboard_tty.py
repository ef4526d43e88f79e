"""Keys from a terminal as they arrive, for testing a keyboard-wedge scanner from the console.

``till devices test-scan`` on a till whose scanner types (``[scanner] kind = "keyboard"``) puts
the terminal in cbreak mode (keys arrive one by one, unechoed; Ctrl+C still interrupts) and
hands every key with its arrival time to :class:`~drivers.keyboard_wedge.KeyboardWedge`, so the
admin sees whether the scanner's bursts are told from typing at the configured gap. Keys that
arrive in one read get one timestamp: a scanner's burst often does.
"""

from __future__ import annotations

import codecs
import os
import select
import termios
import time
import tty
from types import TracebackType
from typing import Any

from drivers.errors import DeviceError


class KeyReader:
    """``with KeyReader(fd) as keys:`` the terminal ``fd`` in cbreak mode until the block ends."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._saved: list[Any] | None = None
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def __enter__(self) -> KeyReader:
        if not os.isatty(self.fd):
            raise DeviceError(
                "Testing a keyboard scanner needs the till's own terminal: run this at its"
                " console, not through a pipe."
            )
        self._saved = termios.tcgetattr(self.fd)
        tty.setcbreak(self.fd)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._saved is not None:
            termios.tcsetattr(self.fd, termios.TCSADRAIN, self._saved)
            self._saved = None

    def read(self, timeout: float) -> list[tuple[str, float]]:
        """The keys that arrive within ``timeout`` seconds: (character or "enter", monotonic
        seconds). Empty when none did."""
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return []
        data = os.read(self.fd, 4096)
        at = time.monotonic()
        if not data:
            raise DeviceError("The terminal was closed.")
        text = self._decoder.decode(data)
        return [("enter" if ch in "\r\n" else ch, at) for ch in text]
