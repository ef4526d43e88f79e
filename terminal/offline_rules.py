"""The sale screen's offline half: identify from the cache and decide spend and earn.

Offline spend is decided as online: the ``loyalty`` core's calculation on the cached program
(share of the check, categories points cannot pay for, the minimum paid in money, the
program's points precision, no earn on the part paid with points), with the member's points
replaced by what the offline bounds of :mod:`offline_cache.offline` allow — so the bounds only
ever lower what the program allows. Without a cached program nothing is spent offline.
Everything here runs in a worker holding the database lock.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal

from sqlite_utils import Database

from loyalty.calculation import Calculation
from loyalty.check import Line, calculate
from loyalty.errors import LoyaltyError
from loyalty.member import MemberState
from loyalty.member import MemberView as CoreMember
from loyalty.money import quantize_money
from loyalty.program import Program
from offline_cache.errors import (
    IdentifierRefused,
    MemberNotCached,
    OfflineRefused,
    ProgramNotCached,
)
from offline_cache.members import CachedMember, MemberCache
from offline_cache.offline import (
    OfflineMember,
    OfflinePolicy,
    identify_offline,
    offline_spend_limit,
)
from offline_cache.snapshots import ProgramCache
from terminal.config import Settings
from terminal.i18n import N_, _, local
from terminal.views import MemberView, Preview, SaleDraft, SaleLine


class OfflineRefusal(Exception):
    """The cache cannot identify this customer; ``str()`` is the sentence for the cashier."""


_BOUND_SENTENCES = {
    "disabled": N_("Spending points is not available while the till is offline."),
    "state": N_("This member cannot spend points."),
    "balance": N_("The member's offline balance allows at most {limit} points."),
    "per_check": N_("At most {limit} points may be spent on one check while offline."),
    "daily": N_("This member may spend at most {limit} more points offline today."),
    "shift": N_("This shift's offline spending allows at most {limit} more points."),
    "budget": N_("This till's offline spending budget allows at most {limit} more points."),
}


def refusal_sentence(error: OfflineRefused) -> str:
    """The cashier's sentence for an offline bound that refused a spend."""
    sentence = _BOUND_SENTENCES.get(error.bound)
    if sentence is None:
        return str(error)
    return _(sentence).format(limit=error.limit)


def policy(settings: Settings) -> OfflinePolicy:
    """The admin's offline bounds from config.toml."""
    offline = settings.offline
    return OfflinePolicy(
        spend_enabled=offline.spend_enabled,
        per_check_cap=offline.per_check_cap,
        per_member_daily_cap=offline.per_member_daily_cap,
        till_budget=offline.till_budget,
        per_shift_cap=offline.per_shift_cap,
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


@dataclass(frozen=True)
class OfflineDecision:
    """What the till decides alone for a check: the program's rules, the offline bounds on top."""

    spend: Decimal
    """Points to spend: the request, as far as rules and bounds allow."""
    max_spend: Decimal
    """The most the rules and bounds allow on this check."""
    earn: Decimal
    """Provisional earn (nothing on the part paid with points)."""
    bound: str
    """The offline bound that capped the member's points (a ``SpendLimit.bound``), or ''."""
    code_required: bool = False
    """The program asks the customer's SMS code for this spend: offline, a manager approves."""


def offline_decision(
    db: Database,
    settings: Settings,
    draft: SaleDraft,
    now: datetime,
    shift_id: str | None = None,
) -> OfflineDecision:
    """Spend and earn for ``draft`` by the cached program within the offline bounds."""
    member_id = draft.member.member_id if draft.member else ""
    cached = MemberCacheLookup(db, member_id).member
    bound = ""
    view: CoreMember | None = None
    if cached is not None:
        limit = offline_spend_limit(db, cached, policy(settings), now, shift_id)
        bound = limit.bound
        try:
            # The bounds stand in for the member's points: the core never spends beyond them.
            view = replace(core_member(cached), available_points=limit.limit)
        except (ValueError, KeyError):
            return OfflineDecision(Decimal(0), Decimal(0), Decimal(0), bound)
    calc = core_calculation(db, draft, view, draft.spend, now)
    if calc is None:
        return OfflineDecision(Decimal(0), Decimal(0), Decimal(0), bound)
    return OfflineDecision(
        calc.spend_applied, calc.spendable_max, calc.earn_total, bound, calc.code_required
    )


def offline_preview(
    db: Database,
    settings: Settings,
    draft: SaleDraft,
    now: datetime,
    shift_id: str | None = None,
) -> Preview:
    """Provisional earn and spend by the cached program, within the offline bounds."""
    assert draft.member is not None
    decision = offline_decision(db, settings, draft, now, shift_id)
    total = draft.total
    return Preview(
        check_id=draft.check_id,
        total=total,
        earn=decision.earn,
        spend=decision.spend,
        max_spend=decision.max_spend,
        to_pay=total - decision.spend,
        code_required=False,
        fingerprint="offline",
        online=False,
    )


class MemberCacheLookup:
    """The cached row of one member (None when it is not cached)."""

    def __init__(self, db: Database, member_id: str) -> None:
        self.member = MemberCache(db).by_id(member_id)


def core_calculation(
    db: Database, draft: SaleDraft, member: CoreMember | None, spend: Decimal, now: datetime
) -> Calculation | None:
    """The core's calculation of ``draft`` on the cached program; None without one, or when
    the core refuses the lines.

    The same calculation the server runs, so the receipt's provisional figures differ from the
    server's only where the cache is behind: personal offers and coupons are not cached and
    count for nothing here. The server recomputes the check when it is replayed.
    """
    cached = ProgramCache(db).load()
    if cached is None or not draft.lines:
        return None
    try:
        program = Program.from_dict(cached.program)
        lines = [core_line(line) for line in draft.lines]
        # The program's dates (promotions, birthdays) are the store's calendar days.
        return calculate(program, lines, member, spend, (), local(now))
    except LoyaltyError:
        return None


def core_member(member: CachedMember) -> CoreMember:
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
    calc = core_calculation(db, draft, None, Decimal(0), now)
    return None if calc is None else calc.earn_total


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
        payable_with_points=line.payable_with_points,
    )
