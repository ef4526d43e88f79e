"""Stores and tills for the operator: list them, revoke a till's key, give it a new one.

Revocations bump the key counter (:func:`processing.server.auth.keys_changed`), so every
server process refuses the revoked key from its next request. Each action is written to
``operator_log`` with the operator's name and reason.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from processing.server import auth
from processing.server.engine import Database


class TillError(Exception):
    """No such till, or nothing to revoke; one sentence."""


@dataclass(frozen=True)
class StoreRow:
    store_id: str
    timezone: str | None
    active_tills: int
    revoked_keys: int
    last_check_at: int | None


@dataclass(frozen=True)
class TillRow:
    store_id: str
    till_id: str
    active: bool
    created_at: int
    revoked_at: int | None
    last_check_at: int | None


def stores(db: Database) -> list[StoreRow]:
    """Every store known by a till or a timezone, by name."""
    rows = db.execute(
        """WITH names AS (SELECT store_id FROM tills UNION SELECT store_id FROM stores)
        SELECT n.store_id, s.timezone,
          (SELECT COUNT(DISTINCT till_id) FROM tills t
             WHERE t.store_id = n.store_id AND t.revoked_at IS NULL),
          (SELECT COUNT(*) FROM tills t WHERE t.store_id = n.store_id
             AND t.revoked_at IS NOT NULL),
          (SELECT MAX(created_at) FROM checks c WHERE c.store_id = n.store_id)
        FROM names n LEFT JOIN stores s ON s.store_id = n.store_id ORDER BY n.store_id"""
    ).fetchall()
    return [StoreRow(str(r[0]), r[1], int(r[2]), int(r[3]), r[4]) for r in rows]


def tills(db: Database, store_id: str | None = None) -> list[TillRow]:
    """Every till (its newest key), by store and till name."""
    rows = db.execute(
        """SELECT t.store_id, t.till_id, t.revoked_at IS NULL, t.created_at, t.revoked_at,
          (SELECT MAX(created_at) FROM checks c
             WHERE c.store_id = t.store_id AND c.till_id = t.till_id)
        FROM tills t
        WHERE t.id = (SELECT MAX(id) FROM tills u
                      WHERE u.store_id = t.store_id AND u.till_id = t.till_id)
          AND (CAST(?1 AS TEXT) IS NULL OR t.store_id = ?1)
        ORDER BY t.store_id, t.till_id""",
        [store_id],
    ).fetchall()
    return [TillRow(str(r[0]), str(r[1]), bool(r[2]), int(r[3]), r[4], r[5]) for r in rows]


def _log(
    db: Database, now: int, operator: str, action: str, store_id: str, till_id: str, reason: str
) -> None:
    db.execute(
        "INSERT INTO operator_log (at, operator, action, subject, reason, details)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [
            now,
            operator,
            action,
            f"{store_id}/{till_id}",
            reason,
            json.dumps({"store": store_id, "till": till_id}),
        ],
    )


def _exists(db: Database, store_id: str, till_id: str) -> bool:
    row = db.execute(
        "SELECT 1 FROM tills WHERE store_id = ? AND till_id = ? LIMIT 1", [store_id, till_id]
    ).fetchone()
    return row is not None


def revoke(db: Database, store_id: str, till_id: str, now: int, operator: str, reason: str) -> int:
    """Revoke the till's key; refused (TillError) for an unknown till or one without a key."""
    if not _exists(db, store_id, till_id):
        raise TillError(f"There is no till {till_id} in store {store_id}.")
    count = db.execute(
        "UPDATE tills SET revoked_at = ? WHERE store_id = ? AND till_id = ? AND revoked_at IS NULL",
        [now, store_id, till_id],
    ).rowcount
    if not count:
        raise TillError(f"Till {till_id} of store {store_id} has no key to revoke.")
    auth.keys_changed(db)
    _log(db, now, operator, "till_revoke", store_id, till_id, reason)
    return int(count)


def rotate_key(
    db: Database, store_id: str, till_id: str, now: int, operator: str, reason: str
) -> str:
    """A new key for a known till (its earlier keys revoked); the key, shown once."""
    if not _exists(db, store_id, till_id):
        raise TillError(
            f"There is no till {till_id} in store {store_id}; register it with add-till."
        )
    key = auth.add_till(db, store_id, till_id, now)
    auth.keys_changed(db)
    _log(db, now, operator, "till_rotate_key", store_id, till_id, reason)
    return key
