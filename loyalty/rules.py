"""Which rates and promotions apply on a given day to a given member: the program, read."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from loyalty.member import MemberView
from loyalty.program import Program, Promotion, PromotionKind, Tier


@dataclass(frozen=True)
class Rate:
    """The member's base earn rate on one day."""

    tier: Tier
    percent: Decimal
    birthday: bool
    """True when the birthday rate beat the tier's."""


def birthday_in_window(birthday: date, day: date, days_before: int, days_after: int) -> bool:
    """True when ``day`` is from ``days_before`` days before a birthday to ``days_after`` after.

    Looks at the birthdays in the years around ``day`` so windows crossing New Year work; a
    29 February birthday falls on 28 February in other years.
    """
    for year in (day.year - 1, day.year, day.year + 1):
        try:
            anniversary = birthday.replace(year=year)
        except ValueError:
            anniversary = date(year, 2, 28)
        if (
            anniversary - timedelta(days=days_before)
            <= day
            <= anniversary + timedelta(days=days_after)
        ):
            return True
    return False


def member_rate(program: Program, member: MemberView | None, day: date) -> Rate:
    """The tier (by lifetime spend) and the rate that applies on ``day``."""
    tier = program.tier_for(member.lifetime_spend if member is not None else Decimal("0"))
    window = program.birthday
    if (
        member is not None
        and member.birthday is not None
        and window is not None
        and window.rate_percent > tier.rate_percent
        and birthday_in_window(member.birthday, day, window.days_before, window.days_after)
    ):
        return Rate(tier, window.rate_percent, birthday=True)
    return Rate(tier, tier.rate_percent, birthday=False)


def normalize_coupon(code: str) -> str:
    """A coupon code as promotions store it: no spaces or hyphens, upper-case."""
    return "".join(ch for ch in code if ch not in " -\t").upper()


def running_promotions(
    program: Program, member: MemberView | None, day: date, coupons: Sequence[str]
) -> tuple[list[Promotion], dict[str, str]]:
    """Promotions that apply on ``day`` for this member and coupons; plus rejected coupons.

    A coupon is rejected (code → reason) when no promotion running today asks for it.
    """
    offers = set(member.offer_ids) if member is not None else set()
    presented = {normalize_coupon(c) for c in coupons}
    running: list[Promotion] = []
    used: set[str] = set()
    for promo in program.promotions:
        if not promo.runs_on(day):
            continue
        if promo.personal and promo.promo_id not in offers:
            continue
        if promo.coupon is not None:
            if normalize_coupon(promo.coupon) not in presented:
                continue
            used.add(normalize_coupon(promo.coupon))
        running.append(promo)
    rejected = {
        code: "No promotion running today takes this coupon." for code in sorted(presented - used)
    }
    return running, rejected


def promotion_reason(promo: Promotion, currency: str) -> str:
    """A sentence saying what ``promo`` does, for the cashier and the receipt."""
    dates = f"{promo.starts_on:%d.%m}–{promo.ends_on:%d.%m.%Y}"
    scope = _scope(promo)
    if promo.kind is PromotionKind.MULTIPLIER:
        return f"{promo.name}: points x{_num(promo.multiplier)}{scope}, {dates}."
    if promo.kind is PromotionKind.CHECK_BONUS:
        return (
            f"{promo.name}: {_num(promo.bonus_points)} bonus points for a check of"
            f" {_num(promo.threshold)} {currency} or more, {dates}."
        )
    parts = []
    if promo.extra_rate_percent:
        parts.append(f"+{_num(promo.extra_rate_percent)} %")
    if promo.points_per_unit:
        parts.append(f"+{_num(promo.points_per_unit)} points per unit")
    return f"{promo.name}: {' and '.join(parts) or 'bonus'}{scope}, {dates}."


def _scope(promo: Promotion) -> str:
    targets = [*promo.categories, *promo.skus]
    return f" on {', '.join(targets)}" if targets else ""


def _num(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text
