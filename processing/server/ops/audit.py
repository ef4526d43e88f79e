"""The books' invariants, checked over the whole database; each break is one line.

1. Per member, the lots' remaining points equal the sum of the lot-touching movements
   (:func:`processing.server.ledger.audit`).
2. Per lot, what was issued minus what was spent, taken back and burnt is what remains: its
   movements sum to ``remaining``, the first of them is the lot's ``amount``, and a lot
   issued positive never holds more than it was issued nor less than nothing.
3. Every applied check (confirmed, applied offline, claimed) has its movements: an ``earn``
   movement of exactly its earn when it earned, ``spend`` movements of exactly its spend.
4. Reservations balance: a check's ``hold`` and ``release`` movements sum to nothing once it
   is closed, to minus its spend while it is held.
5. No lot-touching movement is without its lot.
"""

from __future__ import annotations

from dataclasses import dataclass

from processing.amounts import from_minor
from processing.server import ledger
from processing.server.engine import Database

APPLIED = ("confirmed", "applied_offline", "claimed")


@dataclass(frozen=True)
class AuditResult:
    breaks: list[str]
    members: int
    lots: int
    movements: int
    checks: int


def _p(minor: object) -> str:
    return format(from_minor(int(str(minor or 0))), "f")


def run(db: Database) -> AuditResult:
    """Every invariant over the whole database (call in a read transaction)."""
    breaks: list[str] = []
    kinds = ",".join("?" for _ in ledger.LOT_KINDS)
    for member_id in ledger.audit(db):
        lots, moves = db.execute(
            f"""SELECT (SELECT COALESCE(SUM(remaining), 0) FROM lots WHERE member_id = ?1),
                (SELECT COALESCE(SUM(points), 0) FROM movements
                 WHERE member_id = ?1 AND kind IN ({kinds}))""",
            [member_id, *ledger.LOT_KINDS],
        ).fetchone()
        breaks.append(
            f"member {member_id}: its lots hold {_p(lots)} points, its movements sum to {_p(moves)}"
        )
    for lot_id, member_id, amount, remaining, total, first in db.execute(
        """WITH agg AS (SELECT lot_id, SUM(points) AS total, MIN(id) AS first_id
                        FROM movements WHERE lot_id IS NOT NULL GROUP BY lot_id)
           SELECT * FROM (
             SELECT l.id, l.member_id, l.amount, l.remaining, COALESCE(agg.total, 0) AS total,
               f.points AS first
             FROM lots l LEFT JOIN agg ON agg.lot_id = l.id
             LEFT JOIN movements f ON f.id = agg.first_id) x
           WHERE total != remaining OR first IS NULL OR first != amount
              OR (amount > 0 AND (remaining < 0 OR remaining > amount))"""
    ):
        breaks.append(
            f"lot {lot_id} of member {member_id}: issued {_p(amount)}, remaining"
            f" {_p(remaining)}, its movements sum to {_p(total)}"
            f" (first {'none' if first is None else _p(first)})"
        )
    marks = ",".join("?" for _ in APPLIED)
    for check_id, status, earn, spend, earned, spent in db.execute(
        f"""SELECT c.id, c.status, c.earn, c.spend,
             (SELECT COALESCE(SUM(points), 0) FROM movements m
              WHERE m.check_id = c.id AND m.kind = 'earn'),
             (SELECT COALESCE(-SUM(points), 0) FROM movements m
              WHERE m.check_id = c.id AND m.kind = 'spend')
           FROM checks c WHERE c.status IN ({marks})""",
        list(APPLIED),
    ):
        if int(earned) != int(earn) or int(spent) != int(spend):
            breaks.append(
                f"check {check_id} ({status}): earned {_p(earn)} and spent {_p(spend)},"
                f" but its movements earn {_p(earned)} and spend {_p(spent)}"
            )
    for check_id, status, _spend, reserved in db.execute(
        """SELECT c.id, c.status, c.spend, COALESCE(SUM(m.points), 0) FROM checks c
           LEFT JOIN movements m ON m.check_id = c.id AND m.kind IN ('hold', 'release')
           GROUP BY c.id
           HAVING COALESCE(SUM(m.points), 0) != CASE WHEN c.status = 'held' THEN -c.spend
                                                      ELSE 0 END"""
    ):
        breaks.append(
            f"check {check_id} ({status}): its hold and release movements sum to {_p(reserved)}"
        )
    for move_id, member_id, kind in db.execute(
        f"""SELECT m.id, m.member_id, m.kind FROM movements m
            WHERE m.kind IN ({kinds}) AND (m.lot_id IS NULL
              OR NOT EXISTS (SELECT 1 FROM lots l WHERE l.id = m.lot_id))""",
        list(ledger.LOT_KINDS),
    ):
        breaks.append(f"movement {move_id} ({kind}) of member {member_id} has no lot")
    counts = db.execute(
        "SELECT (SELECT COUNT(*) FROM members), (SELECT COUNT(*) FROM lots),"
        " (SELECT COUNT(*) FROM movements), (SELECT COUNT(*) FROM checks)"
    ).fetchone()
    return AuditResult(breaks, int(counts[0]), int(counts[1]), int(counts[2]), int(counts[3]))
