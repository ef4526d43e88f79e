"""Idempotency records: the first answer to a (till, key) is kept and returned for every replay.

The record is written in the same transaction as the effects it answers for, so a crash
leaves either both or neither. The same key with another route or body is a conflict (409),
except after a refusal of a route that allows a corrected retry (a hold): see :func:`lookup`.

Records are kept for :data:`RETENTION_SECONDS` (30 days, far beyond any till's offline
window: a till retries its outbox within hours of coming back online). Older ones are pruned by
the writes themselves, :data:`PRUNE_PER_WRITE` per stored answer, so the table stays bounded
without a job and no write pays for a large backlog at once. On SQLite each write prunes inside
its own transaction. On PostgreSQL the prune runs right after a write commits, outside its
serialisable transaction (see :func:`store`), and at most once a second per server process,
for all the answers that process stored since (up to :data:`PRUNE_MOST`): one statement a
second instead of one more round trip a write. A key replayed after that
is a new request, which the domain's own records still refuse or answer (a check, return or
claim id applied once stays applied once).

Claims (PostgreSQL): several server nodes may get one key at the same moment (a till's retry
sent through the load balancer to another node while the first is still working). There
:func:`lookup` first *claims* the key: an ``INSERT … ON CONFLICT DO NOTHING`` of a pending row
(:data:`PENDING`), the first statement of the write transaction. The unique key makes every
other transaction inserting it wait until this one ends, so of two nodes only one runs the
handler; the other, once the first has committed, reads its stored answer (under SERIALIZABLE
after one retry: the row was not in its snapshot). The pending row is never committed as such:
:func:`store` fills in the answer, or :func:`release` removes it, in the same transaction; a
node that dies mid-handler takes its claim with it (the transaction is rolled back). SQLite
needs no claim: its write lock lets one writer at a time read and write the table.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from processing.errors import ErrorCode
from processing.server.engine import Database, after_commit
from processing.server.problems import ApiError

PENDING = 0
"""The status of a claimed key whose answer is not known yet (never an HTTP status)."""

RETENTION_SECONDS = 30 * 86400
"""How long an answer is kept for replays of its key."""
PRUNE_PER_WRITE = 2
"""Expired answers deleted with each answer stored (more than one: a backlog shrinks)."""
PRUNE_MOST = 2000
"""Most expired answers one prune deletes (PostgreSQL's once-a-second prune: beyond 1 000
answers stored a second by one process, a backlog waits for a quieter second)."""


@dataclass(frozen=True)
class StoredAnswer:
    status: int
    body: str


def body_hash(route: str, body: bytes) -> str:
    return hashlib.sha256(route.encode() + b"\0" + body).hexdigest()


def claims_keys(db: Database) -> bool:
    """Whether keys are claimed before the handler runs (PostgreSQL: several writers at once);
    SQLite's write lock already lets one writer at a time look a key up and store it."""
    return bool(getattr(db, "CLAIMS_KEYS", False))


def _claim(db: Database, till: int, key: str, route: str, digest: str) -> bool:
    """Insert the key's pending row; False when the key has a row already (it is then read).
    Waits while another transaction holds an uncommitted claim of the key."""
    row = db.execute(
        "INSERT INTO idempotency (till, key, route, body_hash, status, answer, created_at) "
        "VALUES (?, ?, ?, ?, ?, '', 0) ON CONFLICT (till, key) DO NOTHING RETURNING 1",
        [till, key, route, digest, PENDING],
    ).fetchone()
    return row is not None


def lookup(
    db: Database,
    till: int,
    key: str,
    route: str,
    digest: str,
    *,
    refusal_is_final: bool = True,
) -> StoredAnswer | None:
    """The stored answer for this key, None if new. Raises ApiError(idempotency_conflict).

    ``refusal_is_final`` False: a refusal stored for this key on this route answers the same
    body again, but another body (the corrected request) forgets it and is handled afresh —
    for requests whose refusal leaves nothing to protect (a hold refused as stale or for a
    wrong code reserved nothing).

    Where keys are claimed (:func:`claims_keys`), a new key is claimed here: the caller must
    then :func:`store` its answer or :func:`release` it in the same transaction."""
    claims = claims_keys(db)
    if claims and _claim(db, till, key, route, digest):
        return None
    row = db.execute(
        "SELECT route, body_hash, status, answer FROM idempotency WHERE till = ? AND key = ?",
        [till, key],
    ).fetchone()
    if row is None:
        return None
    if not refusal_is_final and row[0] == route and row[1] != digest and int(row[2]) != 200:
        db.execute("DELETE FROM idempotency WHERE till = ? AND key = ?", [till, key])
        if claims:
            _claim(db, till, key, route, digest)  # the row was deleted by this transaction
        return None
    if row[0] != route or row[1] != digest:
        raise ApiError(
            ErrorCode.IDEMPOTENCY_CONFLICT,
            "This Idempotency-Key was already used for a different request.",
            {"route": str(row[0])},
        )
    return StoredAnswer(int(row[2]), str(row[3]))


def store(
    db: Database, till: int, key: str, route: str, digest: str, answer: StoredAnswer, now: int
) -> None:
    """Keep ``answer`` for the key (its claimed row, where keys are claimed)."""
    if claims_keys(db):
        db.execute(
            "UPDATE idempotency SET route = ?, body_hash = ?, status = ?, answer = ?,"
            " created_at = ? WHERE till = ? AND key = ?",
            [route, digest, answer.status, answer.body, now, till, key],
        )
    else:
        db.execute(
            "INSERT INTO idempotency (till, key, route, body_hash, status, answer, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [till, key, route, digest, answer.status, answer.body, now],
        )
    if claims_keys(db):
        # PostgreSQL: not inside the serialisable transaction. The prune's index scan takes a
        # predicate lock on the index page every write's key row goes to, so every write would
        # conflict with every other and be run again (under load, past its retries: a 500).
        # On its own after the COMMIT it takes no such lock, and a failure costs nothing.
        after_commit(lambda: _prune_owed(db, now))
    else:
        _prune(db, now, PRUNE_PER_WRITE)


def _prune_owed(db: Database, now: int) -> None:
    """PostgreSQL: prune for every answer this process stored since its last prune, at the
    first write of each second (each prune is a round trip of its own)."""
    owed = getattr(db, "owed", None)  # PostgreSQL's PgDatabase.owed
    stored = 1 if owed is None else int(owed("prune", now))
    if stored:
        _prune(db, now, min(stored * PRUNE_PER_WRITE, PRUNE_MOST))


def _prune(db: Database, now: int, most: int) -> None:
    db.execute(
        "DELETE FROM idempotency WHERE (till, key) IN (SELECT till, key FROM idempotency"
        " WHERE created_at < ? AND status != ? ORDER BY created_at LIMIT ?)",
        [now - RETENTION_SECONDS, PENDING, most],
    )


def release(db: Database, till: int, key: str) -> None:
    """Give up the key's claim without an answer (the request is to be judged afresh when it
    comes again): nothing is kept for the key. Nothing to do where keys are not claimed."""
    if claims_keys(db):
        db.execute(
            "DELETE FROM idempotency WHERE till = ? AND key = ? AND status = ?",
            [till, key, PENDING],
        )
