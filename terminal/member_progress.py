"""What the customer panel shows beyond the server's answer: the rate on a birthday and the
tier progress once a sale has moved it, both from the till's cached program.

Pure: the program comes in (the services load it from the till database).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from loyalty.program import Program
from terminal.views import MemberView


def birthday_rate(program: Program | None, tier_rate: Decimal) -> Decimal | None:
    """The program's birthday rate when it beats ``tier_rate`` (None: no such rate)."""
    if program is None or program.birthday is None:
        return None
    rate = program.birthday.rate_percent
    return rate if rate > tier_rate else None


def after_sale(
    member: MemberView,
    program: Program | None,
    paid: Decimal,
    balance_after: Decimal,
    spent: Decimal = Decimal(0),
) -> MemberView:
    """``member`` once a sale that ``paid`` money, ``spent`` points and left ``balance_after``
    points is done.

    The server spends the lots that expire first, so ``spent`` comes off the soonest expiring
    lots. It adds the money paid to the member's lifetime spend, the tiers' measure; the tier
    and the distance to the next are recomputed from it. Without a lifetime figure (offline)
    or a cached program the tier stays as it was.
    """
    member = replace(member, available=balance_after, **_expiring_after(member, spent))
    if member.lifetime_spend is None or program is None or not member.tier_name:
        return member
    lifetime = member.lifetime_spend + paid
    tier, nxt = program.tier_for(lifetime), program.next_tier(lifetime)
    return replace(
        member,
        lifetime_spend=lifetime,
        tier_name=tier.name,
        tier_rate=tier.rate_percent,
        next_tier=None if nxt is None else nxt.name,
        to_next=None if nxt is None else nxt.min_lifetime_spend - lifetime,
    )


def expiring_left(member: MemberView, spent: Decimal) -> list[tuple[Decimal, datetime]]:
    """(points, expires at) of the member's expiring-soon lots once ``spent`` points came off
    the soonest of them (the server spends the lots that expire first), soonest first."""
    lots = list(member.expiring_lots)
    if not lots and member.expiring_on is not None and member.expiring_total > 0:
        lots = [(member.expiring_total, member.expiring_on)]
    left = spent
    remaining: list[tuple[Decimal, datetime]] = []
    for points, expires_at in sorted(lots, key=lambda lot: lot[1]):
        taken = min(points, max(left, Decimal(0)))
        left -= taken
        if points - taken > 0:
            remaining.append((points - taken, expires_at))
    return remaining


def _expiring_after(member: MemberView, spent: Decimal) -> dict[str, Any]:
    """The expiring-soon fields once ``spent`` points came off the soonest lots."""
    if spent <= 0:
        return {}
    remaining = expiring_left(member, spent)
    return {
        "expiring_lots": tuple(remaining),
        "expiring_total": sum((points for points, _ in remaining), Decimal(0)),
        "expiring_on": remaining[0][1] if remaining else None,
    }
