"""Scheduled jobs (``till processing jobs run`` from cron or a systemd timer): burn expired lots
into the ledger, release holds past their expiry.

Each job is one write transaction (BEGIN IMMEDIATE, behind the server's write lock) that only
touches rows still due: run twice, or on two machines at once, the second run finds nothing
left and changes nothing. The balance a till sees never waited for this (expired lots and
holds stop counting at their moment); the jobs write the movements the books show.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlite_utils import Database

from processing.server import holds, ledger, members
from processing.server.storage import Storage


@dataclass(frozen=True)
class JobsResult:
    lots_burnt: int
    points_burnt: int
    """Hundredths."""
    members: int
    holds_released: int


def burn_expired(db: Database, now: int) -> tuple[int, int, int]:
    """Expire the lots past their date; (lots, hundredths, members). Call in a write."""
    due = db.execute(
        "SELECT member_id, COUNT(*), SUM(remaining) FROM lots WHERE remaining > 0"
        " AND expires_at IS NOT NULL AND expires_at <= ? GROUP BY member_id",
        [now],
    ).fetchall()
    if not due:
        return 0, 0, 0
    lots = ledger.expire_lots(db, now)
    for member_id, _count, _points in due:
        members.touch(db, str(member_id))  # the tills' member cache shows the lower balance
    return lots, sum(int(r[2]) for r in due), len(due)


def run(storage: Storage, now: int) -> JobsResult:
    """Every job, each in its own write transaction."""
    with storage.write() as db:
        lots, points, owners = burn_expired(db, now)
        if lots:
            _log(db, now, "burn_expired", {"lots": lots, "points": points, "members": owners})
    with storage.write() as db:
        released = holds.sweep_expired_holds(db, now)
        if released:
            _log(db, now, "release_stale_holds", {"holds": released})
    return JobsResult(lots, points, owners, released)


def _log(db: Database, now: int, action: str, details: dict[str, int]) -> None:
    db.execute(
        "INSERT INTO operator_log (at, operator, action, subject, reason, details)"
        " VALUES (?, 'jobs', ?, '', 'scheduled job', ?)",
        [now, action, json.dumps(details)],
    )
