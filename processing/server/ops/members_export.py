"""Members as CSV, in the columns ``members import`` reads (plus ``id`` and ``frozen``), so an
export loads into another server as it is."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import TextIO

from processing.amounts import from_minor
from processing.server.engine import Database

COLUMNS = (
    "id",
    "phone",
    "name",
    "birthday",
    "email",
    "cards",
    "balance",
    "frozen",
    "lifetime_spend",
    "state",
)


def _money(minor: object) -> str:
    return format(from_minor(int(str(minor or 0))), "f")


def rows(db: Database, now: int) -> Iterator[list[str]]:
    """One row per member, oldest first: ``balance`` the active unexpired points (holds
    included), ``frozen`` the points not active yet; cards space-separated."""
    query = db.execute(
        """SELECT m.id, m.phone, m.name, m.birthday, m.email,
          (SELECT group_concat(number, ' ') FROM cards c WHERE c.member_id = m.id),
          (SELECT SUM(remaining) FROM lots l WHERE l.member_id = m.id AND remaining != 0
             AND active_from <= ?1 AND (expires_at IS NULL OR expires_at > ?1)),
          (SELECT SUM(remaining) FROM lots l WHERE l.member_id = m.id AND remaining != 0
             AND active_from > ?1 AND (expires_at IS NULL OR expires_at > ?1)),
          m.lifetime_spend, m.state
        FROM members m ORDER BY m.created_at, m.id""",
        [now],
    )
    for r in query:
        yield [
            str(r[0]),
            str(r[1]),
            r[2] or "",
            r[3] or "",
            r[4] or "",
            r[5] or "",
            _money(r[6]),
            _money(r[7]),
            _money(r[8]),
            str(r[9]),
        ]


def export(db: Database, out: TextIO, now: int) -> int:
    """Write the CSV to ``out``; returns how many members."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    count = 0
    for row in rows(db, now):
        writer.writerow(row)
        count += 1
    return count
