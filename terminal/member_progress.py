"""What the customer panel shows beyond the server's answer: the rate on a birthday and the
tier progress once a sale has moved it, both from the till's cached program.

Pure: the program comes in (the services load it from the till database).
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from loyalty.program import Program
from terminal.views import MemberView


def birthday_rate(program: Program | None, tier_rate: Decimal) -> Decimal | None:
    """The program's birthday rate when it beats ``tier_rate`` (None: no such rate)."""
    if program is None or program.birthday is None:
        return None
    rate = program.birthday.rate_percent
    return rate if rate > tier_rate else None


def after_sale(
    member: MemberView, program: Program | None, paid: Decimal, balance_after: Decimal
) -> MemberView:
    """``member`` once a sale that ``paid`` money and left ``balance_after`` points is done.

    The server adds the money paid to the member's lifetime spend, the tiers' measure; the
    tier and the distance to the next are recomputed from it. Without a lifetime figure
    (offline) or a cached program only the balance changes.
    """
    member = replace(member, available=balance_after)
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
