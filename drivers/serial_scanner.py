"""A serial (RS-232 or USB-CDC) scanner read by a thread that never dies and never blocks.

The thread opens the port (any pyserial name or URL: ``/dev/ttyACM0``,
``/dev/serial/by-id/…``, ``socket://host:port``, ``loop://``), reads with a short timeout so
``stop()`` returns promptly, frames codes with :class:`~drivers.scan_framing.ScanFramer` and
calls ``on_event`` with :class:`Scanned`, :class:`UnreadableScan` or :class:`ScannerState`.
When the port goes away (unplugged, master side of a pty closed) it reports the loss and reopens
with exponential backoff until the port is back. ``on_event`` runs on the reader thread; the
terminal forwards it with ``post_message``.
"""

from __future__ import annotations

import logging
import os
import select
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal

from drivers.scan_events import Scanned, ScannerState, UnreadableScan
from drivers.scan_framing import Frame, FrameResult, ScanFramer, Suffix

log = logging.getLogger(__name__)

Parity = Literal["N", "E", "O", "M", "S"]


def _utc_now() -> datetime:
    return datetime.now(UTC)


class SerialScanner:
    """Reads codes from a serial port on a background thread; see the module docstring.

    ``start()`` returns at once (opening happens on the thread, so a missing port is reported
    as ``ScannerState(False, …)``, not raised); ``stop()`` joins within about ``read_timeout``.
    """

    def __init__(
        self,
        port: str,
        baudrate: int = 9600,
        parity: Parity = "N",
        stopbits: float = 1,
        suffix: Suffix = "cr",
        prefix: str = "",
        max_length: int = 4096,
        gap_ms: float = 100.0,
        on_event: Callable[[object], None] = lambda event: None,
        *,
        read_timeout: float = 0.05,
        backoff_initial: float = 0.1,
        backoff_max: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.port = port
        self.baudrate = baudrate
        self.parity = parity
        self.stopbits = stopbits
        self.framer = ScanFramer(suffix, prefix, max_length, gap_ms)
        self.on_event = on_event
        self.read_timeout = read_timeout
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self._clock = clock
        self._wall_clock = wall_clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._connected = False
        self._last_loss_reason: str | None = None

    @property
    def running(self) -> bool:
        """True while the reader thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start the reader thread (idempotent)."""
        if self.running:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"scanner-{self.port}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Stop the thread and close the port; waits at most ``timeout`` seconds."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    # -- the thread ------------------------------------------------------------------------

    def _emit(self, event: object) -> None:
        try:
            self.on_event(event)
        except Exception:  # a listener's bug must not kill the reader
            log.exception("scanner listener failed on %r", event)

    def _open(self) -> Any:
        import serial  # pyserial; imported here so the module loads without touching ports

        kwargs: dict[str, Any] = {
            "baudrate": self.baudrate,
            "parity": self.parity,
            "stopbits": self.stopbits,
            "timeout": self.read_timeout,
        }
        if "://" not in self.port:
            kwargs["exclusive"] = True  # two readers on one scanner would split its codes
        return serial.serial_for_url(self.port, **kwargs)

    def _run(self) -> None:
        backoff = self.backoff_initial
        while not self._stop.is_set():
            try:
                port = self._open()
            except Exception as exc:  # SerialException, OSError, ValueError from a bad URL
                self._lost(f"Scanner port {self.port} cannot be opened: {exc}")
                self._stop.wait(backoff)
                backoff = min(backoff * 2, self.backoff_max)
                continue
            backoff = self.backoff_initial
            self._connected = True
            self._last_loss_reason = None
            self._emit(ScannerState(True, f"Scanner connected on {self.port}.", self.port))
            try:
                self._read_until_lost(port)
            finally:
                try:
                    port.close()
                except Exception:  # closing a vanished device can fail; it is gone either way
                    log.debug("closing scanner port failed", exc_info=True)

    def _read_until_lost(self, port: Any) -> None:
        while not self._stop.is_set():
            try:
                data = self._read_chunk(port)
            except Exception as exc:  # SerialException / OSError: unplugged or master closed
                self._lost(f"Scanner on {self.port} was disconnected: {exc}")
                return
            self._deliver(self.framer.feed(data, self._clock()))

    def _read_chunk(self, port: Any) -> bytes:
        """What the port has, waiting up to ``read_timeout`` for something.

        A POSIX serial port (pyserial's ``fd``, which keeps no buffer of its own): one ``select``
        and one ``read`` of everything the tty holds, so a code that arrives at once is read at
        once. pyserial's ``read(1)`` then ``read(in_waiting)`` took two wake-ups, two selects,
        an ioctl and the framer twice for every code, and on a busy box each wake-up waits for
        the CPU. Other ports (``socket://``, ``loop://``) go through pyserial."""
        fd = getattr(port, "fd", None)
        if not isinstance(fd, int):
            waiting = port.in_waiting
            return bytes(port.read(waiting or 1))
        ready, _, _ = select.select([fd], [], [], self.read_timeout)
        if not ready:
            return b""
        try:
            data = os.read(fd, 4096)
        except BlockingIOError:  # woken for nothing (the port is non-blocking)
            return b""
        if not data:  # ready but empty: the device is gone (pyserial says the same)
            raise OSError("the scanner port reports data but gives none (unplugged?)")
        return data

    def _deliver(self, results: list[FrameResult]) -> None:
        for result in results:
            at = self._wall_clock()
            if isinstance(result, Frame):
                self._emit(Scanned(result.code, result.symbology, "serial", at))
            else:
                log.warning("unreadable scan on %s: %s", self.port, result.reason)
                self._emit(UnreadableScan(result.reason, "serial", at))

    def _lost(self, reason: str) -> None:
        # Report a loss once per outage, not once per reconnect attempt.
        if self._connected or self._last_loss_reason is None:
            log.warning("%s", reason)
            self._emit(ScannerState(False, reason, self.port))
        self._connected = False
        self._last_loss_reason = reason
