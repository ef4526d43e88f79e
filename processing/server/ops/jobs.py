"""Scheduled jobs (``till processing jobs run`` from cron or a systemd timer): burn expired lots
into the ledger, release holds past their expiry, tell members of points about to expire.

Each job is one write transaction (BEGIN IMMEDIATE, behind the server's write lock) that only
touches rows still due: run twice, or on two machines at once, the second run finds nothing
left and changes nothing. The balance a till sees never waited for this (expired lots and
holds stop counting at their moment); the jobs write the movements the books show.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC

from processing.amounts import from_minor
from processing.server import holds, ledger, members, zones
from processing.server.engine import Database, StorageEngine
from processing.server.sms import SmsGateway

DAY = 86400


@dataclass(frozen=True)
class JobsResult:
    lots_burnt: int
    points_burnt: int
    """Hundredths."""
    members: int
    holds_released: int
    notices: int = 0
    """Members told of points about to expire."""


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


def notify_expiring(db: Database, sms: SmsGateway, now: int, days: int) -> int:
    """Tell each consenting, unblocked member whose active points expire within ``days`` how
    many and when (one message per member, on the calendar of their home store), once per
    lot; returns how many members were told. Call in a write."""
    rows = db.execute(
        """SELECT l.id, l.member_id, l.remaining, l.expires_at, m.phone, m.home_store
           FROM lots l JOIN members m ON m.id = l.member_id
           WHERE l.remaining > 0 AND l.expires_at > ?1 AND l.expires_at <= ?2
             AND l.active_from <= ?1 AND m.consent = 1 AND m.state != 'blocked'
             AND NOT EXISTS (SELECT 1 FROM expiry_notices n WHERE n.lot_id = l.id)
           ORDER BY l.member_id, l.expires_at""",
        [now, now + days * DAY],
    ).fetchall()
    due: dict[str, list[tuple[int, int, int, str, str | None]]] = {}
    for lot_id, member_id, remaining, expires_at, phone, store in rows:
        due.setdefault(str(member_id), []).append(
            (int(lot_id), int(remaining), int(expires_at), str(phone), store)
        )
    for member_id, lots in due.items():
        points = sum(lot[1] for lot in lots)
        first, phone, store = lots[0][2], lots[0][3], lots[0][4]
        zone = zones.stored(zones.store_timezone(db, store) if store else None, UTC)
        day = zones.local_time(first, zone).strftime("%d.%m.%Y")
        shown = format(from_minor(points), "f")
        sms.send(db, phone, f"{shown} of your points expire soon, the first on {day}.", "", now)
        db.conn.executemany(
            "INSERT INTO expiry_notices (lot_id, member_id, sent_at) VALUES (?, ?, ?)",
            [(lot[0], member_id, now) for lot in lots],
        )
    return len(due)


def run(
    storage: StorageEngine, now: int, sms: SmsGateway | None = None, notify_days: int = 0
) -> JobsResult:
    """Every job, each in its own write transaction (``notify_days`` 0: no notices)."""
    with storage.write() as db:
        lots, points, owners = burn_expired(db, now)
        if lots:
            _log(db, now, "burn_expired", {"lots": lots, "points": points, "members": owners})
    with storage.write() as db:
        released = holds.sweep_expired_holds(db, now)
        if released:
            _log(db, now, "release_stale_holds", {"holds": released})
    told = 0
    if sms is not None and notify_days > 0:
        with storage.write() as db:
            told = notify_expiring(db, sms, now, notify_days)
            if told:
                _log(db, now, "expiry_notices", {"members": told, "days": notify_days})
    return JobsResult(lots, points, owners, released, told)


def _log(db: Database, now: int, action: str, details: dict[str, int]) -> None:
    db.execute(
        "INSERT INTO operator_log (at, operator, action, subject, reason, details)"
        " VALUES (?, 'jobs', ?, '', 'scheduled job', ?)",
        [now, action, json.dumps(details)],
    )
