"""Program snapshot, catalog and offers caches, and the small key/value sync state.

Each cache keeps when it was refreshed, so the screen can say how old an offline answer is.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlite_utils import Database

from offline_cache.clock import from_text, to_text
from offline_cache.txn import canonical_json, write_transaction


@dataclass(frozen=True)
class CachedProgram:
    """The last program snapshot: rules as ``Program.to_dict()``, and the QR public key."""

    version: str
    program: dict[str, Any]
    public_key: str
    qr_token_ttl: timedelta
    refreshed_at: datetime


@dataclass(frozen=True)
class CatalogItem:
    """A product the till can scan offline."""

    barcode: str
    sku: str
    name: str
    price: Decimal
    category: str = ""
    active: bool = True


@dataclass(frozen=True)
class CachedOffer:
    """A personal offer or coupon cached for a member (``kind`` is 'offer' or 'coupon')."""

    id: str
    member_id: str | None
    kind: str
    valid_until: datetime | None
    details: dict[str, Any] = field(default_factory=dict)


class SyncState:
    """Small named facts: delta cursors, last sync time, last error."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def get(self, key: str) -> str | None:
        """The value stored under ``key``, or None."""
        row = self._db.execute("SELECT value FROM sync_state WHERE key = ?", [key]).fetchone()
        return None if row is None else str(row[0]) if row[0] is not None else None

    def updated_at(self, key: str) -> datetime | None:
        """When ``key`` was last set, or None."""
        row = self._db.execute("SELECT updated_at FROM sync_state WHERE key = ?", [key]).fetchone()
        return None if row is None else from_text(row[0])

    def set(self, key: str, value: str | None, at: datetime) -> None:
        """Store ``value`` under ``key`` (inside the caller's transaction when one is open)."""
        self._db.execute(
            "INSERT INTO sync_state (key, value, updated_at) VALUES (?, ?, ?)"
            " ON CONFLICT(key) DO UPDATE SET value = excluded.value,"
            " updated_at = excluded.updated_at",
            [key, value, to_text(at)],
        )


class ProgramCache:
    """The one cached program snapshot."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def store(
        self,
        version: str,
        program: dict[str, Any],
        public_key: str,
        qr_token_ttl: timedelta,
        refreshed_at: datetime,
    ) -> None:
        """Replace the snapshot. Raises TypeError for floats in ``program``."""
        payload = canonical_json(
            {"program": program, "qr_token_ttl_seconds": int(qr_token_ttl.total_seconds())}
        )
        self._db.execute(
            "INSERT INTO program (id, version, payload, public_key, refreshed_at)"
            " VALUES (1, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET version = excluded.version,"
            " payload = excluded.payload, public_key = excluded.public_key,"
            " refreshed_at = excluded.refreshed_at",
            [version, payload, public_key, to_text(refreshed_at)],
        )

    def load(self) -> CachedProgram | None:
        """The snapshot, or None when none was ever stored."""
        row = self._db.execute(
            "SELECT version, payload, public_key, refreshed_at FROM program WHERE id = 1"
        ).fetchone()
        if row is None:
            return None
        payload = json.loads(row[1])
        return CachedProgram(
            version=row[0],
            program=payload["program"],
            public_key=row[2],
            qr_token_ttl=timedelta(seconds=payload["qr_token_ttl_seconds"]),
            refreshed_at=from_text(row[3]),
        )


class CatalogCache:
    """Products by barcode."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def upsert_many(self, items: Iterable[CatalogItem], refreshed_at: datetime) -> int:
        """Store products (inactive ones are removed) in one transaction; returns how many."""
        rows = list(items)
        stamp = to_text(refreshed_at)
        with write_transaction(self._db):
            self._db.conn.executemany(
                "DELETE FROM catalog WHERE barcode = ?",
                [(i.barcode,) for i in rows if not i.active],
            )
            self._db.conn.executemany(
                "INSERT INTO catalog (barcode, name, price, category, payload, refreshed_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(barcode) DO UPDATE SET"
                " name = excluded.name, price = excluded.price, category = excluded.category,"
                " payload = excluded.payload, refreshed_at = excluded.refreshed_at",
                [
                    (
                        i.barcode,
                        i.name,
                        str(i.price),
                        i.category,
                        canonical_json({"sku": i.sku}),
                        stamp,
                    )
                    for i in rows
                    if i.active
                ],
            )
        return len(rows)

    def by_barcode(self, barcode: str) -> CatalogItem | None:
        """The product with this barcode, or None."""
        row = self._db.execute(
            "SELECT barcode, name, price, category, payload FROM catalog WHERE barcode = ?",
            [barcode],
        ).fetchone()
        if row is None:
            return None
        return CatalogItem(
            barcode=row[0],
            sku=json.loads(row[4]).get("sku", ""),
            name=row[1],
            price=Decimal(row[2]),
            category=row[3] or "",
        )


class OffersCache:
    """Personal offers and coupons, replaced per member on every refresh."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def replace_for_member(
        self, member_id: str, offers: Iterable[CachedOffer], refreshed_at: datetime
    ) -> None:
        """Make ``offers`` the member's whole list."""
        stamp = to_text(refreshed_at)
        with write_transaction(self._db):
            self._db.execute("DELETE FROM offers WHERE member_id = ?", [member_id])
            for offer in offers:
                self._db.execute(
                    "INSERT OR REPLACE INTO offers (id, member_id, kind, valid_until, payload,"
                    " refreshed_at) VALUES (?, ?, ?, ?, ?, ?)",
                    [
                        offer.id,
                        member_id,
                        offer.kind,
                        None if offer.valid_until is None else to_text(offer.valid_until),
                        canonical_json(offer.details),
                        stamp,
                    ],
                )

    def for_member(self, member_id: str, now: datetime) -> list[CachedOffer]:
        """The member's offers still valid at ``now``, and store-wide ones."""
        rows = self._db.execute(
            "SELECT id, member_id, kind, valid_until, payload FROM offers"
            " WHERE (member_id = ? OR member_id IS NULL)"
            " AND (valid_until IS NULL OR valid_until >= ?) ORDER BY id",
            [member_id, to_text(now)],
        ).fetchall()
        return [
            CachedOffer(
                id=r[0],
                member_id=r[1],
                kind=r[2],
                valid_until=None if r[3] is None else from_text(r[3]),
                details=json.loads(r[4]),
            )
            for r in rows
        ]
