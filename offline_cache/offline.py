"""Decisions the till makes alone while the server is unreachable: identify, balance, spend.

Balance offline = cached available − this till's offline spends not yet acknowledged. Spend
offline is off unless enabled, and then bounded by the smallest of that balance, a per-check
cap, a per-member daily cap, a per-shift cap and the till's outstanding offline budget; above a
threshold a manager must approve. These bounds come on top of the program's own spend rules
(the terminal applies the ``loyalty`` core first). Earn offline is the cached program's
estimate, always provisional.

Time offline is the till's own monotonic record, not its wall clock:

- **Never backward.** The latest moment the till has acted at is kept in ``sync_state``
  (``clock_high_water``); an offline decision takes the later of the wall clock and that mark,
  so a clock moved back cannot reopen a day whose cap was used.
- **Forward gives nothing unsynced.** A member's daily cap counts every offline spend made on
  the till's current day *and every one the server has not yet acknowledged*, whatever day it
  was made: a clock moved forward (or a real midnight) starts a fresh day only for spends the
  server has already seen and judged. The per-shift cap does not look at the clock at all.
- **The server resets the mark.** Its time, read with each program snapshot, replaces the
  mark, so a clock once jumped far ahead does not freeze the daily caps for ever.

The till budget is used by every unacknowledged offline spend, and by the part of an answered
one the server did not apply (a shortfall, a refusal) until a manager marks its conflict seen:
it refills by what the server applied, never by an acknowledgement alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlite_utils import Database

from loyalty.errors import TokenError
from loyalty.identifiers import IdKind, classify
from loyalty.qrtoken import verify_token
from offline_cache.clock import from_text, to_text
from offline_cache.errors import (
    IdentifierRefused,
    ManagerPinRequired,
    MemberNotCached,
    OfflineRefused,
    ProgramNotCached,
)
from offline_cache.members import CachedMember, MemberCache
from offline_cache.outbox import from_cents, to_cents
from offline_cache.snapshots import ProgramCache, SyncState

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class OfflinePolicy:
    """The admin's offline bounds. Spending offline is off by default."""

    spend_enabled: bool = False
    per_check_cap: Decimal = Decimal("500")
    per_member_daily_cap: Decimal = Decimal("1000")
    till_budget: Decimal = Decimal("10000")
    """The most points this till may have spent offline and not yet acknowledged."""
    per_shift_cap: Decimal = Decimal("1000000")
    """The most points all members may spend offline during one shift, synced or not."""
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
    """'disabled', 'state', 'balance', 'per_check', 'daily', 'shift' or 'budget'."""


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


CLOCK_MARK = "clock_high_water"
"""``sync_state`` key: the latest moment the till has acted at offline (or the server's time)."""


def till_now(db: Database, wall: datetime) -> datetime:
    """The later of the wall clock and the till's high-water mark: offline time never goes back."""
    row = db.execute("SELECT value FROM sync_state WHERE key = ?", [CLOCK_MARK]).fetchone()
    if row is None or row[0] is None:
        return wall
    return max(wall, from_text(str(row[0])))


def advance_clock(db: Database, wall: datetime) -> datetime:
    """Record :func:`till_now` as the new mark and return it (call inside the commit)."""
    now = till_now(db, wall)
    SyncState(db).set(CLOCK_MARK, to_text(now), now)
    return now


def take_server_time(db: Database, server_now: datetime) -> None:
    """The server's clock replaces the mark (a till clock jumped ahead is pulled back)."""
    SyncState(db).set(CLOCK_MARK, to_text(server_now), server_now)


def spent_today(db: Database, member_id: str, now: datetime) -> Decimal:
    """Points spent offline for the member on ``now``'s day, plus every offline spend of the
    member the server has not acknowledged yet, whatever day the till's clock gave it."""
    start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    row = db.execute(
        "SELECT coalesce(sum(spend_cents), 0) FROM outbox WHERE member_id = ? AND offline = 1"
        " AND (created_at >= ? OR state IN ('pending', 'sending'))",
        [member_id, to_text(start)],
    ).fetchone()
    return from_cents(int(row[0]))


def spent_in_shift(db: Database, shift_id: str | None) -> Decimal:
    """Points spent offline by every member during the shift (any state: given at the till)."""
    row = db.execute(
        "SELECT coalesce(sum(o.spend_cents), 0) FROM outbox o JOIN checks c ON c.id = o.id"
        " WHERE o.offline = 1 AND c.shift_id IS ?",
        [shift_id],
    ).fetchone()
    return from_cents(int(row[0]))


def outstanding_budget_use(db: Database) -> Decimal:
    """Offline spends of this till not yet applied by the server.

    Every unacknowledged offline spend, plus for answered ones the part the server did not apply
    (its answer's ``spent`` below the till's, or all of it when refused) while the record has a
    conflict nobody has marked seen.
    """
    row = db.execute(
        "SELECT coalesce(sum(spend_cents), 0) FROM outbox WHERE offline = 1"
        " AND state IN ('pending', 'sending')"
    ).fetchone()
    unsent = from_cents(int(row[0]))
    unapplied = ZERO
    for spend_cents, state, server_spent in db.execute(
        "SELECT o.spend_cents, o.state, c.server_spent FROM outbox o"
        " LEFT JOIN checks c ON c.id = o.id"
        " WHERE o.offline = 1 AND o.spend_cents > 0 AND o.state IN ('acknowledged', 'dead')"
        " AND EXISTS (SELECT 1 FROM conflicts f WHERE f.record_id = o.id"
        " AND f.resolved_at IS NULL)"
    ).fetchall():
        applied = ZERO
        if state == "acknowledged" and server_spent is not None:
            applied = Decimal(str(server_spent))
        unapplied += max(ZERO, from_cents(int(spend_cents)) - applied)
    return unsent + unapplied


def offline_spend_limit(
    db: Database,
    member: CachedMember,
    policy: OfflinePolicy,
    now: datetime,
    shift_id: str | None = None,
) -> SpendLimit:
    """The most points the member may spend offline now (before the check's own rules).

    ``now`` is the wall clock; the day is taken from :func:`till_now`. ``shift_id`` is the
    open shift (None: the spends made outside any shift share one bound).
    """
    if not policy.spend_enabled:
        return SpendLimit(ZERO, "disabled")
    if member.state != "active":
        return SpendLimit(ZERO, "state")
    today = till_now(db, now)
    bounds = [
        ("balance", member.available - pending_spend(db, member.member_id)),
        ("per_check", policy.per_check_cap),
        ("daily", policy.per_member_daily_cap - spent_today(db, member.member_id, today)),
        ("shift", policy.per_shift_cap - spent_in_shift(db, shift_id)),
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
    "shift": "This shift's offline spending allows at most {limit} more points.",
    "budget": "This till's offline spending budget allows at most {limit} more points.",
}


def authorize_offline_spend(
    db: Database,
    member_id: str,
    points: Decimal,
    policy: OfflinePolicy,
    now: datetime,
    manager: str | None = None,
    shift_id: str | None = None,
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
    limit = offline_spend_limit(db, member, policy, now, shift_id)
    if points > limit.limit:
        raise OfflineRefused(
            _REFUSALS[limit.bound].format(limit=limit.limit), limit.limit, limit.bound
        )
    if points > policy.manager_above and manager is None:
        raise ManagerPinRequired(
            f"Spending more than {policy.manager_above} points offline needs a manager's PIN.",
            policy.manager_above,
        )
    return limit
