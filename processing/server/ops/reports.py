"""The accountant's reports: the points liability at a moment, per store, and the movements of
a period, as CSV.

The liability at a moment counts every lot not expired by then with the movements made
before it (so a report for a past date is the same whenever it is run, burnt or not); a lot
belongs to the store of the check that issued it, else to its member's home store (imported
and adjusted points), else to ``-``. One point is one unit of the program's currency.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TextIO

from processing.amounts import from_minor
from processing.server import ledger
from processing.server.engine import Database


def _money(minor: int) -> str:
    return format(from_minor(minor), "f")


def liability(db: Database, at: int, currency: str, out: TextIO) -> int:
    """Write ``store,active,frozen,points,currency,amount`` rows and a total; returns the total
    outstanding points in hundredths."""
    rows = db.execute(
        """SELECT COALESCE(c.store_id, mb.home_store, '-') AS store,
             SUM(CASE WHEN l.active_from <= ?1 THEN m.points ELSE 0 END),
             SUM(CASE WHEN l.active_from > ?1 THEN m.points ELSE 0 END)
           FROM movements m JOIN lots l ON l.id = m.lot_id
           JOIN members mb ON mb.id = l.member_id
           LEFT JOIN checks c ON c.id = l.check_id
           WHERE m.created_at < ?1 AND (l.expires_at IS NULL OR l.expires_at > ?1)
           GROUP BY store ORDER BY store""",
        [at],
    ).fetchall()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["store", "active_points", "frozen_points", "points", "currency", "amount"])
    total_active = total_frozen = 0
    for store, active, frozen in rows:
        active, frozen = int(active or 0), int(frozen or 0)
        total_active += active
        total_frozen += frozen
        points = _money(active + frozen)
        writer.writerow([store, _money(active), _money(frozen), points, currency, points])
    total = _money(total_active + total_frozen)
    writer.writerow(["TOTAL", _money(total_active), _money(total_frozen), total, currency, total])
    return total_active + total_frozen


MOVEMENT_COLUMNS = ["id", "at", "member_id", "kind", "points", "lot_id", "check_id", "store",
                    "note"]  # fmt: skip


def movements(db: Database, start: int, end: int, with_holds: bool) -> Iterator[list[str]]:
    """Movements made in ``[start, end)``, oldest first (holds and releases when asked)."""
    kinds = ledger.LOT_KINDS + (("hold", "release") if with_holds else ())
    marks = ",".join("?" for _ in kinds)
    for r in db.execute(
        f"""SELECT m.id, m.created_at, m.member_id, m.kind, m.points, m.lot_id, m.check_id,
              c.store_id, m.note
            FROM movements m LEFT JOIN checks c ON c.id = m.check_id
            WHERE m.created_at >= ? AND m.created_at < ? AND m.kind IN ({marks})
            ORDER BY m.id""",
        [start, end, *kinds],
    ):
        yield [
            str(r[0]),
            datetime.fromtimestamp(int(r[1]), UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            str(r[2]),
            str(r[3]),
            _money(int(r[4])),
            "" if r[5] is None else str(r[5]),
            r[6] or "",
            r[7] or "",
            r[8] or "",
        ]


def write_movements(db: Database, start: int, end: int, with_holds: bool, out: TextIO) -> int:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(MOVEMENT_COLUMNS)
    count = 0
    for row in movements(db, start, end, with_holds):
        writer.writerow(row)
        count += 1
    return count
