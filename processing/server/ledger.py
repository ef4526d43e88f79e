"""The points ledger: lots (what a member holds, with activation and expiry dates) and
movements (every change, signed). Balances are derived from it, never stored.

Movement kinds: ``earn`` (+, creates a lot), ``spend`` (-, consumes lots first-in first-out),
``hold``/``release`` (reservations, not touching lots), ``expire`` (-, empties a lot past its
date), ``reverse`` (a return: - takes earned points back, + gives spent points back),
``adjust`` (an operator's correction). Audit rule, checked by :func:`audit`: for every member
the sum of lot-touching movements equals the sum of the lots' remaining points.

All amounts are integer hundredths of a point; times are Unix seconds. Call the writers inside
a ``Storage.write()`` transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

from processing.server.engine import Database

LOT_KINDS = ("earn", "spend", "expire", "reverse", "adjust")


class LedgerShortfall(Exception):
    """Fewer active points than a spend needs (``available`` is what there was)."""

    def __init__(self, requested: int, available: int) -> None:
        super().__init__(f"{requested} requested, {available} available")
        self.requested = requested
        self.available = available


@dataclass(frozen=True)
class LotRow:
    id: int
    amount: int
    remaining: int
    active_from: int
    expires_at: int | None
    check_id: str | None


@dataclass(frozen=True)
class Figures:
    """A member's derived balance at one moment."""

    active: int
    """Points in active, unexpired lots (never negative now: a return records what it could
    not take back as a conflict; a debt lot only in a database from before that rule)."""
    held: int
    """Points reserved by open, unexpired holds."""
    frozen: list[tuple[int, int]]
    """(points, active_from) of lots not active yet."""
    expiring: list[tuple[int, int]]
    """(points, expires_at) of active lots expiring within the asked window."""

    @property
    def available(self) -> int:
        return self.active - self.held


def _movement(
    db: Database,
    member_id: str,
    kind: str,
    points: int,
    now: int,
    *,
    lot_id: int | None = None,
    check_id: str | None = None,
    note: str = "",
) -> None:
    db.execute(
        "INSERT INTO movements (member_id, kind, points, lot_id, check_id, created_at, note)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        [member_id, kind, points, lot_id, check_id, now, note],
    )


def lots(db: Database, member_id: str) -> list[LotRow]:
    """Every lot of the member with points left (positive or negative)."""
    rows = db.execute(
        "SELECT id, amount, remaining, active_from, expires_at, check_id FROM lots"
        " WHERE member_id = ? AND remaining != 0 ORDER BY id",
        [member_id],
    ).fetchall()
    return [LotRow(int(r[0]), int(r[1]), int(r[2]), int(r[3]), r[4], r[5]) for r in rows]


_ACTIVE = (
    "member_id = ? AND remaining != 0 AND active_from <= ?"
    " AND (expires_at IS NULL OR expires_at > ?)"
)
"""Open lots usable at a moment; served by the partial index ``lots_open`` (migration 2), so
a member with thousands of lots not active yet (or used up) costs no more than one with few."""


def active_lots(db: Database, member_id: str, now: int) -> list[LotRow]:
    """The member's lots with points left that are active and unexpired at ``now``."""
    rows = db.execute(
        "SELECT id, amount, remaining, active_from, expires_at, check_id FROM lots"
        f" WHERE {_ACTIVE} ORDER BY id",
        [member_id, now, now],
    ).fetchall()
    return [LotRow(int(r[0]), int(r[1]), int(r[2]), int(r[3]), r[4], r[5]) for r in rows]


def available(db: Database, member_id: str, now: int, besides: str = "") -> int:
    """Active points minus open holds at ``now`` (``figures(...).available``, in SQL);
    ``besides``: a check id whose own hold does not count (it is being calculated again)."""
    row = db.execute(
        f"SELECT COALESCE(SUM(remaining), 0) FROM lots WHERE {_ACTIVE}", [member_id, now, now]
    ).fetchone()
    return int(row[0]) - held(db, member_id, now, besides)


def held(db: Database, member_id: str, now: int, besides: str = "") -> int:
    row = db.execute(
        "SELECT COALESCE(SUM(spend), 0) FROM checks"
        " WHERE member_id = ? AND status = 'held' AND hold_expires_at > ? AND id != ?",
        [member_id, now, besides],
    ).fetchone()
    return int(row[0])


def figures(db: Database, member_id: str, now: int, expiring_within: int = 0) -> Figures:
    """The member's balance at ``now``; ``expiring_within`` seconds for the expiring list."""
    active = 0
    frozen: list[tuple[int, int]] = []
    expiring: list[tuple[int, int]] = []
    for lot in lots(db, member_id):
        if lot.expires_at is not None and lot.expires_at <= now:
            continue
        if lot.active_from > now:
            frozen.append((lot.remaining, lot.active_from))
            continue
        active += lot.remaining
        due = lot.expires_at
        if lot.remaining > 0 and due is not None and due <= now + expiring_within:
            expiring.append((lot.remaining, due))
    return Figures(active, held(db, member_id, now), frozen, expiring)


def add_lot(
    db: Database,
    member_id: str,
    points: int,
    *,
    kind: str,
    now: int,
    active_from: int,
    expires_at: int | None,
    check_id: str | None = None,
    note: str = "",
) -> int:
    """Credit ``points`` (> 0, or < 0 for a debt) as a new lot with a movement; the lot id."""
    row = db.execute(
        "INSERT INTO lots (member_id, amount, remaining, active_from, expires_at, check_id,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
        [member_id, points, points, active_from, expires_at, check_id, now],
    ).fetchone()
    lot_id = int(row[0])
    _movement(db, member_id, kind, points, now, lot_id=lot_id, check_id=check_id, note=note)
    return lot_id


def _consume(
    db: Database,
    member_id: str,
    points: int,
    kind: str,
    now: int,
    check_id: str | None,
    order: list[LotRow],
    note: str = "",
) -> int:
    """Take up to ``points`` from the positive lots in ``order``; returns what is left to take."""
    left = points
    for lot in order:
        if left <= 0:
            break
        if lot.remaining <= 0:
            continue
        take = min(lot.remaining, left)
        db.execute("UPDATE lots SET remaining = remaining - ? WHERE id = ?", [take, lot.id])
        _movement(db, member_id, kind, -take, now, lot_id=lot.id, check_id=check_id, note=note)
        left -= take
    return left


def _active_fifo(db: Database, member_id: str, now: int) -> list[LotRow]:
    usable = active_lots(db, member_id, now)
    # First expiring first; lots that never expire last.
    return sorted(usable, key=lambda lot: (lot.expires_at is None, lot.expires_at or 0, lot.id))


def spend(db: Database, member_id: str, points: int, now: int, check_id: str | None) -> None:
    """Consume ``points`` first-in first-out. Raises LedgerShortfall (nothing written then)."""
    if points <= 0:
        return
    order = _active_fifo(db, member_id, now)
    active = sum(lot.remaining for lot in order)
    if active < points:
        raise LedgerShortfall(points, max(active, 0))
    _consume(db, member_id, points, "spend", now, check_id, order)


def spend_up_to(
    db: Database, member_id: str, points: int, now: int, check_id: str
) -> tuple[int, int]:
    """Consume ``points``, or as many as are available at ``now`` if fewer, first-in first-out;
    ``check_id``'s own hold does not count against it (it is being settled). Returns (points
    taken, available before): one read of the lots serves both the balance and the spend."""
    order = _active_fifo(db, member_id, now)
    available = sum(lot.remaining for lot in order) - held(db, member_id, now, check_id)
    taken = min(points, max(available, 0))
    if taken > 0:
        _consume(db, member_id, taken, "spend", now, check_id, order)
    return taken, available


def debit(db: Database, member_id: str, points: int, now: int, note: str) -> None:
    """An operator's debit (``adjust`` movements noted ``note``) of ``points`` from the active
    lots, first expiring first. Raises LedgerShortfall (nothing written) beyond them."""
    if points <= 0:
        return
    order = _active_fifo(db, member_id, now)
    active = sum(lot.remaining for lot in order)
    if active < points:
        raise LedgerShortfall(points, max(active, 0))
    _consume(db, member_id, points, "adjust", now, None, order, note)


def take_back(db: Database, member_id: str, points: int, now: int, check_id: str) -> int:
    """Reverse earned ``points`` of a check: from that check's own lots first, then the oldest
    active lots. Never below zero: returns what could not be found (already spent), which the
    caller records as a conflict."""
    if points <= 0:
        return 0
    rows = db.execute(
        "SELECT id, amount, remaining, active_from, expires_at, check_id FROM lots"
        " WHERE member_id = ? AND check_id = ? AND remaining > 0 ORDER BY id",
        [member_id, check_id],
    ).fetchall()
    own = [LotRow(int(r[0]), int(r[1]), int(r[2]), int(r[3]), r[4], r[5]) for r in rows]
    left = _consume(db, member_id, points, "reverse", now, check_id, own)
    return _consume(db, member_id, left, "reverse", now, check_id, _active_fifo(db, member_id, now))


RESTORED_NOTE = "spent points returned"


def restore_spent(db: Database, member_id: str, points: int, now: int, check_id: str) -> int:
    """Give back up to ``points`` that ``check_id`` spent, into the very lots they were spent
    from, so they keep their own activation and expiry dates (a lot past its date takes them
    back expired, as they would have been had they not been spent). The last spent come back
    first (spending took the first expiring first). Returns what could not be traced to a
    lot (spent before spends were recorded per lot), for the caller to credit otherwise."""
    if points <= 0:
        return 0
    rows = db.execute(
        # Per lot: spent by the check less already given back; the lot spent last first.
        "SELECT lot_id, SUM(-points), MAX(CASE WHEN kind = 'spend' THEN id END) AS spent_at"
        " FROM movements WHERE member_id = ? AND check_id = ? AND lot_id IS NOT NULL"
        " AND ((kind = 'spend' AND points < 0) OR (kind = 'reverse' AND note = ?))"
        " GROUP BY lot_id HAVING MAX(CASE WHEN kind = 'spend' THEN id END) IS NOT NULL"
        " ORDER BY spent_at DESC",
        [member_id, check_id, RESTORED_NOTE],
    ).fetchall()
    left = points
    for lot_id, still_spent, _last in rows:
        give = min(left, int(still_spent))
        if give <= 0:
            continue
        db.execute("UPDATE lots SET remaining = remaining + ? WHERE id = ?", [give, lot_id])
        _movement(
            db, member_id, "reverse", give, now, lot_id=int(lot_id), check_id=check_id,
            note=RESTORED_NOTE,
        )  # fmt: skip
        left -= give
        if left == 0:
            break
    return left


def record_hold(db: Database, member_id: str, points: int, now: int, check_id: str) -> None:
    _movement(db, member_id, "hold", -points, now, check_id=check_id)


def record_release(
    db: Database, member_id: str, points: int, now: int, check_id: str, note: str = ""
) -> None:
    _movement(db, member_id, "release", points, now, check_id=check_id, note=note)


def expire_lots(db: Database, now: int, member_id: str | None = None) -> int:
    """Write ``expire`` movements for lots past their date; returns how many lots expired."""
    where = "remaining > 0 AND expires_at IS NOT NULL AND expires_at <= ?"
    params: list[object] = [now]
    if member_id is not None:
        where += " AND member_id = ?"
        params.append(member_id)
    rows = db.execute(f"SELECT id, member_id, remaining FROM lots WHERE {where}", params).fetchall()
    for lot_id, owner, remaining in rows:
        db.execute("UPDATE lots SET remaining = 0 WHERE id = ?", [lot_id])
        _movement(db, str(owner), "expire", -int(remaining), now, lot_id=int(lot_id))
    return len(rows)


def audit(db: Database) -> list[str]:
    """Members whose movements and lots disagree (an empty list means the ledger is sound)."""
    marks = ",".join("?" for _ in LOT_KINDS)
    rows = db.execute(
        f"""SELECT m.id FROM members m
        LEFT JOIN (SELECT member_id, SUM(points) AS s FROM movements
                   WHERE kind IN ({marks}) GROUP BY member_id) mv ON mv.member_id = m.id
        LEFT JOIN (SELECT member_id, SUM(remaining) AS s FROM lots GROUP BY member_id) l
               ON l.member_id = m.id
        WHERE COALESCE(mv.s, 0) != COALESCE(l.s, 0)""",
        list(LOT_KINDS),
    ).fetchall()
    return [str(r[0]) for r in rows]
