"""Operator keys: the operator API's own kind of key, never a till's.

An operator key is ``tillop_`` + 32 random URL-safe bytes, stored only as its SHA-256 hash
(like a till key, :mod:`processing.server.auth`), made by ``till processing operators add
NAME`` and shown once. A till key is refused on the operator API and an operator key on the
till's routes: the two prefixes never match the other checker, and the tables are apart.

Revoking an operator key bumps the ``operator_keys`` counter, which every server process reads
before answering from its key cache, so a revoked key is refused at once everywhere.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass

from processing.server.auth import hash_key
from processing.server.engine import Database
from processing.server.storage import next_seq

KEY_PREFIX = "tillop_"
KEYS_COUNTER = "operator_keys"
_CACHE_SECONDS = 5.0
_EPOCH = f"SELECT value FROM counters WHERE name = '{KEYS_COUNTER}'"


class OperatorError(Exception):
    """A bad name, or no such operator; one sentence."""


@dataclass(frozen=True)
class OperatorIdentity:
    """Who calls the operator API: the name kept with every change they make."""

    pk: int
    name: str


@dataclass(frozen=True)
class OperatorRow:
    name: str
    created_at: int
    revoked_at: int | None


def _name(name: str) -> str:
    text = name.strip()
    if not text or len(text) > 64 or not text.isprintable():
        raise OperatorError("An operator's name is 1 to 64 printable characters.")
    return text


def add(db: Database, name: str, now: int) -> str:
    """A new key for operator ``name`` (their earlier keys revoked); the key, shown once."""
    who = _name(name)
    revoke(db, who, now, missing_ok=True)
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    db.execute(
        "INSERT INTO operators (name, key_hash, created_at) VALUES (?, ?, ?)",
        [who, hash_key(key), now],
    )
    return key


def revoke(db: Database, name: str, now: int, *, missing_ok: bool = False) -> int:
    """Revoke every key of operator ``name``; OperatorError when there is none to revoke."""
    count = db.execute(
        "UPDATE operators SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL",
        [now, _name(name)],
    ).rowcount
    if count:
        next_seq(db, KEYS_COUNTER)
    elif not missing_ok:
        raise OperatorError(f"Operator {name.strip()} has no key to revoke.")
    return int(count)


def listed(db: Database) -> list[OperatorRow]:
    """Each operator's newest key, by name."""
    rows = db.execute(
        """SELECT name, created_at, revoked_at FROM operators o
        WHERE id = (SELECT MAX(id) FROM operators p WHERE p.name = o.name) ORDER BY name"""
    ).fetchall()
    return [OperatorRow(str(r[0]), int(r[1]), r[2]) for r in rows]


class OperatorKeys:
    """Resolves bearer keys to operators, caching answers for a few seconds (a revocation is
    seen at once: the counter is read on every call, as :class:`auth.KeyChecker` does)."""

    def __init__(self) -> None:
        self._cache: dict[str, tuple[float, OperatorIdentity | None]] = {}
        self._epoch = 0
        self._lock = threading.Lock()

    def identify(self, db: Database, api_key: str) -> OperatorIdentity | None:
        """The operator owning ``api_key``, or None for a till's, unknown or revoked key."""
        if not api_key.startswith(KEY_PREFIX) or len(api_key) > 128:
            return None
        digest = hash_key(api_key)
        now = time.monotonic()
        row = db.execute(_EPOCH).fetchone()
        epoch = 0 if row is None else int(row[0])
        with self._lock:
            if epoch != self._epoch:
                self._cache.clear()
                self._epoch = epoch
            cached = self._cache.get(digest)
        if cached is not None and now - cached[0] < _CACHE_SECONDS:
            return cached[1]
        row = db.execute(
            "SELECT id, name FROM operators WHERE key_hash = ? AND revoked_at IS NULL", [digest]
        ).fetchone()
        identity = None if row is None else OperatorIdentity(int(row[0]), str(row[1]))
        with self._lock:
            if len(self._cache) > 1000:
                self._cache.clear()
            self._cache[digest] = (now, identity)
        return identity
