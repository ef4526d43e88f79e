"""Sending queued receipts to the printer, from a worker, one job at a time.

A failed print keeps the job pending (``mark_failed``) and never touches the check; the next
tick or a reprint tries again. The file printer (the demo's, and a debugging aid) appends the
bytes to ``[printer] path``; real printers go through ``drivers`` when that module provides
them.
"""

from __future__ import annotations

import logging
from pathlib import Path

from sqlite_utils import Database

from offline_cache.print_jobs import PrintJobs
from terminal.config import Settings

log = logging.getLogger(__name__)

MAX_JOBS_PER_TICK = 5
"""Bound one worker run, so a stuck printer never holds a worker for long."""


def send_pending(db: Database, settings: Settings) -> int:
    """Print up to :data:`MAX_JOBS_PER_TICK` pending jobs; returns how many were printed."""
    jobs = PrintJobs(db)
    printed = 0
    for _ in range(MAX_JOBS_PER_TICK):
        job = jobs.next_pending()
        if job is None:
            break
        try:
            send(settings, job.receipt)
        except OSError as error:
            jobs.mark_failed(job.id, str(error))
            log.warning("print job %s failed: %s", job.id, error)
            break
        jobs.mark_printed(job.id)
        printed += 1
    return printed


def send(settings: Settings, data: bytes) -> None:
    """Write ``data`` to the configured printer; raises OSError when it cannot."""
    printer = settings.printer
    if printer.kind == "none":
        return
    if printer.kind == "file":
        path = Path(printer.path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("ab") as handle:
            handle.write(data)
            handle.flush()
        return
    raise OSError(f"printer kind {printer.kind!r} is not connected in this build of till")
