"""Decisions the till makes alone while the server is unreachable: identify, balance, spend.

Balance offline = cached available − this till's offline spends not yet acknowledged. Spend
offline is off unless enabled, and then bounded by the smallest of that balance, a per-check
cap, a per-member daily cap and the till's outstanding offline budget; above a threshold a
manager must approve. Earn offline is the cached program's estimate, always provisional.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlite_utils import Database

from loyalty.errors import TokenError
from loyalty.identifiers import IdKind, classify
from loyalty.qrtoken import verify_token
from offline_cache.clock import to_text
from offline_cache.errors import (
    IdentifierRefused,
    ManagerPinRequired,
    MemberNotCached,
    OfflineRefused,
    ProgramNotCached,
)
from offline_cache.members import CachedMember, MemberCache
from offline_cache.outbox import from_cents, to_cents
from offline_cache.snapshots import ProgramCache

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class OfflinePolicy:
    """The admin's offline bounds. Spending offline is off by default."""

    spend_enabled: bool = False
    per_check_cap: Decimal = Decimal("500")
    per_member_daily_cap: Decimal = Decimal("1000")
    till_budget: Decimal = Decimal("10000")
    """The most points this till may have spent offline and not yet acknowledged."""
    manager_above: Decimal = Decimal("300")
    """Spends above this need a manager's PIN."""


@dataclass(frozen=True)
class OfflineMember:
    """What the screen shows after an offline identify."""

    member: CachedMember
    identified_by: str
    """'phone', 'card' or 'member_qr'."""
    pending_spend: Decimal
    """This till's offline spends for the member not yet acknowledged."""
    available: Decimal
    """Cached available minus ``pending_spend``, never below zero."""
    age: timedelta
    """How old the cached balance is at identify time."""


@dataclass(frozen=True)
class SpendLimit:
    """The most that may be spent offline now, and which bound set it."""

    limit: Decimal
    bound: str
    """'disabled', 'state', 'balance', 'per_check', 'daily' or 'budget'."""


def identify_offline(db: Database, text: str, region: str, now: datetime) -> OfflineMember:
    """Find the member a typed or scanned ``text`` names, from the cache alone.

    Raises ``IdentifierRefused`` (not an identifier, or a bad/expired QR token with the
    token's own sentence), ``ProgramNotCached`` (a QR token but no public key yet) and
    ``MemberNotCached``.
    """
    found = classify(text, region)
    cache = MemberCache(db)
    member: CachedMember | None
    if found.kind is IdKind.PHONE:
        member = cache.by_phone(found.value)
    elif found.kind is IdKind.CARD:
        member = cache.by_card(found.value)
    elif found.kind is IdKind.MEMBER_QR:
        program = ProgramCache(db).load()
        if program is None:
            raise ProgramNotCached()
        try:
            claims = verify_token(found.value, program.public_key, now, program.qr_token_ttl)
        except TokenError as error:
            raise IdentifierRefused(error.code, str(error)) from error
        member = cache.by_id(claims.member_id)
    else:
        raise IdentifierRefused(
            found.kind.value, found.reason or "This is not a phone, card or member QR code."
        )
    if member is None:
        raise MemberNotCached()
    return describe(db, member, found.kind.value, now)


def describe(
    db: Database, member: CachedMember, identified_by: str, now: datetime
) -> OfflineMember:
    """The offline view of a cached member: balance net of pending spends, and its age."""
    pending = pending_spend(db, member.member_id)
    return OfflineMember(
        member=member,
        identified_by=identified_by,
        pending_spend=pending,
        available=max(ZERO, member.available - pending),
        age=max(timedelta(0), now - member.balance_at),
    )


def pending_spend(db: Database, member_id: str) -> Decimal:
    """Points this till spent offline for the member that the server has not yet acknowledged."""
    row = db.execute(
        "SELECT coalesce(sum(spend_cents), 0) FROM outbox WHERE member_id = ? AND offline = 1"
        " AND state IN ('pending', 'sending')",
        [member_id],
    ).fetchone()
    return from_cents(int(row[0]))


def spent_today(db: Database, member_id: str, now: datetime) -> Decimal:
    """Points spent offline for the member since the start of ``now``'s day (any state but dead)."""
    start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    row = db.execute(
        "SELECT coalesce(sum(spend_cents), 0) FROM outbox WHERE member_id = ? AND offline = 1"
        " AND state != 'dead' AND created_at >= ?",
        [member_id, to_text(start)],
    ).fetchone()
    return from_cents(int(row[0]))


def outstanding_budget_use(db: Database) -> Decimal:
    """All offline spends of this till not yet acknowledged."""
    row = db.execute(
        "SELECT coalesce(sum(spend_cents), 0) FROM outbox WHERE offline = 1"
        " AND state IN ('pending', 'sending')"
    ).fetchone()
    return from_cents(int(row[0]))


def offline_spend_limit(
    db: Database, member: CachedMember, policy: OfflinePolicy, now: datetime
) -> SpendLimit:
    """The most points the member may spend offline now (before the check's own rules)."""
    if not policy.spend_enabled:
        return SpendLimit(ZERO, "disabled")
    if member.state != "active":
        return SpendLimit(ZERO, "state")
    bounds = [
        ("balance", member.available - pending_spend(db, member.member_id)),
        ("per_check", policy.per_check_cap),
        ("daily", policy.per_member_daily_cap - spent_today(db, member.member_id, now)),
        ("budget", policy.till_budget - outstanding_budget_use(db)),
    ]
    bound, limit = min(bounds, key=lambda pair: pair[1])
    return SpendLimit(max(ZERO, limit).quantize(Decimal("0.01")), bound)


_REFUSALS = {
    "disabled": "Spending points is not available while the till is offline.",
    "state": "This member cannot spend points.",
    "balance": "The member's offline balance allows at most {limit} points.",
    "per_check": "At most {limit} points may be spent on one check while offline.",
    "daily": "This member may spend at most {limit} more points offline today.",
    "budget": "This till's offline spending budget allows at most {limit} more points.",
}


def authorize_offline_spend(
    db: Database,
    member_id: str,
    points: Decimal,
    policy: OfflinePolicy,
    now: datetime,
    manager: str | None = None,
) -> SpendLimit:
    """Check that spending ``points`` offline is within bounds; returns the limit applied.

    Raises ``OfflineRefused`` with the binding bound's sentence, ``ManagerPinRequired`` when
    ``points`` exceeds ``policy.manager_above`` and no (already verified) ``manager`` is given,
    ``MemberNotCached`` for an unknown member, and ValueError for sub-cent or negative points.
    """
    if points < 0:
        raise ValueError("points to spend cannot be negative")
    to_cents(points)
    if points == 0:
        return SpendLimit(ZERO, "none")
    member = MemberCache(db).by_id(member_id)
    if member is None:
        raise MemberNotCached()
    limit = offline_spend_limit(db, member, policy, now)
    if points > limit.limit:
        raise OfflineRefused(_REFUSALS[limit.bound].format(limit=limit.limit), limit.limit)
    if points > policy.manager_above and manager is None:
        raise ManagerPinRequired(
            f"Spending more than {policy.manager_above} points offline needs a manager's PIN.",
            policy.manager_above,
        )
    return limit
