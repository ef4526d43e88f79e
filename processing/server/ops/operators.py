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
from dataclasses import dataclass

from processing.server.engine import Database
from processing.server.keycache import CachedKeys, hash_key
from processing.server.storage import next_seq

KEY_PREFIX = "tillop_"
KEYS_COUNTER = "operator_keys"


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


class OperatorKeys(CachedKeys[OperatorIdentity]):
    """Resolves bearer keys to operators, caching answers for a few seconds (a revocation is
    seen at once: the counter is read on every call, as :class:`auth.KeyChecker` does)."""

    def __init__(self) -> None:
        super().__init__(KEY_PREFIX, KEYS_COUNTER, _operator, most=1000)


def _operator(db: Database, digest: str) -> OperatorIdentity | None:
    row = db.execute(
        "SELECT id, name FROM operators WHERE key_hash = ? AND revoked_at IS NULL", [digest]
    ).fetchone()
    return None if row is None else OperatorIdentity(int(row[0]), str(row[1]))
