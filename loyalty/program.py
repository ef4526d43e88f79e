"""The loyalty program as data: a frozen snapshot that round-trips through JSON.

The processing server is authoritative and sends this snapshot to tills; a till uses it to
preview checks and to estimate earn while offline. Every amount is a ``Decimal`` (a string in
JSON, never a float); dates are ISO strings; percentages are plain numbers (``"3"`` is 3 %).

Rules, in short (:mod:`loyalty.check` applies them):

- earn rate = the tier's rate by lifetime spend (``base_rate_percent`` below the first tier),
  or the birthday rate when higher inside the birthday window; times the largest active
  multiplier (multipliers do not stack); plus category/product extra rates; plus points per
  unit; plus fixed bonuses for a check over a threshold;
- :class:`Exclusions` remove discounted lines, the part paid with points and whole categories
  from earning; :class:`SpendRules` cap spending.

Raises :class:`~loyalty.errors.ProgramError` naming the field and what is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cached_property
from typing import Any

from loyalty.compiled import CompiledProgram, compile_program
from loyalty.errors import ProgramError
from loyalty.money import HUNDRED, Precision, Rounding
from loyalty.program_codec import program_from_dict, program_to_dict
from loyalty.program_parts import (
    BirthdayWindow,
    Exclusions,
    Promotion,
    PromotionKind,
    SpendRules,
    Tier,
)

__all__ = [
    "CURRENCIES",
    "DEMO_QR_PRIVATE_KEY",
    "BirthdayWindow",
    "Exclusions",
    "Program",
    "Promotion",
    "PromotionKind",
    "SpendRules",
    "Tier",
    "demo_program",
]

CURRENCIES = ("RUB", "UAH", "KZT")
"""Currencies a program can run in; one point is worth one unit of it."""


@dataclass(frozen=True)
class Program:
    """A program snapshot. Constructing one validates it (raises ProgramError)."""

    version: int
    currency: str
    base_rate_percent: Decimal
    name: str = "Loyalty"
    tiers: tuple[Tier, ...] = ()
    birthday: BirthdayWindow | None = None
    promotions: tuple[Promotion, ...] = ()
    exclusions: Exclusions = field(default_factory=Exclusions)
    spend: SpendRules = field(default_factory=SpendRules)
    rounding: Rounding = Rounding.DOWN
    precision: Precision = Precision.WHOLE
    activation_delay_days: int = 0
    expiry_days: int | None = None
    """Days from activation to expiry; None: points never expire."""
    qr_public_key: str = ""
    """Hex Ed25519 public key verifying member QR tokens; empty when QR is not used."""
    qr_token_ttl_seconds: int = 300

    def __post_init__(self) -> None:
        _validate(self)

    @cached_property
    def compiled(self) -> CompiledProgram:
        """The rules in integer form for the check calculation, worked out on first use and
        kept with this snapshot (it is frozen, so they never go stale)."""
        return compile_program(self)

    def tier_for(self, lifetime_spend: Decimal) -> Tier:
        """The tier reached by ``lifetime_spend`` (the base tier below the first)."""
        reached = Tier("Base", Decimal("0"), self.base_rate_percent)
        for tier in self.tiers:
            if lifetime_spend >= tier.min_lifetime_spend:
                reached = tier
        return reached

    def next_tier(self, lifetime_spend: Decimal) -> Tier | None:
        """The next tier up, or None at the top."""
        return next((t for t in self.tiers if t.min_lifetime_spend > lifetime_spend), None)

    def to_dict(self) -> dict[str, Any]:
        """The snapshot as JSON-ready data: Decimals and dates as strings."""
        return program_to_dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Program:
        """A validated snapshot from :meth:`to_dict` output. Raises ProgramError."""
        return program_from_dict(data, cls)


def _validate(program: Program) -> None:
    if program.version < 1:
        raise ProgramError("program.version must be 1 or more.")
    if program.currency not in CURRENCIES:
        raise ProgramError(
            f"program.currency: {program.currency!r} is not one of {', '.join(CURRENCIES)}."
        )
    _percent("program.base_rate_percent", program.base_rate_percent)
    previous = Decimal("0")
    for i, tier in enumerate(program.tiers):
        _percent(f"program.tiers[{i}].rate_percent", tier.rate_percent)
        if tier.min_lifetime_spend <= previous:
            raise ProgramError(
                f"program.tiers[{i}].min_lifetime_spend must be above zero and above the"
                " previous tier's."
            )
        previous = tier.min_lifetime_spend
    if program.birthday is not None:
        _percent("program.birthday.rate_percent", program.birthday.rate_percent)
        if (
            not 0 <= program.birthday.days_before <= 31
            or not 0 <= program.birthday.days_after <= 31
        ):
            raise ProgramError("program.birthday days before and after must be 0 to 31.")
    seen: set[str] = set()
    for i, promo in enumerate(program.promotions):
        _validate_promotion(f"program.promotions[{i}]", promo)
        if promo.promo_id in seen:
            raise ProgramError(f"program.promotions[{i}].promo_id {promo.promo_id!r} is repeated.")
        seen.add(promo.promo_id)
    _validate_spend(program.spend)
    if not 0 <= program.activation_delay_days <= 3650:
        raise ProgramError("program.activation_delay_days must be 0 to 3650.")
    if program.expiry_days is not None and not 1 <= program.expiry_days <= 36500:
        raise ProgramError("program.expiry_days must be 1 to 36500, or absent for no expiry.")
    key = program.qr_public_key
    if key and (len(key) != 64 or any(ch not in "0123456789abcdef" for ch in key.lower())):
        raise ProgramError("program.qr_public_key must be 64 hex digits or empty.")
    if not 10 <= program.qr_token_ttl_seconds <= 86400:
        raise ProgramError("program.qr_token_ttl_seconds must be 10 to 86400.")


def _validate_promotion(path: str, promo: Promotion) -> None:
    if not promo.promo_id:
        raise ProgramError(f"{path}.promo_id must not be empty.")
    if promo.ends_on < promo.starts_on:
        raise ProgramError(f"{path}: ends_on {promo.ends_on} is before starts_on.")
    if promo.kind is PromotionKind.MULTIPLIER and not Decimal("1") <= promo.multiplier <= 10:
        raise ProgramError(f"{path}.multiplier must be 1 to 10.")
    _percent(f"{path}.extra_rate_percent", promo.extra_rate_percent)
    for name in ("points_per_unit", "threshold", "bonus_points"):
        if getattr(promo, name) < 0:
            raise ProgramError(f"{path}.{name} must not be negative.")
    if promo.kind is PromotionKind.CATEGORY_BONUS and not promo.categories:
        raise ProgramError(f"{path}: a category bonus needs categories.")
    if promo.kind is PromotionKind.PRODUCT_BONUS and not promo.skus:
        raise ProgramError(f"{path}: a product bonus needs skus.")
    if promo.kind is PromotionKind.CHECK_BONUS and promo.bonus_points <= 0:
        raise ProgramError(f"{path}: a check bonus needs bonus_points above zero.")


def _validate_spend(spend: SpendRules) -> None:
    _percent("program.spend.max_percent_of_check", spend.max_percent_of_check)
    _percent("program.spend.max_percent_per_line", spend.max_percent_per_line)
    for name in ("min_paid_in_money", "min_points"):
        if getattr(spend, name) < 0:
            raise ProgramError(f"program.spend.{name} must not be negative.")
    if spend.max_points is not None and spend.max_points < spend.min_points:
        raise ProgramError("program.spend.max_points must not be below min_points.")
    if spend.code_threshold is not None and spend.code_threshold <= 0:
        raise ProgramError("program.spend.code_threshold must be above zero, or absent.")


def _percent(path: str, value: Decimal) -> None:
    if not Decimal("0") <= value <= HUNDRED:
        raise ProgramError(f"{path}: {value} is not a percentage from 0 to 100.")


DEMO_QR_PRIVATE_KEY = "b1e552842e2a55b8187c3337441e00d9848db927268bc08fb373ccbe172ea2f0"
"""The demo program's QR signing key. Public on purpose: for ``till demo`` and tests only."""

DEMO_QR_PUBLIC_KEY = "b9dfae1cb21daeb9be53011229e75e5ea6d178b37e5891621713f6e58dfb2a9d"
"""The public half of :data:`DEMO_QR_PRIVATE_KEY`."""


def demo_program() -> Program:
    """The demo program (RUB).

    3 % base; 5 % from 15 000 lifetime spend; 7 % from 50 000; 14 % from 2 days before through
    the birthday; x2 from 1 to 10 January 2027; tobacco neither earns nor takes points; points
    pay up to 30 % of a check, at least 1 point at a time, a code above 500 points; whole points
    rounded down; points activate after 14 days and expire 365 days after that.
    """
    return Program(
        version=1,
        name="Demo bonus club",
        currency="RUB",
        base_rate_percent=Decimal("3"),
        tiers=(
            Tier("Silver", Decimal("15000"), Decimal("5")),
            Tier("Gold", Decimal("50000"), Decimal("7")),
        ),
        birthday=BirthdayWindow(Decimal("14"), days_before=2, days_after=0),
        promotions=(
            Promotion(
                promo_id="new-year-x2",
                name="Double points 1–10 January",
                kind=PromotionKind.MULTIPLIER,
                starts_on=date(2027, 1, 1),
                ends_on=date(2027, 1, 10),
                multiplier=Decimal("2"),
            ),
        ),
        exclusions=Exclusions(
            discounted_lines=True, points_paid_part=True, categories=("tobacco",)
        ),
        spend=SpendRules(
            max_percent_of_check=Decimal("30"),
            max_percent_per_line=Decimal("100"),
            min_paid_in_money=Decimal("1.00"),
            min_points=Decimal("1"),
            max_points=None,
            code_threshold=Decimal("500"),
            excluded_categories=("tobacco",),
        ),
        rounding=Rounding.DOWN,
        precision=Precision.WHOLE,
        activation_delay_days=14,
        expiry_days=365,
        qr_public_key=DEMO_QR_PUBLIC_KEY,
        qr_token_ttl_seconds=300,
    )
