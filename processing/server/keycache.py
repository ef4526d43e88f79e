"""Bearer keys resolved through a few seconds' cache that a revocation empties at once.

Till keys (:mod:`processing.server.auth`) and operator keys (:mod:`processing.server.ops.
operators`) are both ``prefix`` + random bytes stored only as a SHA-256 hash, and both are
looked up on every request they authorise. :class:`CachedKeys` is that lookup once: it refuses
a key without its prefix before hashing, caches each answer (an identity or None) for
:data:`CACHE_SECONDS`, and reads a revocation counter (``counters.<name>``, raised with
:func:`storage.next_seq` in the revoking transaction) on every call, so a cache filled under
another value of it is dropped before it answers: a revoked key is refused by every server
process on the database at once.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

from processing.server.engine import Database

T = TypeVar("T")

CACHE_SECONDS = 5.0
"""How long an answer is kept (a changed timezone or name is seen within this)."""

_LONGEST_KEY = 128


def hash_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode("utf-8", "surrogatepass")).hexdigest()


class CachedKeys(Generic[T]):
    """Resolves keys starting with ``prefix`` through ``lookup(db, sha256_hex)`` (the identity
    of an unrevoked key, else None), caching answers; ``counter`` names the revocation counter,
    ``most`` how many keys are kept before the cache starts again."""

    def __init__(
        self, prefix: str, counter: str, lookup: Callable[[Database, str], T | None], *, most: int
    ) -> None:
        self._prefix = prefix
        self._lookup = lookup
        self._most = most
        self._counter_sql = f"SELECT value FROM counters WHERE name = '{counter}'"
        self._cache: dict[str, tuple[float, T | None]] = {}
        self._epoch = 0
        self._lock = threading.Lock()

    def identify(self, db: Database, api_key: str) -> T | None:
        """Who owns ``api_key``, or None for another kind of key, an unknown or a revoked one."""
        if not api_key.startswith(self._prefix) or len(api_key) > _LONGEST_KEY:
            return None
        digest = hash_key(api_key)
        now = time.monotonic()
        # One indexed read per request: a revocation anywhere empties this cache at once.
        row = db.execute(self._counter_sql).fetchone()
        epoch = 0 if row is None else int(row[0])
        with self._lock:
            if epoch != self._epoch:
                self._cache.clear()
                self._epoch = epoch
            cached = self._cache.get(digest)
        if cached is not None and now - cached[0] < CACHE_SECONDS:
            return cached[1]
        identity = self._lookup(db, digest)
        with self._lock:
            if len(self._cache) > self._most:
                self._cache.clear()
            self._cache[digest] = (now, identity)
        return identity
