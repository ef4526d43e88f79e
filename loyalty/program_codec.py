"""JSON-ready dicts for :class:`~loyalty.program.Program`, both ways, strictly validated.

The program class is handed in (``program_from_dict(data, Program)``) rather than imported:
:mod:`loyalty.program` uses this module, and this module only knows the parts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from datetime import date
from decimal import Decimal
from enum import Enum
from typing import Any, TypeVar

from loyalty.codec import DictReader, decimal_text
from loyalty.errors import ProgramError
from loyalty.money import Precision, Rounding
from loyalty.program_parts import (
    BirthdayWindow,
    Exclusions,
    Promotion,
    PromotionKind,
    SpendRules,
    Tier,
)

P = TypeVar("P")


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "__dataclass_fields__"):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    return value


def program_to_dict(program: object) -> dict[str, Any]:
    """``program`` as plain JSON-ready data."""
    result: dict[str, Any] = _plain(program)
    return result


def program_from_dict(data: dict[str, Any], program_class: Callable[..., P]) -> P:
    """A validated program (built by ``program_class``) from plain data. Raises ProgramError
    naming the field."""
    r = DictReader(data, "program", ProgramError)
    birthday = r.optional_sub("birthday")
    exclusions = r.sub("exclusions", {})
    spend = r.sub("spend", {})
    program = program_class(
        version=r.integer("version"),
        currency=r.text("currency"),
        base_rate_percent=r.decimal("base_rate_percent"),
        name=r.text("name", "Loyalty"),
        tiers=tuple(_tier(t) for t in r.items("tiers")),
        birthday=None if birthday is None else _birthday(birthday),
        promotions=tuple(_promotion(p) for p in r.items("promotions")),
        exclusions=_exclusions(exclusions),
        spend=_spend(spend),
        rounding=r.enum("rounding", Rounding, Rounding.DOWN),
        precision=r.enum("precision", Precision, Precision.WHOLE),
        activation_delay_days=r.integer("activation_delay_days", 0),
        expiry_days=r.optional_int("expiry_days"),
        qr_public_key=r.text("qr_public_key", ""),
        qr_token_ttl_seconds=r.integer("qr_token_ttl_seconds", 300),
    )
    r.finish()
    return program


def _tier(r: DictReader) -> Tier:
    tier = Tier(r.text("name"), r.decimal("min_lifetime_spend"), r.decimal("rate_percent"))
    r.finish()
    return tier


def _birthday(r: DictReader) -> BirthdayWindow:
    window = BirthdayWindow(
        r.decimal("rate_percent"), r.integer("days_before", 0), r.integer("days_after", 0)
    )
    r.finish()
    return window


def _promotion(r: DictReader) -> Promotion:
    promo = Promotion(
        promo_id=r.text("promo_id"),
        name=r.text("name"),
        kind=r.enum("kind", PromotionKind),
        starts_on=r.day("starts_on"),
        ends_on=r.day("ends_on"),
        multiplier=r.decimal("multiplier", "1"),
        extra_rate_percent=r.decimal("extra_rate_percent", "0"),
        points_per_unit=r.decimal("points_per_unit", "0"),
        categories=r.str_tuple("categories"),
        skus=r.str_tuple("skus"),
        threshold=r.decimal("threshold", "0"),
        bonus_points=r.decimal("bonus_points", "0"),
        coupon=r.optional_text("coupon"),
        personal=r.flag("personal", False),
    )
    r.finish()
    return promo


def _exclusions(r: DictReader) -> Exclusions:
    result = Exclusions(
        discounted_lines=r.flag("discounted_lines", True),
        points_paid_part=r.flag("points_paid_part", True),
        categories=r.str_tuple("categories"),
    )
    r.finish()
    return result


def _spend(r: DictReader) -> SpendRules:
    result = SpendRules(
        max_percent_of_check=r.decimal("max_percent_of_check", "30"),
        max_percent_per_line=r.decimal("max_percent_per_line", "100"),
        min_paid_in_money=r.decimal("min_paid_in_money", "0"),
        min_points=r.decimal("min_points", "0"),
        max_points=r.optional_decimal("max_points"),
        code_threshold=r.optional_decimal("code_threshold"),
        excluded_categories=r.str_tuple("excluded_categories"),
    )
    r.finish()
    return result
