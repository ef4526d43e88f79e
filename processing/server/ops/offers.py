"""Personal offers to a segment of members: add, list, end.

An offer is one row per member under one id: the ``promo_id`` of a personal promotion of the
program (``personal = true``: it applies only to members holding its offer), or any id for an
offer that is only shown. Identification shows a member's offers valid today in the store's
calendar (``valid_from`` … ``valid_to``, inclusive local dates); the promotion's own dates bound
when it changes a check.

The segment is worked out when the offer is added, from the conditions given (all must hold):
a tier, a birthday inside the offer's dates, a list of phones, no purchase for N days. Blocked
members are left out. Adding the same id again adds the members not yet holding it (a second
run changes nothing). Ending an offer removes it from every member at once (pricing no longer
applies it); both are written to ``operator_log`` with the operator's name and reason.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from loyalty.errors import InvalidPhone
from loyalty.phones import normalize_phone
from loyalty.program import Program
from processing.server.engine import Database

DAY = 86400


class OfferError(Exception):
    """A segment or dates the server refuses; one sentence."""


@dataclass(frozen=True)
class Segment:
    """Who gets an offer: every condition given must hold (none given: refused)."""

    tier: str | None = None
    birthday: bool = False
    """A birthday (month and day) on one of the offer's days."""
    phones: tuple[str, ...] | None = None
    """E.164 phones (already normalised)."""
    not_bought_days: int | None = None
    """No confirmed check in this many days (members who never bought included)."""

    def empty(self) -> bool:
        return (
            self.tier is None
            and not self.birthday
            and self.phones is None
            and self.not_bought_days is None
        )


@dataclass(frozen=True)
class PhoneLine:
    line: int
    problem: str


@dataclass
class PhoneList:
    phones: list[str] = field(default_factory=list)
    rejected: list[PhoneLine] = field(default_factory=list)


def read_phones(text: str, region: str) -> PhoneList:
    """One phone a line (blank lines and ``#`` comments skipped), normalised for ``region``;
    a bad line is named by its number."""
    found = PhoneList()
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip().strip(",;")
        if not line:
            continue
        try:
            found.phones.append(normalize_phone(line, region))
        except InvalidPhone as exc:
            found.rejected.append(PhoneLine(n, str(exc)))
    return found


@dataclass(frozen=True)
class Added:
    members: int
    """Members given the offer now."""
    already: int
    """Members of the segment who held it already."""


def _tier_bounds(program: Program, name: str) -> tuple[int, int | None]:
    """Lifetime spend (hundredths) from which tier ``name`` applies, and of the next tier."""
    names = ["Base", *(t.name for t in program.tiers)]
    lows = [Decimal(0), *(t.min_lifetime_spend for t in program.tiers)]
    matches = [i for i, n in enumerate(names) if n.casefold() == name.casefold()]
    if not matches:
        raise OfferError(f"The program has no tier {name!r}; its tiers: {', '.join(names)}.")
    i = matches[-1]
    low = int(lows[i] * 100)
    high = int(lows[i + 1] * 100) if i + 1 < len(lows) else None
    return low, high


def _birthdays(start: date, end: date) -> set[str]:
    """``MM-DD`` of every day from ``start`` to ``end``; 29 February birthdays count as 28
    February in other years (as the program's birthday window does)."""
    days: set[str] = set()
    day = start
    while day <= end and len(days) < 366:
        days.add(day.strftime("%m-%d"))
        if day.month == 2 and day.day == 28 and (day + timedelta(days=1)).month == 3:
            days.add("02-29")
        day += timedelta(days=1)
    return days


def segment_members(
    db: Database, program: Program, segment: Segment, start: date, end: date, now: int
) -> list[str]:
    """The ids of the segment's members (blocked ones left out), by id."""
    if segment.empty():
        raise OfferError(
            "Name the segment: --tier, --birthday, --phones or --not-bought-days (all that are"
            " given must hold)."
        )
    where = ["m.state != 'blocked'"]
    params: list[object] = []
    if segment.tier is not None:
        low, high = _tier_bounds(program, segment.tier)
        where.append("m.lifetime_spend >= ?")
        params.append(low)
        if high is not None:
            where.append("m.lifetime_spend < ?")
            params.append(high)
    if segment.not_bought_days is not None:
        where.append(
            "NOT EXISTS (SELECT 1 FROM checks c WHERE c.member_id = m.id"
            " AND c.status = 'confirmed' AND c.created_at >= ?)"
        )
        params.append(now - segment.not_bought_days * DAY)
    ids = [
        (str(r[0]), r[1], str(r[2]))
        for r in db.execute(
            f"SELECT m.id, m.birthday, m.phone FROM members m WHERE {' AND '.join(where)}"
            " ORDER BY m.id",
            params,
        ).fetchall()
    ]
    if segment.birthday:
        days = _birthdays(start, end)
        ids = [r for r in ids if r[1] is not None and str(r[1])[5:] in days]
    if segment.phones is not None:
        wanted = set(segment.phones)
        ids = [r for r in ids if r[2] in wanted]
    return [r[0] for r in ids]


def add(
    db: Database,
    program: Program,
    offer_id: str,
    *,
    title: str,
    description: str,
    start: date,
    end: date,
    auto_apply: bool,
    segment: Segment,
    now: int,
    operator: str,
    reason: str,
) -> Added:
    """Give offer ``offer_id`` (shown from ``start`` to ``end``) to the segment's members."""
    offer_id = offer_id.strip()
    if not offer_id or len(offer_id) > 64 or not offer_id.isprintable():
        raise OfferError("An offer id is 1 to 64 printable characters.")
    if not title.strip():
        raise OfferError("--title must not be empty.")
    if end < start:
        raise OfferError("--to is before --from.")
    members = segment_members(db, program, segment, start, end, now)
    before = db.execute("SELECT COUNT(*) FROM offers WHERE id = ?", [offer_id]).fetchone()[0]
    db.conn.executemany(
        "INSERT INTO offers (id, member_id, title, description, valid_from, valid_to,"
        " auto_apply) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id, member_id) DO NOTHING",
        [
            (offer_id, m, title.strip(), description, start.isoformat(), end.isoformat(),
             int(auto_apply))
            for m in members
        ],
    )  # fmt: skip
    after = db.execute("SELECT COUNT(*) FROM offers WHERE id = ?", [offer_id]).fetchone()[0]
    added = int(after) - int(before)
    if added:
        details = {
            "members": added,
            "from": start.isoformat(),
            "to": end.isoformat(),
            "segment": _describe(segment),
        }
        _log(db, now, operator, "offer_add", offer_id, reason, details)
    return Added(added, len(members) - added)


def _describe(segment: Segment) -> dict[str, object]:
    found: dict[str, object] = {}
    if segment.tier is not None:
        found["tier"] = segment.tier
    if segment.birthday:
        found["birthday"] = True
    if segment.phones is not None:
        found["phones"] = len(segment.phones)
    if segment.not_bought_days is not None:
        found["not_bought_days"] = segment.not_bought_days
    return found


def _log(
    db: Database,
    now: int,
    operator: str,
    action: str,
    subject: str,
    reason: str,
    details: dict[str, object],
) -> None:
    db.execute(
        "INSERT INTO operator_log (at, operator, action, subject, reason, details)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [now, operator, action, subject, reason, json.dumps(details)],
    )


@dataclass(frozen=True)
class OfferRow:
    id: str
    title: str
    valid_from: str | None
    valid_to: str | None
    auto_apply: bool
    members: int


def listed(db: Database, today: date | None = None) -> list[OfferRow]:
    """Every offer with its members' count, by id (``today``: only those not yet over)."""
    rows = db.execute(
        "SELECT id, MIN(title), MIN(valid_from), MAX(valid_to), MAX(auto_apply), COUNT(*)"
        " FROM offers GROUP BY id HAVING CAST(?1 AS TEXT) IS NULL OR MAX(valid_to) IS NULL"
        " OR MAX(valid_to) >= ?1 ORDER BY id",
        [None if today is None else today.isoformat()],
    ).fetchall()
    return [OfferRow(str(r[0]), str(r[1]), r[2], r[3], bool(r[4]), int(r[5])) for r in rows]


def end(db: Database, offer_id: str, *, now: int, operator: str, reason: str) -> int:
    """Take offer ``offer_id`` from every member (identification and pricing stop at once);
    the number of members it was taken from. Raises OfferError for an unknown id."""
    count = db.execute("DELETE FROM offers WHERE id = ?", [offer_id]).rowcount
    if not count:
        raise OfferError(f"There is no offer {offer_id}.")
    _log(db, now, operator, "offer_end", offer_id, reason, {"members": int(count)})
    return int(count)
