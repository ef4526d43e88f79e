"""What the calculation needs to know about a member (a view, not the member record)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum


class MemberState(StrEnum):
    """A member's standing in the program."""

    ACTIVE = "active"
    """Earns and spends."""
    EARN_ONLY = "earn_only"
    """Earns but may not spend (e.g. phone not yet confirmed, or under review)."""
    BLOCKED = "blocked"
    """Neither earns nor spends."""

    @property
    def can_earn(self) -> bool:
        return self is not MemberState.BLOCKED

    @property
    def can_spend(self) -> bool:
        return self is MemberState.ACTIVE


@dataclass(frozen=True)
class MemberView:
    """The member as a check calculation sees them."""

    member_id: str
    state: MemberState
    lifetime_spend: Decimal
    """Money spent before this check; chooses the tier."""
    birthday: date | None
    available_points: Decimal
    """Active points right now (see :func:`loyalty.lots.balance_of`)."""
    offer_ids: tuple[str, ...] = ()
    """Personal promotions this member holds (``Promotion.personal``)."""
