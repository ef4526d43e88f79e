"""The sale screen's offline half: identify from the cache and preview under the offline bounds.

Thin glue over :mod:`offline_cache.offline` (the decisions) and the cached program (the earn
estimate); everything here runs in a worker holding the database lock.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlite_utils import Database

from loyalty.check import Line, calculate
from loyalty.errors import LoyaltyError
from loyalty.member import MemberState
from loyalty.member import MemberView as CoreMember
from loyalty.money import quantize_money
from loyalty.program import Program
from offline_cache.errors import IdentifierRefused, MemberNotCached, ProgramNotCached
from offline_cache.members import CachedMember
from offline_cache.offline import (
    OfflineMember,
    OfflinePolicy,
    identify_offline,
    offline_spend_limit,
)
from offline_cache.snapshots import ProgramCache
from terminal.config import Settings
from terminal.i18n import _, local
from terminal.views import MemberView, Preview, SaleDraft, SaleLine

CENT = Decimal("0.01")


class OfflineRefusal(Exception):
    """The cache cannot identify this customer; ``str()`` is the sentence for the cashier."""


def policy(settings: Settings) -> OfflinePolicy:
    """The admin's offline bounds from config.toml."""
    offline = settings.offline
    return OfflinePolicy(
        spend_enabled=offline.spend_enabled,
        per_check_cap=offline.per_check_cap,
        per_member_daily_cap=offline.per_member_daily_cap,
        till_budget=offline.till_budget,
        manager_above=offline.manager_pin_above,
    )


def identify_cached(db: Database, text: str, region: str, now: datetime, entry: str) -> MemberView:
    """The member from the till's cache; raises OfflineRefusal with a translated sentence."""
    try:
        found = identify_offline(db, text, region, now)
    except MemberNotCached as error:
        raise OfflineRefusal(
            _("The server is offline and this customer is not in the till's cache.")
        ) from error
    except ProgramNotCached as error:
        raise OfflineRefusal(
            _("The server is offline and QR codes cannot be checked yet; type the phone.")
        ) from error
    except IdentifierRefused as error:
        raise OfflineRefusal(str(error)) from error
    return _view(found, entry)


def _view(found: OfflineMember, entry: str) -> MemberView:
    member = found.member
    details = member.details
    return MemberView(
        member_id=member.member_id,
        phone_masked=str(details.get("phone_masked") or "***"),
        name=details.get("name"),
        state=member.state,
        tier_name="",
        tier_rate=Decimal(0),
        next_tier=None,
        to_next=None,
        available=found.available,
        online=False,
        cached_at=member.balance_at,
        entry=entry,
    )


def offline_preview(db: Database, settings: Settings, draft: SaleDraft, now: datetime) -> Preview:
    """Provisional earn from the cached program and spend within the offline bounds."""
    assert draft.member is not None
    total = draft.total
    limit = Decimal(0)
    cached = MemberCacheLookup(db, draft.member.member_id)
    if cached.member is not None:
        limit = offline_spend_limit(db, cached.member, policy(settings), now).limit
    limit = min(limit, total)
    spend = min(draft.spend, limit)
    earn = _estimate_earn(db, draft, spend, now)
    return Preview(
        check_id=draft.check_id,
        total=total,
        earn=earn,
        spend=spend,
        max_spend=limit,
        to_pay=total - spend,
        code_required=False,
        fingerprint="offline",
        online=False,
    )


class MemberCacheLookup:
    """The cached row of one member (None when it is not cached)."""

    def __init__(self, db: Database, member_id: str) -> None:
        from offline_cache.members import MemberCache

        self.member = MemberCache(db).by_id(member_id)


def _estimate_earn(db: Database, draft: SaleDraft, spend: Decimal, now: datetime) -> Decimal:
    """The loyalty core's earn for ``draft`` on the cached program and member; 0 if unknown.

    The same calculation the server runs, so the receipt's provisional figure differs from the
    server's only where the cache is behind: personal offers and coupons are not cached and
    count for nothing here. The server recomputes earn when the check is replayed.
    """
    member = MemberCacheLookup(db, draft.member.member_id if draft.member else "").member
    try:
        view = None if member is None else _core_member(member)
    except (ValueError, KeyError):
        return Decimal(0)
    return _core_earn(db, draft, view, spend, now) or Decimal(0)


def _core_earn(
    db: Database, draft: SaleDraft, member: CoreMember | None, spend: Decimal, now: datetime
) -> Decimal | None:
    """The core's earn for ``draft`` on the cached program; None without one, or when the
    core refuses the lines."""
    cached = ProgramCache(db).load()
    if cached is None or not draft.lines:
        return None
    try:
        program = Program.from_dict(cached.program)
        lines = [core_line(line) for line in draft.lines]
        # The program's dates (promotions, birthdays) are the store's calendar days.
        return calculate(program, lines, member, spend, (), local(now)).earn_total
    except LoyaltyError:
        return None


def _core_member(member: CachedMember) -> CoreMember:
    """The calculation's view of a cached member (a ValueError for a state it does not know)."""
    birthday = member.details.get("birthday")
    return CoreMember(
        member_id=member.member_id,
        state=MemberState(member.state),
        lifetime_spend=Decimal(str(member.details.get("lifetime_spend", "0"))),
        birthday=date.fromisoformat(birthday) if birthday else None,
        available_points=member.available,
    )


def claim_estimate(db: Database, draft: SaleDraft, now: datetime) -> Decimal | None:
    """What ``draft`` earns at the cached program's base tier: the least any member gets for it.

    The loyalty core's own calculation for a check without a member (as the server computes a
    claim's ``earn_at_least``), so the offline receipt and the server agree but for catalog
    changes since the cache was refreshed. None when no program is cached or the core refuses
    the lines.
    """
    return _core_earn(db, draft, None, Decimal(0), now)


def core_line(line: SaleLine) -> Line:
    """The core's line for a sale line: ``amount`` below price × quantity is a discount."""
    gross = quantize_money(line.price * line.quantity)
    return Line(
        sku=line.barcode or "",
        name=line.name,
        category=line.category,
        quantity=line.quantity,
        unit_price=line.price,
        discounted=line.discounted,
        discount=max(Decimal(0), gross - line.amount),
    )
