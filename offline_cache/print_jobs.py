"""Receipt print jobs: bytes waiting for the printer, kept until printed, retried on failure.

The printer worker (``drivers``) loops ``next_pending`` → send → ``mark_printed`` or
``mark_failed``. A failed print never blocks or loses a check: the job stays pending and a
reprint is a new job with the same ``check_id``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from offline_cache.clock import Clock, from_text, to_text, utc_now
from offline_cache.errors import NotFound


@dataclass(frozen=True)
class PrintJob:
    """One receipt to print. ``state`` is ``"pending"`` or ``"printed"``."""

    id: int
    check_id: str | None
    kind: str
    receipt: bytes
    state: str
    attempts: int
    last_error: str | None
    created_at: datetime
    printed_at: datetime | None


class PrintJobs:
    """The ``print_jobs`` table. Use one instance per connection (i.e. per thread)."""

    def __init__(self, db: Database, clock: Clock = utc_now) -> None:
        self._db = db
        self._clock = clock

    def enqueue(self, receipt_bytes: bytes, check_id: str | None, kind: str) -> int:
        """Store a receipt for printing and return the job id (committed on return)."""
        now = to_text(self._clock())
        with self._db.atomic():
            cursor = self._db.execute(
                "INSERT INTO print_jobs (check_id, kind, receipt, state, attempts,"
                " created_at, updated_at) VALUES (?, ?, ?, 'pending', 0, ?, ?)",
                [check_id, kind, bytes(receipt_bytes), now, now],
            )
        job_id = cursor.lastrowid
        assert job_id is not None
        return job_id

    def next_pending(self) -> PrintJob | None:
        """The oldest job not yet printed, or None."""
        row = self._db.execute(
            f"SELECT {_COLUMNS} FROM print_jobs WHERE state = 'pending' ORDER BY id LIMIT 1"
        ).fetchone()
        return None if row is None else _job(row)

    def mark_printed(self, job_id: int) -> None:
        """Record that the printer took the job. Raises ``NotFound`` for an unknown id."""
        now = to_text(self._clock())
        self._update(
            job_id,
            "UPDATE print_jobs SET state = 'printed', printed_at = ?, updated_at = ?,"
            " attempts = attempts + 1, last_error = NULL WHERE id = ?",
            [now, now, job_id],
        )

    def mark_failed(self, job_id: int, reason: str) -> None:
        """Count a failed attempt and keep the job pending. Raises ``NotFound``."""
        self._update(
            job_id,
            "UPDATE print_jobs SET attempts = attempts + 1, last_error = ?, updated_at = ?"
            " WHERE id = ?",
            [reason, to_text(self._clock()), job_id],
        )

    def get(self, job_id: int) -> PrintJob:
        """The job with this id. Raises ``NotFound``."""
        row = self._db.execute(
            f"SELECT {_COLUMNS} FROM print_jobs WHERE id = ?", [job_id]
        ).fetchone()
        if row is None:
            raise NotFound("print job", job_id)
        return _job(row)

    def recent(self, limit: int = 20) -> list[PrintJob]:
        """The newest ``limit`` jobs, newest first (for the reprint list)."""
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM print_jobs ORDER BY id DESC LIMIT ?", [limit]
        ).fetchall()
        return [_job(row) for row in rows]

    def pending_count(self) -> int:
        """How many jobs wait for the printer."""
        row = self._db.execute("SELECT count(*) FROM print_jobs WHERE state = 'pending'")
        return int(row.fetchone()[0])

    def _update(self, job_id: int, sql: str, params: list[Any]) -> None:
        with self._db.atomic():
            cursor = self._db.execute(sql, params)
        if cursor.rowcount == 0:
            raise NotFound("print job", job_id)


_COLUMNS = "id, check_id, kind, receipt, state, attempts, last_error, created_at, printed_at"


def _job(row: tuple[Any, ...]) -> PrintJob:
    return PrintJob(
        id=row[0],
        check_id=row[1],
        kind=row[2],
        receipt=bytes(row[3]),
        state=row[4],
        attempts=row[5],
        last_error=row[6],
        created_at=from_text(row[7]),
        printed_at=None if row[8] is None else from_text(row[8]),
    )
