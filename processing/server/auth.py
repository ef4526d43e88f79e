"""Per-till API keys: generated once, shown once, stored only as a SHA-256 hash.

A key is 32 random bytes (``till_`` + URL-safe base64), so a plain SHA-256 of it cannot be
brute-forced and needs no salt; the hash is looked up directly. Adding a till again revokes its
earlier keys.

The query that authenticates a till also reads its store's timezone (:mod:`zones`), so every
request knows the calendar its rules follow at no extra query; a changed timezone, like a
revoked key, is seen within the key cache's few seconds.

A revoked key is refused at once, by every server process on the database: every revocation
bumps the ``till_keys`` counter (:func:`keys_changed`), and a process whose cache was filled
under another value of it drops the cache before it answers from it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, tzinfo

from processing.server import zones
from processing.server.engine import Database
from processing.server.keycache import CACHE_SECONDS, CachedKeys, hash_key
from processing.server.storage import next_seq

KEY_PREFIX = "till_"
_CACHE_SECONDS = CACHE_SECONDS  # how long a changed timezone may take to be seen (tests wait)


@dataclass(frozen=True)
class TillIdentity:
    """Who is calling: the till's row id (scopes idempotency keys), store and till names, and
    the store's timezone (the calendar of its promotions, birthdays and message dates)."""

    pk: int
    store_id: str
    till_id: str
    zone: tzinfo = UTC


def add_till(
    db: Database, store_id: str, till_id: str, now: int, timezone: str | None = None
) -> str:
    """Register a till (revoking its earlier keys) and return its new API key (shown once);
    ``timezone`` (IANA) sets or changes its store's. Raises zones.UnknownTimezone (nothing
    written) for an unknown timezone."""
    if timezone is not None:
        zones.set_store_timezone(db, store_id, timezone)
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    revoked = db.execute(
        "UPDATE tills SET revoked_at = ? WHERE store_id = ? AND till_id = ? AND revoked_at IS NULL",
        [now, store_id, till_id],
    ).rowcount
    if revoked:
        keys_changed(db)
    db.execute(
        "INSERT INTO tills (store_id, till_id, key_hash, created_at) VALUES (?, ?, ?, ?)",
        [store_id, till_id, hash_key(key), now],
    )
    return key


KEYS_COUNTER = "till_keys"
"""The counter every revocation raises (read by every process's key cache)."""


def keys_changed(db: Database) -> None:
    """Tell every server process's key cache that keys were revoked (call in the revoking
    write transaction)."""
    next_seq(db, KEYS_COUNTER)


class KeyChecker(CachedKeys[TillIdentity]):
    """Resolves bearer keys to tills, caching answers for a few seconds (a revocation is seen
    at once: :func:`keys_changed`).

    ``default_zone``: the timezone of a till whose store has none."""

    def __init__(self, default_zone: tzinfo = UTC) -> None:
        super().__init__(KEY_PREFIX, KEYS_COUNTER, self._till, most=10_000)
        self.default_zone = default_zone

    def _till(self, db: Database, digest: str) -> TillIdentity | None:
        row = db.execute(
            "SELECT t.id, t.store_id, t.till_id, s.timezone FROM tills t"
            " LEFT JOIN stores s ON s.store_id = t.store_id"
            " WHERE t.key_hash = ? AND t.revoked_at IS NULL",
            [digest],
        ).fetchone()
        if row is None:
            return None
        return TillIdentity(
            int(row[0]), str(row[1]), str(row[2]), zones.stored(row[3], self.default_zone)
        )
