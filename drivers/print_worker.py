"""The print worker: takes durable print jobs from the till's SQLite and sends them, retrying.

Receipts are enqueued as rendered bytes (``offline_cache.print_jobs.PrintJobs``) before anyone
touches the printer, so a printer that is off, out of paper or unplugged never loses or blocks
a check: the job stays pending, the worker backs off and tries again, oldest job first (receipts
come out in order). The worker thread makes its own store and printer through factories because
an SQLite connection belongs to the thread that uses it.

Events go to ``on_event`` (from the worker thread): :class:`PrintDone`, :class:`PrintFailed`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from drivers.errors import PrinterError
from drivers.printers import Printer

log = logging.getLogger(__name__)


class PrintJobLike(Protocol):
    """What the worker needs of a job row."""

    @property
    def id(self) -> int: ...

    @property
    def receipt(self) -> bytes: ...


class PrintJobStore(Protocol):
    """The part of ``offline_cache.print_jobs.PrintJobs`` the worker uses."""

    def next_pending(self) -> PrintJobLike | None: ...

    def mark_printed(self, job_id: int) -> None: ...

    def mark_failed(self, job_id: int, reason: str) -> None: ...


@dataclass(frozen=True)
class PrintDone:
    """Job ``job_id`` reached the printer."""

    job_id: int


@dataclass(frozen=True)
class PrintFailed:
    """Job ``job_id`` could not be printed now; it stays queued and will be retried."""

    job_id: int
    reason: str
    """The driver's English detail (for logs and the job's record)."""
    error: PrinterError | None = None
    """The failure itself, for a caller that words it for a person."""


class PrintWorker:
    """Drains pending print jobs on a background thread; see the module docstring.

    ``notify()`` after enqueueing wakes it at once; otherwise it looks every ``idle_poll``
    seconds. After a failure it waits ``backoff_initial``, doubling up to ``backoff_max``.
    """

    def __init__(
        self,
        store_factory: Callable[[], PrintJobStore],
        printer_factory: Callable[[], Printer],
        on_event: Callable[[object], None] = lambda event: None,
        *,
        idle_poll: float = 2.0,
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
        check_status: bool = True,
    ) -> None:
        self._store_factory = store_factory
        self._printer_factory = printer_factory
        self.on_event = on_event
        self.idle_poll = idle_poll
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.check_status = check_status
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # Many printers (and every file) never answer status queries; stop asking once seen,
        # so each receipt does not wait out a status timeout.
        self._status_answers = True

    @property
    def running(self) -> bool:
        """True while the worker thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start the worker thread (idempotent)."""
        if self.running:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="print-worker", daemon=True)
        self._thread.start()

    def notify(self) -> None:
        """A job was enqueued: look now instead of at the next poll."""
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop after the current send (bounded by the printer's timeout) and join."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _emit(self, event: object) -> None:
        try:
            self.on_event(event)
        except Exception:
            log.exception("print listener failed on %r", event)

    def _sleep(self, seconds: float) -> None:
        self._wake.wait(seconds)
        self._wake.clear()

    def _run(self) -> None:
        store = self._store_factory()
        printer = self._printer_factory()
        backoff = self.backoff_initial
        try:
            while not self._stop.is_set():
                try:
                    printed = self.print_next(store, printer)
                except Exception:  # the database or a printer bug: log, back off, keep going
                    log.exception("print worker step failed")
                    printed = False
                if printed is None:
                    backoff = self.backoff_initial
                    self._sleep(self.idle_poll)
                elif printed:
                    backoff = self.backoff_initial
                else:
                    self._stop.wait(backoff)
                    backoff = min(backoff * 2, self.backoff_max)
        finally:
            printer.close()

    def print_next(self, store: PrintJobStore, printer: Printer) -> bool | None:
        """Send the oldest pending job: True if printed, False if it failed, None if none.

        Public so a caller can drive the worker step by step (tests, a "print now" button).
        """
        job = store.next_pending()
        if job is None:
            return None
        try:
            if self.check_status and self._status_answers:
                status = printer.status()
                if status.online is None and status.paper == "unknown":
                    self._status_answers = False
                elif not status.can_print:
                    raise PrinterError(status.detail)
            printer.send(job.receipt)
        except PrinterError as exc:
            reason = str(exc)
            log.warning("print job %s failed: %s", job.id, reason)
            printer.close()
            store.mark_failed(job.id, reason)
            self._emit(PrintFailed(job.id, reason, exc))
            return False
        store.mark_printed(job.id)
        self._emit(PrintDone(job.id))
        return True
