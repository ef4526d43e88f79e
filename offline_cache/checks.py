"""Committing a sale or another record: check row + outbox row + audit row in ONE transaction.

These are the only ways the terminal writes business records. When a function returns, the
record is on disk (synchronous=FULL) and queued for the sync engine; the network is not touched.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlite_utils import Database

from offline_cache.audit import AuditLog
from offline_cache.clock import Clock, to_text, utc_now
from offline_cache.errors import DuplicateRecord, NotFound
from offline_cache.offline import OfflinePolicy, authorize_offline_spend
from offline_cache.outbox import (
    KIND_CLAIM,
    KIND_HOLD_CONFIRM,
    KIND_OFFLINE_CHECK,
    Outbox,
    OutboxRecord,
)
from offline_cache.txn import canonical_json, write_transaction


@dataclass(frozen=True)
class CheckRecord:
    """A committed check as the till keeps it (for receipts, returns and the shift report).

    ``payload`` is the outbox payload sent to the server: a ``wire.OfflineCheck`` dict for an
    offline check, ``{"check_id", "hold_id", ...}`` for the confirmation of an online hold, a
    ``wire.ClaimRequest`` dict for a check made without a customer (``claim``).
    """

    check_id: str
    member_id: str | None
    total: Decimal
    earned: Decimal
    spent: Decimal
    offline: bool
    payload: dict[str, Any]
    provisional: bool = False
    shift_id: str | None = None
    cashier: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    claim: bool = False
    """Made without a customer: its outbox record is a ``claim`` (no member, no points yet)."""


def commit_check(
    db: Database,
    check: CheckRecord,
    *,
    source: str | None = None,
    override_by: str | None = None,
    policy: OfflinePolicy | None = None,
    clock: Clock = utc_now,
) -> OutboxRecord:
    """Durably commit ``check``: the check row, its outbox record and audit lines, atomically.

    For an offline check with points spent and a ``policy``, the spend is checked against the
    offline bounds inside the same write transaction (``override_by`` is the manager who
    approved it), so two commits can never both use the last of a budget.

    Committing the same check again with the same content returns the stored outbox record.
    Raises ``DuplicateRecord`` when the id was used for other content, ``OfflineRefused`` /
    ``ManagerPinRequired`` when the spend is out of bounds, TypeError for floats.
    """
    kind = KIND_OFFLINE_CHECK if check.offline else KIND_HOLD_CONFIRM
    if check.claim:
        kind = KIND_CLAIM
    with write_transaction(db):
        outbox = Outbox(db, clock)
        spends_offline = check.offline and check.spent > 0 and check.member_id is not None
        known = db.execute("SELECT 1 FROM outbox WHERE id = ?", [check.check_id]).fetchone()
        if spends_offline and policy is not None and not known:
            assert check.member_id is not None
            authorize_offline_spend(
                db,
                check.member_id,
                check.spent,
                policy,
                clock(),
                manager=override_by,
                shift_id=check.shift_id,
            )
        record = outbox.append(
            check.check_id,
            kind,
            check.payload,
            member_id=check.member_id,
            offline=check.offline,
            spend=check.spent if check.offline else Decimal(0),
            earn=check.earned if check.offline else Decimal(0),
        )
        exists = db.execute("SELECT 1 FROM checks WHERE id = ?", [check.check_id]).fetchone()
        if exists:
            return record
        db.execute(
            "INSERT INTO checks (id, shift_id, cashier, member_id, total, earned, spent,"
            " provisional, offline, created_at, payload) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            [
                check.check_id,
                check.shift_id,
                check.cashier,
                check.member_id,
                str(check.total),
                str(check.earned),
                str(check.spent),
                int(check.provisional),
                int(check.offline),
                to_text(record.created_at),
                canonical_json(check.details),
            ],
        )
        AuditLog(db, clock).append(
            "check_committed",
            cashier=check.cashier,
            online=not check.offline,
            source=source,
            override_by=override_by,
            record_id=check.check_id,
            detail={
                "total": check.total,
                "earned": check.earned,
                "spent": check.spent,
                "provisional": check.provisional,
                **({"claim": True} if check.claim else {}),
            },
        )
        if spends_offline:
            AuditLog(db, clock).append(
                "offline_spend",
                cashier=check.cashier,
                online=False,
                override_by=override_by,
                record_id=check.check_id,
                detail={"points": check.spent, "member_id": check.member_id},
            )
    return record


def queue_record(
    db: Database,
    record_id: str,
    kind: str,
    payload: dict[str, Any],
    *,
    action: str,
    cashier: str | None,
    online: bool,
    member_id: str | None = None,
    source: str | None = None,
    override_by: str | None = None,
    detail: dict[str, Any] | None = None,
    clock: Clock = utc_now,
) -> OutboxRecord:
    """Durably queue a hold cancellation, return or registration with its audit line.

    Idempotent like :func:`commit_check`. Raises ``DuplicateRecord``, ValueError for an unknown
    kind, TypeError for floats.
    """
    with write_transaction(db):
        outbox = Outbox(db, clock)
        try:
            before = outbox.get(record_id)
        except NotFound:
            before = None
        record = outbox.append(record_id, kind, payload, member_id=member_id, offline=not online)
        if before is None:
            AuditLog(db, clock).append(
                action,
                cashier=cashier,
                online=online,
                source=source,
                override_by=override_by,
                record_id=record_id,
                detail=detail,
            )
    return record


__all__ = ["CheckRecord", "DuplicateRecord", "commit_check", "queue_record"]


PRINTED_NUMBER = 8
"""Characters of the check id printed on the receipt as its number."""


def ids_by_number(db: Database, number: str) -> list[str]:
    """The ids of this till's checks that ``number`` names, at most two (two mean: ambiguous).

    ``number`` is the full id, a prefix of it from the printed number's 8 characters on (any
    case), or, for a check made without a customer, the claim code on its receipt (with or
    without the spaces). The whole id wins over a prefix of another check.
    """
    exact = db.execute("SELECT id FROM checks WHERE id = ?", [number]).fetchone()
    if exact is not None:
        return [str(exact[0])]
    prefix = number.upper() if len(number) >= PRINTED_NUMBER else None
    rows = db.execute(
        "SELECT id FROM checks WHERE upper(substr(id, 1, length(?1))) = ?1"
        " OR (member_id IS NULL AND json_extract(payload, '$.claim.code') = ?2) LIMIT 2",
        [prefix, number.replace(" ", "")],
    ).fetchall()
    return [str(r[0]) for r in rows]
