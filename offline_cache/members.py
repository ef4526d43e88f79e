"""The member cache: members seen at this till plus the store's delta, for offline identify.

Phones are E.164 (unique), cards live in ``member_cards``; each row keeps the server's balance
with the time the server computed it (``balance_at``) and when the till stored it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlite_utils import Database

from offline_cache.clock import from_text, to_text
from offline_cache.txn import canonical_json, write_transaction


@dataclass(frozen=True)
class MemberRow:
    """One member as the server last described it (``wire.MemberCacheRow`` in till terms)."""

    member_id: str
    phone: str | None
    state: str
    available: Decimal
    balance_at: datetime
    card_numbers: tuple[str, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)
    """Anything else the screen shows (masked phone, name, lifetime spend, birthday)."""


@dataclass(frozen=True)
class CachedMember:
    """A member from the cache, with ``refreshed_at`` (when the till stored the row)."""

    member_id: str
    phone: str | None
    state: str
    available: Decimal
    balance_at: datetime
    refreshed_at: datetime
    details: dict[str, Any]


_UPSERT = (
    "INSERT INTO members (member_id, phone, state, available, balance_at, payload, seen_here,"
    " refreshed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(member_id) DO UPDATE SET"
    " phone = excluded.phone, state = excluded.state, available = excluded.available,"
    " balance_at = excluded.balance_at, payload = excluded.payload,"
    " seen_here = max(members.seen_here, excluded.seen_here),"
    " refreshed_at = excluded.refreshed_at"
    # An older figure never overwrites a newer one (a delta can arrive after a replay answer).
    " WHERE excluded.balance_at >= members.balance_at"
)
_SELECT = (
    "SELECT member_id, phone, state, available, balance_at, refreshed_at, payload FROM members"
)


class MemberCache:
    """Reads and writes the member cache on one connection."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def upsert_many(
        self, rows: Iterable[MemberRow], refreshed_at: datetime, seen_here: bool = False
    ) -> int:
        """Store ``rows`` in one transaction (batched with executemany); returns how many.

        A phone number that moved to another member is taken from the old one.
        """
        items = list(rows)
        stamp = to_text(refreshed_at)
        with write_transaction(self._db):
            conn = self._db.conn
            conn.executemany(
                "UPDATE members SET phone = NULL WHERE phone = ? AND member_id != ?",
                [(r.phone, r.member_id) for r in items if r.phone],
            )
            conn.executemany(
                _UPSERT,
                [
                    (
                        r.member_id,
                        r.phone,
                        r.state,
                        str(r.available),
                        to_text(r.balance_at),
                        canonical_json(r.details),
                        int(seen_here),
                        stamp,
                    )
                    for r in items
                ],
            )
            conn.executemany(
                "INSERT INTO member_cards (card, member_id) VALUES (?, ?)"
                " ON CONFLICT(card) DO UPDATE SET member_id = excluded.member_id",
                [(card, r.member_id) for r in items for card in r.card_numbers],
            )
        return len(items)

    def update_balance(self, member_id: str, available: Decimal, balance_at: datetime) -> None:
        """Take the server's figure for one member, unless the cache already has a newer one."""
        self._db.execute(
            "UPDATE members SET available = ?, balance_at = ? WHERE member_id = ?"
            " AND balance_at <= ?",
            [str(available), to_text(balance_at), member_id, to_text(balance_at)],
        )

    def take_server_balance(self, member_id: str, available: Decimal) -> None:
        """Take the balance the server answered for a replayed record (the server's figure wins).

        ``balance_at`` is left alone: the till clock may be off, and an older age only makes
        the screen more cautious.
        """
        self._db.execute(
            "UPDATE members SET available = ? WHERE member_id = ?", [str(available), member_id]
        )

    def lower_available(self, member_id: str, at_most: Decimal) -> None:
        """Lower the cached balance to ``at_most`` (never raise it): the till's own estimate
        after an online sale whose confirmation is still queued."""
        with write_transaction(self._db):
            row = self._db.execute(
                "SELECT available FROM members WHERE member_id = ?", [member_id]
            ).fetchone()
            if row is not None and Decimal(str(row[0])) > at_most:
                self._db.execute(
                    "UPDATE members SET available = ? WHERE member_id = ?",
                    [str(at_most), member_id],
                )

    def by_phone(self, e164: str) -> CachedMember | None:
        """The member with this E.164 phone, or None."""
        return self._one(f"{_SELECT} WHERE phone = ?", e164)

    def by_card(self, card: str) -> CachedMember | None:
        """The member holding this card number, or None."""
        return self._one(
            f"{_SELECT} WHERE member_id = (SELECT member_id FROM member_cards WHERE card = ?)",
            card,
        )

    def by_id(self, member_id: str) -> CachedMember | None:
        """The member with this id, or None."""
        return self._one(f"{_SELECT} WHERE member_id = ?", member_id)

    def count(self) -> int:
        """How many members the cache holds."""
        return int(self._db.execute("SELECT count(*) FROM members").fetchone()[0])

    def _one(self, sql: str, key: str) -> CachedMember | None:
        row = self._db.conn.execute(sql, (key,)).fetchone()
        if row is None:
            return None
        return CachedMember(
            member_id=row[0],
            phone=row[1],
            state=row[2],
            available=Decimal(row[3]),
            balance_at=from_text(row[4]),
            refreshed_at=from_text(row[5]),
            details=json.loads(row[6]),
        )
