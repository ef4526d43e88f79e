"""One-time SMS codes for registration, authorisation and spending, with lockout.

Codes are 6 digits, valid for :data:`CODE_TTL` seconds, stored only as a hash. After
:data:`MAX_ATTEMPTS` wrong tries the code is locked for :data:`LOCK_SECONDS`, and while a
phone has a locked code no new code is sent to it (so a lockout cannot be bypassed by asking
for a fresh code). Codes leave through an :class:`SmsGateway`; :class:`DevSmsSink` stores them
in the database (``till processing codes`` shows them) and logs them, for development only.

Raises :class:`~processing.server.problems.ApiError` with ``unknown_code``, ``code_expired``,
``code_locked`` or ``code_invalid``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import uuid
from dataclasses import dataclass
from typing import Any, Protocol

from sqlite_utils import Database

from loyalty.phones import mask_phone
from processing.errors import ErrorCode
from processing.server.problems import ApiError

CODE_TTL = 300
MAX_ATTEMPTS = 5
LOCK_SECONDS = 900

log = logging.getLogger("processing.sms")


class SmsGateway(Protocol):
    """Where codes go. ``send`` runs inside the request's write transaction on ``db``."""

    def send(self, db: Database, phone: str, text: str, code: str, now: int) -> None: ...


class DevSmsSink:
    """Development gateway: keeps every message in ``sms_outbox`` and logs it (phone masked)."""

    def send(self, db: Database, phone: str, text: str, code: str, now: int) -> None:
        db.execute(
            "INSERT INTO sms_outbox (phone, text, code, created_at) VALUES (?, ?, ?, ?)",
            [phone, text, code, now],
        )
        # Development only: the code is logged so a tester can read it from the console.
        log.info("dev SMS to %s: %s", mask_phone(phone), text)


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


def issue_code(
    db: Database,
    gateway: SmsGateway,
    *,
    phone: str,
    purpose: str,
    now: int,
    member_id: str | None = None,
    points: int | None = None,
    registration: dict[str, Any] | None = None,
) -> CodeRecord:
    """Create a code and send it. Raises ApiError(code_locked) while the phone is locked out."""
    locked = db.execute(
        "SELECT MAX(locked_until) FROM codes WHERE phone = ? AND locked_until > ?", [phone, now]
    ).fetchone()[0]
    if locked is not None:
        raise ApiError(
            ErrorCode.CODE_LOCKED,
            "Too many wrong codes for this phone; try again later.",
            {"retry_after_seconds": int(locked) - now},
        )
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


def check_code(db: Database, code_id: str, code: str, purpose: str, now: int) -> CodeRecord:
    """Use a code: returns its record and marks it used.

    Raises ApiError: unknown_code (no such code or another purpose or already used),
    code_locked, code_expired, code_invalid (counts an attempt; keep_effects).
    """
    row = db.execute(
        "SELECT id, phone, purpose, member_id, code_hash, points, attempts, locked_until,"
        " expires_at, used_at, registration FROM codes WHERE id = ?",
        [code_id],
    ).fetchone()
    if row is None or row[2] != purpose or row[9] is not None:
        raise ApiError(ErrorCode.UNKNOWN_CODE, "This code was not sent or was already used.")
    if row[7] is not None and int(row[7]) > now:
        raise ApiError(
            ErrorCode.CODE_LOCKED,
            "Too many wrong codes; ask for a new code later.",
            {"retry_after_seconds": int(row[7]) - now},
        )
    if int(row[8]) <= now:
        raise ApiError(ErrorCode.CODE_EXPIRED, "The code has expired; send a new one.")
    if not secrets.compare_digest(str(row[4]), _hash(code_id, code)):
        attempts = int(row[6]) + 1
        locked_until = now + LOCK_SECONDS if attempts >= MAX_ATTEMPTS else None
        db.execute(
            "UPDATE codes SET attempts = ?, locked_until = ? WHERE id = ?",
            [attempts, locked_until, code_id],
        )
        if locked_until is not None:
            raise ApiError(
                ErrorCode.CODE_LOCKED,
                "Too many wrong codes; the code is locked.",
                {"retry_after_seconds": LOCK_SECONDS},
                keep_effects=True,
            )
        raise ApiError(
            ErrorCode.CODE_INVALID,
            "The code is wrong.",
            {"attempts_left": MAX_ATTEMPTS - attempts},
            keep_effects=True,
        )
    db.execute("UPDATE codes SET used_at = ? WHERE id = ?", [now, code_id])
    return CodeRecord(
        str(row[0]),
        str(row[1]),
        str(row[2]),
        None if row[3] is None else str(row[3]),
        None if row[5] is None else int(row[5]),
        int(row[8]),
        None if row[10] is None else json.loads(row[10]),
    )


def latest_codes(db: Database, limit: int = 20) -> list[dict[str, Any]]:
    """The newest development SMS messages (for ``till processing codes``)."""
    rows = db.execute(
        "SELECT phone, code, text, created_at FROM sms_outbox ORDER BY id DESC LIMIT ?", [limit]
    ).fetchall()
    return [{"phone": r[0], "code": r[1], "text": r[2], "created_at": r[3]} for r in rows]
