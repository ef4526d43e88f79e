"""The parts a loyalty program is made of: tiers, the birthday window, promotions, exclusions
and spend rules (:class:`loyalty.program.Program` puts them together and validates them).

Kept apart from :mod:`loyalty.program` so the JSON codec (:mod:`loyalty.program_codec`) can
build them without importing the program module that uses the codec: no import cycle.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum


@dataclass(frozen=True)
class Tier:
    """A level reached by lifetime spend."""

    name: str
    min_lifetime_spend: Decimal
    """Lifetime spend (money, before this check) from which the tier applies."""
    rate_percent: Decimal
    """Cashback in % of the eligible amount."""


@dataclass(frozen=True)
class BirthdayWindow:
    """A higher rate around the member's birthday (29 February counts as 28 in other years)."""

    rate_percent: Decimal
    days_before: int
    """The window opens this many days before the birthday."""
    days_after: int
    """The window closes this many days after (0: on the birthday itself)."""


class PromotionKind(StrEnum):
    """What a promotion does."""

    MULTIPLIER = "multiplier"
    """Multiplies the earn rate (x2); limited to ``categories``/``skus`` when given."""
    CATEGORY_BONUS = "category_bonus"
    """Extra rate and/or points per unit on lines of ``categories``."""
    PRODUCT_BONUS = "product_bonus"
    """Extra rate and/or points per unit on lines of ``skus``."""
    CHECK_BONUS = "check_bonus"
    """``bonus_points`` once when the eligible amount reaches ``threshold``."""


@dataclass(frozen=True)
class Promotion:
    """A dated promotion; ``starts_on`` and ``ends_on`` are inclusive local dates."""

    promo_id: str
    name: str
    kind: PromotionKind
    starts_on: date
    ends_on: date
    multiplier: Decimal = Decimal("1")
    extra_rate_percent: Decimal = Decimal("0")
    points_per_unit: Decimal = Decimal("0")
    categories: tuple[str, ...] = ()
    skus: tuple[str, ...] = ()
    threshold: Decimal = Decimal("0")
    bonus_points: Decimal = Decimal("0")
    coupon: str | None = None
    """Applies only when this coupon code is presented (upper-case, as classify returns it)."""
    personal: bool = False
    """Applies only to members whose ``offer_ids`` contain ``promo_id``."""

    def runs_on(self, day: date) -> bool:
        """True when ``day`` lies within the promotion's dates."""
        return self.starts_on <= day <= self.ends_on

    def targets(self, category: str, sku: str) -> bool:
        """True when a line of this category and sku is in the promotion's scope."""
        if not self.categories and not self.skus:
            return True
        return category in self.categories or sku in self.skus


@dataclass(frozen=True)
class Exclusions:
    """What earns nothing."""

    discounted_lines: bool = True
    """No earning on lines sold at a discount."""
    points_paid_part: bool = True
    """No earning on the part of a line paid with points."""
    categories: tuple[str, ...] = ()
    """Categories that never earn (e.g. tobacco)."""


@dataclass(frozen=True)
class SpendRules:
    """How many points a check may take."""

    max_percent_of_check: Decimal = Decimal("30")
    max_percent_per_line: Decimal = Decimal("100")
    min_paid_in_money: Decimal = Decimal("0")
    """The customer pays at least this much money whatever the points."""
    min_points: Decimal = Decimal("0")
    """Below this, nothing can be spent."""
    max_points: Decimal | None = None
    code_threshold: Decimal | None = None
    """Spending more than this many points on a check needs a confirmation code (SMS)."""
    excluded_categories: tuple[str, ...] = ()
    """Categories points cannot pay for (tobacco by law in RU)."""
