"""One-time SMS codes for registration, authorisation and spending, with lockout and send limits.

Codes are 6 digits, valid for :data:`CODE_TTL` seconds, stored only as a hash.

- Wrong codes count against the *phone*, whatever code they were typed for: the
  :data:`MAX_ATTEMPTS`-th wrong code within :data:`LOCK_SECONDS` locks the phone for
  :data:`LOCK_SECONDS` — no code of it is accepted and none is sent meanwhile, so asking for a
  fresh code neither resets the count nor lifts the lock.
- Sending is limited so nobody can be SMS-bombed through a till: one code per phone per
  :data:`RESEND_SECONDS`, :data:`PHONE_SENDS_PER_HOUR` per phone per hour, and
  :data:`TILL_SENDS_PER_MINUTE` per till per minute (a busy till registers a customer a minute
  or so; a stolen key is held to that).

Codes leave through an :class:`~processing.server.sms.SmsGateway` (:mod:`processing.server.sms`).

Raises :class:`~processing.server.problems.ApiError` with ``unknown_code``, ``code_expired``,
``code_locked``, ``code_invalid``, ``code_resend_too_soon``, ``code_phone_limit`` or
``code_till_limit``.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from processing.errors import ErrorCode
from processing.server.engine import Database
from processing.server.problems import ApiError
from processing.server.sms import SmsGateway

CODE_TTL = 300
MAX_ATTEMPTS = 5
LOCK_SECONDS = 900
RESEND_SECONDS = 60
PHONE_SENDS_PER_HOUR = 5
TILL_SENDS_PER_MINUTE = 10


@dataclass(frozen=True)
class CodeRecord:
    id: str
    phone: str
    purpose: str
    member_id: str | None
    points: int | None
    expires_at: int
    registration: dict[str, Any] | None


def _hash(code_id: str, code: str) -> str:
    return hashlib.sha256(f"{code_id}:{code}".encode()).hexdigest()


def _retry(seconds: int) -> dict[str, Any]:
    return {"retry_after_seconds": max(1, seconds)}


def _phone_locked_until(db: Database, phone: str, now: int) -> int | None:
    row = db.execute(
        "SELECT locked_until FROM code_locks WHERE phone = ? AND locked_until > ?", [phone, now]
    ).fetchone()
    return None if row is None else int(row[0])


def _may_send(db: Database, phone: str, till: int, now: int) -> None:
    """Refuse a send the limits do not allow (nothing is written by a refusal)."""
    locked = _phone_locked_until(db, phone, now)
    if locked is not None:
        raise ApiError(
            ErrorCode.CODE_LOCKED,
            "Too many wrong codes for this phone; try again later.",
            _retry(locked - now),
        )
    sent = [
        int(r[0])
        for r in db.execute(
            "SELECT at FROM code_sends WHERE phone = ? AND at > ? ORDER BY at DESC",
            [phone, now - 3600],
        ).fetchall()
    ]
    if sent and now - sent[0] < RESEND_SECONDS:
        raise ApiError(
            ErrorCode.CODE_RESEND_TOO_SOON,
            "A code was sent to this phone a moment ago; wait before asking for another.",
            _retry(sent[0] + RESEND_SECONDS - now),
        )
    if len(sent) >= PHONE_SENDS_PER_HOUR:
        raise ApiError(
            ErrorCode.CODE_PHONE_LIMIT,
            "This phone has had too many codes this hour; try again later.",
            _retry(sent[PHONE_SENDS_PER_HOUR - 1] + 3600 - now),
        )
    by_till = [
        int(r[0])
        for r in db.execute(
            "SELECT at FROM code_sends WHERE till = ? AND at > ? ORDER BY at DESC",
            [till, now - 60],
        ).fetchall()
    ]
    if len(by_till) >= TILL_SENDS_PER_MINUTE:
        raise ApiError(
            ErrorCode.CODE_TILL_LIMIT,
            "This till has sent too many codes this minute; try again shortly.",
            _retry(by_till[TILL_SENDS_PER_MINUTE - 1] + 60 - now),
        )
    # Rows older than the longest window are of no more use: keep the table small.
    db.execute("DELETE FROM code_sends WHERE phone = ? AND at <= ?", [phone, now - 3600])
    db.execute("DELETE FROM code_sends WHERE till = ? AND at <= ?", [till, now - 3600])
    db.execute("INSERT INTO code_sends (phone, till, at) VALUES (?, ?, ?)", [phone, till, now])


def issue_code(
    db: Database,
    gateway: SmsGateway,
    *,
    phone: str,
    purpose: str,
    now: int,
    till: int,
    member_id: str | None = None,
    points: int | None = None,
    registration: dict[str, Any] | None = None,
) -> CodeRecord:
    """Create a code and send it on behalf of the till with row id ``till``.

    Raises ApiError: code_locked (the phone is locked out), code_resend_too_soon,
    code_phone_limit, code_till_limit (the send limits; see the module docstring).
    """
    _may_send(db, phone, till, now)
    code = f"{secrets.randbelow(1_000_000):06d}"
    code_id = uuid.uuid4().hex
    db.execute(
        "INSERT INTO codes (id, phone, purpose, member_id, code_hash, points, expires_at,"
        " created_at, registration) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            code_id,
            phone,
            purpose,
            member_id,
            _hash(code_id, code),
            points,
            now + CODE_TTL,
            now,
            None if registration is None else json.dumps(registration),
        ],
    )
    gateway.send(db, phone, f"Your code: {code}", code, now)
    return CodeRecord(code_id, phone, purpose, member_id, points, now + CODE_TTL, registration)


def _wrong_code(db: Database, code_id: str, phone: str, now: int) -> ApiError:
    """Count a wrong code against its phone (whatever code it was) and the refusal to raise."""
    db.execute("UPDATE codes SET attempts = attempts + 1 WHERE id = ?", [code_id])
    db.execute("DELETE FROM code_failures WHERE phone = ? AND at <= ?", [phone, now - LOCK_SECONDS])
    db.execute("INSERT INTO code_failures (phone, at) VALUES (?, ?)", [phone, now])
    failures = int(
        db.execute("SELECT COUNT(*) FROM code_failures WHERE phone = ?", [phone]).fetchone()[0]
    )
    if failures >= MAX_ATTEMPTS:
        db.execute(
            "INSERT INTO code_locks (phone, locked_until) VALUES (?, ?) ON CONFLICT(phone)"
            " DO UPDATE SET locked_until = excluded.locked_until",
            [phone, now + LOCK_SECONDS],
        )
        # The lock is the consequence of these; after it the phone starts a fresh count.
        db.execute("DELETE FROM code_failures WHERE phone = ?", [phone])
        return ApiError(
            ErrorCode.CODE_LOCKED,
            "Too many wrong codes; the phone is locked for a while.",
            _retry(LOCK_SECONDS),
            keep_effects=True,
        )
    return ApiError(
        ErrorCode.CODE_INVALID,
        "The code is wrong.",
        {"attempts_left": MAX_ATTEMPTS - failures},
        keep_effects=True,
    )


def check_code(db: Database, code_id: str, code: str, purpose: str, now: int) -> CodeRecord:
    """Use a code: returns its record and marks it used.

    Raises ApiError: unknown_code (no such code or another purpose or already used),
    code_locked (its phone is locked out), code_expired, code_invalid (counts a wrong attempt
    against the phone; keep_effects).
    """
    row = db.execute(
        "SELECT id, phone, purpose, member_id, code_hash, points, expires_at, used_at,"
        " registration FROM codes WHERE id = ?",
        [code_id],
    ).fetchone()
    if row is None or row[2] != purpose or row[7] is not None:
        raise ApiError(ErrorCode.UNKNOWN_CODE, "This code was not sent or was already used.")
    phone = str(row[1])
    locked = _phone_locked_until(db, phone, now)
    if locked is not None:
        raise ApiError(
            ErrorCode.CODE_LOCKED,
            "Too many wrong codes; ask for a new code later.",
            _retry(locked - now),
        )
    if int(row[6]) <= now:
        raise ApiError(ErrorCode.CODE_EXPIRED, "The code has expired; send a new one.")
    if not secrets.compare_digest(str(row[4]), _hash(code_id, code)):
        raise _wrong_code(db, code_id, phone, now)
    db.execute("UPDATE codes SET used_at = ? WHERE id = ?", [now, code_id])
    return CodeRecord(
        str(row[0]),
        phone,
        str(row[2]),
        None if row[3] is None else str(row[3]),
        None if row[5] is None else int(row[5]),
        int(row[6]),
        None if row[8] is None else json.loads(row[8]),
    )


def latest_codes(db: Database, limit: int = 20) -> list[dict[str, Any]]:
    """The newest development SMS messages (for ``till processing codes``)."""
    rows = db.execute(
        "SELECT phone, code, text, created_at FROM sms_outbox ORDER BY id DESC LIMIT ?", [limit]
    ).fetchall()
    return [{"phone": r[0], "code": r[1], "text": r[2], "created_at": r[3]} for r in rows]
