"""Member-cache and catalog deltas by cursor (a change sequence number, as text)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from loyalty.phones import mask_phone
from processing import wire
from processing.amounts import from_minor
from processing.server.engine import Database

SCAN_PER_CALL = 1000
"""Members (by change sequence) one delta call looks at, at most, whatever few of them are in
the caller's scope: the cursor moves past the others in bounded steps."""

_IN_SCOPE = (
    "(home_store = ? OR EXISTS (SELECT 1 FROM checks c WHERE c.member_id = members.id"
    " AND c.store_id = ?))"
)


def members_delta(
    db: Database, after: int, limit: int, now: int, store_id: str
) -> wire.MembersDelta:
    """Up to ``limit`` members of ``store_id``'s scope whose seq is above ``after``, with
    derived balances, looking at no more than :data:`SCAN_PER_CALL` changed members.

    A store's scope is its own regulars: members registered there (home store) and members
    with a check made there (online, offline or a claim); a member enters it with their first
    check there (which marks them changed). The rest of the chain never reaches its tills."""
    window = db.execute(
        "SELECT seq FROM members WHERE seq > ? ORDER BY seq LIMIT 1 OFFSET ?",
        [after, SCAN_PER_CALL - 1],
    ).fetchone()
    last = None if window is None else int(window[0])  # None: the rest fits in one window
    rows = db.execute(
        "SELECT id, phone, name, state, lifetime_spend, birthday, seq FROM members"
        f" WHERE seq > ? AND seq <= ? AND {_IN_SCOPE} ORDER BY seq LIMIT ?",
        [after, last if last is not None else 2**62, store_id, store_id, limit + 1],
    ).fetchall()
    if len(rows) > limit:
        rows = rows[:limit]
        more, cursor = True, int(rows[-1][6])
    elif last is not None:
        more = db.execute("SELECT 1 FROM members WHERE seq > ? LIMIT 1", [last]).fetchone()
        more, cursor = more is not None, last
    else:
        top = db.execute("SELECT MAX(seq) FROM members WHERE seq > ?", [after]).fetchone()[0]
        more, cursor = False, after if top is None else int(top)
    ids = [str(r[0]) for r in rows]
    active: dict[str, int] = {}
    held: dict[str, int] = {}
    cards: dict[str, list[str]] = {}
    if ids:
        marks = ",".join("?" for _ in ids)
        for member_id, total in db.execute(
            f"SELECT member_id, SUM(remaining) FROM lots WHERE member_id IN ({marks})"
            " AND remaining != 0 AND active_from <= ? AND (expires_at IS NULL OR expires_at > ?)"
            " GROUP BY member_id",
            [*ids, now, now],
        ).fetchall():
            active[str(member_id)] = int(total)
        for member_id, total in db.execute(
            f"SELECT member_id, SUM(spend) FROM checks WHERE member_id IN ({marks})"
            " AND status = 'held' AND hold_expires_at > ? GROUP BY member_id",
            [*ids, now],
        ).fetchall():
            held[str(member_id)] = int(total)
        for number, member_id in db.execute(
            f"SELECT number, member_id FROM cards WHERE member_id IN ({marks}) ORDER BY number",
            ids,
        ).fetchall():
            cards.setdefault(str(member_id), []).append(str(number))
    at = datetime.fromtimestamp(now, UTC)
    items = [
        wire.MemberCacheRow(
            id=str(r[0]),
            phone=str(r[1]),
            phone_masked=mask_phone(str(r[1])),
            name=r[2],
            card_numbers=cards.get(str(r[0]), []),
            state=r[3],
            available=from_minor(active.get(str(r[0]), 0) - held.get(str(r[0]), 0)),
            lifetime_spend=from_minor(int(r[4])),
            birthday=None if r[5] is None else date.fromisoformat(str(r[5])),
            balance_at=at,
        )
        for r in rows
    ]
    return wire.MembersDelta(items=items, cursor=str(cursor), has_more=more)


def catalog_delta(db: Database, after: int, limit: int) -> wire.CatalogDelta:
    """Up to ``limit`` products whose seq is above ``after``, with their barcodes."""
    rows = db.execute(
        "SELECT sku, name, category, price, active, seq FROM products WHERE seq > ?"
        " ORDER BY seq LIMIT ?",
        [after, limit + 1],
    ).fetchall()
    more = len(rows) > limit
    rows = rows[:limit]
    barcodes: dict[str, list[str]] = {}
    skus = [str(r[0]) for r in rows]
    if skus:
        marks = ",".join("?" for _ in skus)
        for barcode, sku in db.execute(
            f"SELECT barcode, sku FROM barcodes WHERE sku IN ({marks}) ORDER BY barcode", skus
        ).fetchall():
            barcodes.setdefault(str(sku), []).append(str(barcode))
    items = [
        wire.Product(
            sku=str(r[0]),
            barcodes=barcodes.get(str(r[0]), []),
            name=str(r[1]),
            category=str(r[2]),
            price=from_minor(int(r[3])),
            active=bool(r[4]),
        )
        for r in rows
    ]
    cursor = str(rows[-1][5]) if rows else str(after)
    return wire.CatalogDelta(items=items, cursor=cursor, has_more=more)
