"""The durable outbox: every record the till commits, in order, until the server acknowledges it.

A record is written (WAL, synchronous=FULL) with its client UUID — also the Idempotency-Key —
before any network attempt. Delivery states: ``pending`` → ``sending`` → ``acknowledged``, or
``dead`` with the server's reason. ``sending`` left behind by a crash is simply sent again:
the server deduplicates by key and answers the same result.

Each record carries ``hash = sha256(prev_hash, content)``, chaining every record to the one
before; :func:`verify_chain` finds a missing or edited record.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlite_utils import Database

from offline_cache.clock import Clock, from_text, to_text, utc_now
from offline_cache.errors import ChainBroken, DuplicateRecord, NotFound
from offline_cache.txn import canonical_json, write_transaction

KIND_OFFLINE_CHECK = "offline_check"
"""A check decided offline; replayed with ``replay_batch``. Payload: ``wire.OfflineCheck``."""
KIND_HOLD_CONFIRM = "hold_confirm"
"""Confirmation of an online hold. Payload: ``{"check_id", "hold_id", ...}``."""
KIND_HOLD_CANCEL = "hold_cancel"
"""Cancellation of an online hold (void, timeout, crash). Payload: ``{"check_id", "hold_id"}``."""
KIND_RETURN = "return"
"""A return against an earlier check. Payload: ``wire.ReturnRequest``."""
KIND_REGISTRATION = "registration"
"""A member registered at the till while offline. Payload: ``wire.RegisterRequest``."""
KIND_CLAIM = "claim"
"""A check made without a customer, registered under its claim code. Payload:
``wire.ClaimRequest``; the record id is the check id (and the Idempotency-Key)."""

REGISTRATION_PROGRESS = "registration:"
"""``sync_state`` key prefix (+ record id) of an offline registration's code progress."""

KINDS = (
    KIND_OFFLINE_CHECK,
    KIND_HOLD_CONFIRM,
    KIND_HOLD_CANCEL,
    KIND_RETURN,
    KIND_REGISTRATION,
    KIND_CLAIM,
)
GENESIS = "0" * 64
UNSENT = ("pending", "sending")


@dataclass(frozen=True)
class OutboxRecord:
    """One outbox row. ``spend``/``earn`` are the points decided by the till (offline)."""

    seq: int
    id: str
    kind: str
    member_id: str | None
    payload: dict[str, Any]
    created_at: datetime
    offline: bool
    spend: Decimal
    earn: Decimal
    state: str
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    dead_reason: str | None
    response: dict[str, Any] | None
    prev_hash: str
    hash: str


def to_cents(points: Decimal) -> int:
    """``points`` as integer hundredths. Raises ValueError for a finer fraction."""
    cents = points * 100
    if cents != cents.to_integral_value():
        raise ValueError(f"{points} has more than two decimal places")
    return int(cents)


def from_cents(cents: int) -> Decimal:
    """Integer hundredths back to points with two places."""
    return (Decimal(cents) / 100).quantize(Decimal("0.01"))


def _content_hash(prev_hash: str, content: list[Any]) -> str:
    text = prev_hash + "\n" + json.dumps(content, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _content(row: dict[str, Any]) -> list[Any]:
    return [
        row["seq"],
        row["id"],
        row["kind"],
        row["member_id"],
        row["payload"],
        row["created_at"],
        row["offline"],
        row["spend_cents"],
        row["earn_cents"],
    ]


class Outbox:
    """The ``outbox`` table on one connection; methods commit unless a transaction is open."""

    def __init__(self, db: Database, clock: Clock = utc_now) -> None:
        self._db = db
        self._clock = clock

    def append(
        self,
        record_id: str,
        kind: str,
        payload: dict[str, Any],
        *,
        member_id: str | None = None,
        offline: bool = False,
        spend: Decimal = Decimal(0),
        earn: Decimal = Decimal(0),
    ) -> OutboxRecord:
        """Write one record durably, chained to the last one, and return it.

        Appending the same ``record_id`` with the same content again returns the stored record
        (a retried commit); with other content raises ``DuplicateRecord``. Raises ValueError for
        an unknown kind and TypeError for floats in ``payload``.
        """
        if kind not in KINDS:
            raise ValueError(f"unknown outbox kind {kind!r}")
        text = canonical_json(payload)
        with write_transaction(self._db):
            existing = self._row("id = ?", [record_id])
            if existing is not None:
                same = (existing["kind"], existing["payload"], existing["member_id"]) == (
                    kind,
                    text,
                    member_id,
                )
                if not same:
                    raise DuplicateRecord(record_id)
                return _record(existing)
            head = self._db.execute("SELECT hash FROM outbox ORDER BY seq DESC LIMIT 1").fetchone()
            prev_hash = head[0] if head else self._anchor()
            seq_row = self._db.execute(
                "SELECT seq FROM sqlite_sequence WHERE name = 'outbox'"
            ).fetchone()
            row: dict[str, Any] = {
                "seq": (seq_row[0] if seq_row else 0) + 1,
                "id": record_id,
                "kind": kind,
                "member_id": member_id,
                "payload": text,
                "created_at": to_text(self._clock()),
                "offline": int(offline),
                "spend_cents": to_cents(spend),
                "earn_cents": to_cents(earn),
                "prev_hash": prev_hash,
            }
            row["hash"] = _content_hash(prev_hash, _content(row))
            columns = ", ".join(row)
            marks = ", ".join("?" for _ in row)
            self._db.execute(f"INSERT INTO outbox ({columns}) VALUES ({marks})", list(row.values()))
            stored = self._row("id = ?", [record_id])
        assert stored is not None
        return _record(stored)

    def get(self, record_id: str) -> OutboxRecord:
        """The record with this client UUID. Raises ``NotFound``."""
        row = self._row("id = ?", [record_id])
        if row is None:
            raise NotFound("outbox record", record_id)
        return _record(row)

    def is_unsent(self, record_id: str) -> bool:
        """True while the record is queued (pending or being sent); False once acknowledged,
        dead, or when there is no such record."""
        row = self._row("id = ? AND state IN ('pending', 'sending')", [record_id])
        return row is not None

    def next_batch(self, limit: int) -> list[OutboxRecord]:
        """The oldest ``limit`` unsent records (pending, or sending when a drain died), in order."""
        rows = self._db.query(
            "SELECT * FROM outbox WHERE state IN ('pending', 'sending') ORDER BY seq LIMIT ?",
            [limit],
        )
        return [_record(row) for row in rows]

    def mark_sending(self, record_ids: Sequence[str]) -> None:
        """Record that these are about to go on the wire (attempts + 1)."""
        self._set_many(
            record_ids, "state = 'sending', attempts = attempts + 1", [], "state != 'dead'"
        )

    def mark_acknowledged(self, record_id: str, response: dict[str, Any]) -> None:
        """Record the server's answer; the record is done."""
        self._set_many(
            [record_id],
            "state = 'acknowledged', response = ?, acknowledged_at = ?, last_error = NULL",
            [canonical_json(response), to_text(self._clock())],
        )

    def mark_dead(
        self, record_id: str, reason: str, response: dict[str, Any] | None = None
    ) -> None:
        """The server refused the record for good; keep it with the reason for the admin."""
        self._set_many(
            [record_id],
            "state = 'dead', dead_reason = ?, response = ?",
            [reason, None if response is None else canonical_json(response)],
        )

    def mark_retry(self, record_ids: Sequence[str], error: str, next_attempt_at: datetime) -> None:
        """Back to pending after a transient failure; not before ``next_attempt_at``."""
        self._set_many(
            record_ids,
            "state = 'pending', last_error = ?, next_attempt_at = ?",
            [error, to_text(next_attempt_at)],
            "state = 'sending'",
        )

    def requeue_dead(self, record_id: str) -> None:
        """Give a dead record another chance (admin action after fixing the cause)."""
        self._set_many([record_id], "state = 'pending', dead_reason = NULL", [], "state = 'dead'")

    def unsent_count(self) -> int:
        """Records not yet acknowledged nor dead."""
        return self._count("state IN ('pending', 'sending')")

    def dead(self) -> list[OutboxRecord]:
        """Dead records, oldest first."""
        return [
            _record(r)
            for r in self._db.query("SELECT * FROM outbox WHERE state = 'dead' ORDER BY seq")
        ]

    def oldest_unsent_at(self) -> datetime | None:
        """When the oldest unsent record was committed (till clock), or None."""
        row = self._db.execute(
            "SELECT created_at FROM outbox WHERE state IN ('pending', 'sending')"
            " ORDER BY seq LIMIT 1"
        ).fetchone()
        return None if row is None else from_text(row[0])

    def prune_acknowledged(self, keep_last: int = 10_000) -> int:
        """Delete the oldest acknowledged prefix beyond ``keep_last`` rows; returns how many.

        Only a prefix of acknowledged records is removed, and the last removed hash becomes the
        chain's anchor, so :func:`verify_chain` still verifies what remains. The prefix also
        stops before the first delivered registration whose SMS code is not confirmed yet
        (``offline_cache.registrations``): its record is all the till knows of it.
        """
        with write_transaction(self._db):
            first_unacked = self._db.execute(
                "SELECT min(seq) FROM outbox WHERE state != 'acknowledged'"
            ).fetchone()[0]
            first_pending_registration = self._db.execute(
                "SELECT min(o.seq) FROM outbox o"
                " LEFT JOIN sync_state s ON s.key = ? || o.id"
                " WHERE o.state = 'acknowledged' AND o.kind = ?"
                " AND NOT coalesce(json_extract(s.value, '$.confirmed'), 0)"
                " AND coalesce(json_extract(s.value, '$.code_id'),"
                " json_extract(o.response, '$.code_id')) IS NOT NULL",
                [REGISTRATION_PROGRESS, KIND_REGISTRATION],
            ).fetchone()[0]
            last = self._db.execute("SELECT max(seq) FROM outbox").fetchone()[0] or 0
            limit = last - keep_last
            for first_kept in (first_unacked, first_pending_registration):
                if first_kept is not None:
                    limit = min(limit, first_kept - 1)
            row = self._db.execute(
                "SELECT seq, hash FROM outbox WHERE seq <= ? ORDER BY seq DESC LIMIT 1", [limit]
            ).fetchone()
            if row is None:
                return 0
            cursor = self._db.execute("DELETE FROM outbox WHERE seq <= ?", [row[0]])
            self._db.execute(
                "INSERT INTO sync_state (key, value, updated_at) VALUES ('chain_anchor', ?, ?)"
                " ON CONFLICT(key) DO UPDATE SET value = excluded.value,"
                " updated_at = excluded.updated_at",
                [canonical_json({"seq": row[0], "hash": row[1]}), to_text(self._clock())],
            )
            return cursor.rowcount

    def _anchor(self) -> str:
        return _anchor(self._db)[1]

    def _row(self, where: str, params: list[Any]) -> dict[str, Any] | None:
        rows = list(self._db.query(f"SELECT * FROM outbox WHERE {where}", params))
        return rows[0] if rows else None

    def _count(self, where: str) -> int:
        return int(self._db.execute(f"SELECT count(*) FROM outbox WHERE {where}").fetchone()[0])

    def _set_many(
        self, record_ids: Sequence[str], assignments: str, params: list[Any], guard: str = "1"
    ) -> None:
        with write_transaction(self._db):
            for record_id in record_ids:
                self._db.execute(
                    f"UPDATE outbox SET {assignments} WHERE id = ? AND {guard}",
                    [*params, record_id],
                )


def _anchor(db: Database) -> tuple[int, str]:
    row = db.execute("SELECT value FROM sync_state WHERE key = 'chain_anchor'").fetchone()
    if row is None:
        return 0, GENESIS
    value = json.loads(row[0])
    return int(value["seq"]), str(value["hash"])


def verify_chain(db: Database) -> int:
    """Check every outbox record's hash and link; return how many records were verified.

    Raises ``ChainBroken`` naming the first record that is missing or was edited.
    """
    expected_seq, expected_prev = _anchor(db)
    count = 0
    for row in db.query("SELECT * FROM outbox ORDER BY seq"):
        expected_seq += 1
        if row["seq"] != expected_seq:
            raise ChainBroken(expected_seq, "record missing")
        if row["prev_hash"] != expected_prev:
            raise ChainBroken(row["seq"], "link to the previous record does not match")
        if _content_hash(row["prev_hash"], _content(row)) != row["hash"]:
            raise ChainBroken(row["seq"], "content was changed after it was written")
        expected_prev = row["hash"]
        count += 1
    seq_row = db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'").fetchone()
    if seq_row is not None and seq_row[0] != expected_seq:
        raise ChainBroken(expected_seq + 1, "newest records missing")
    return count


def _record(row: dict[str, Any]) -> OutboxRecord:
    return OutboxRecord(
        seq=row["seq"],
        id=row["id"],
        kind=row["kind"],
        member_id=row["member_id"],
        payload=json.loads(row["payload"]),
        created_at=from_text(row["created_at"]),
        offline=bool(row["offline"]),
        spend=from_cents(row["spend_cents"]),
        earn=from_cents(row["earn_cents"]),
        state=row["state"],
        attempts=row["attempts"],
        next_attempt_at=None
        if row["next_attempt_at"] is None
        else from_text(row["next_attempt_at"]),
        last_error=row["last_error"],
        dead_reason=row["dead_reason"],
        response=None if row["response"] is None else json.loads(row["response"]),
        prev_hash=row["prev_hash"],
        hash=row["hash"],
    )
