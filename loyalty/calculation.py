"""The result of a check calculation, as data that survives the wire and SQLite unchanged.

:meth:`Calculation.to_dict` gives JSON-ready data (Decimals as strings, time as ISO text) and
:meth:`Calculation.from_dict` reads it back strictly (raises
:class:`~loyalty.errors.CheckError`). :meth:`Calculation.fingerprint` hashes what the numbers
depend on and what they are — not the wording of messages nor the moment of calculation — so
the server can tell a till's preview is stale when its own recalculation differs.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from loyalty.codec import DictReader
from loyalty.errors import CheckError
from loyalty.money import Precision, Rounding
from loyalty.program import PromotionKind


@dataclass(frozen=True)
class LineResult:
    """One check line with its spend allocation and its earn."""

    index: int
    sku: str
    name: str
    category: str
    quantity: Decimal
    unit_price: Decimal
    discount: Decimal
    """Money taken off the line by the store (not by points)."""
    discounted: bool
    amount: Decimal
    """What the line costs: quantity × unit price, rounded to cents, less the discount."""
    spend_cap: Decimal
    """The most points this line alone could take."""
    spend: Decimal
    """Points allocated to this line (paid with points)."""
    earn_base: Decimal
    """The amount that earns: the amount less the part paid with points; 0 when excluded."""
    rate_percent: Decimal
    """The earn rate applied, promotions included."""
    earn: Decimal
    """Points earned on this line, rounded, check bonuses included."""
    excluded_reason: str = ""
    """Why the line earns nothing; empty when it earns."""
    promo_ids: tuple[str, ...] = ()
    """Promotions that touched this line."""

    @property
    def paid_in_money(self) -> Decimal:
        return self.amount - self.spend


@dataclass(frozen=True)
class AppliedPromotion:
    """A promotion that changed this check's earn, and why, in words."""

    promo_id: str
    name: str
    kind: PromotionKind
    reason: str
    lines: tuple[int, ...]
    """Indices of the lines it applied to (empty for a whole-check bonus)."""
    points: Decimal
    """Points it added (for multipliers and extra rates, before each line's rounding)."""


@dataclass(frozen=True)
class RejectedCoupon:
    """A coupon presented that does not apply, and why."""

    code: str
    reason: str


@dataclass(frozen=True)
class Calculation:
    """Everything a check's loyalty step decided."""

    program_version: int
    currency: str
    member_id: str | None
    computed_at: datetime
    lines: tuple[LineResult, ...]
    requested_spend: Decimal
    available_points: Decimal
    total_amount: Decimal
    earn_total: Decimal
    spend_applied: Decimal
    spendable_max: Decimal
    pay_in_money: Decimal
    tier: str
    rate_percent: Decimal
    """The member's base rate for this check: tier or birthday, before promotions."""
    birthday: bool
    rounding: Rounding
    precision: Precision
    code_required: bool
    """Spending this much needs the customer's confirmation code."""
    promotions: tuple[AppliedPromotion, ...]
    coupons: tuple[str, ...]
    """Coupon codes presented, normalised."""
    rejected_coupons: tuple[RejectedCoupon, ...]
    notes: tuple[str, ...]
    """Sentences for the cashier: why spend was limited, why nothing was earned, …"""
    customer_message: str
    """One line for the customer, e.g. 'You will get 15 points.'"""

    @property
    def eligible_amount(self) -> Decimal:
        return sum((line.earn_base for line in self.lines), Decimal("0.00"))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data; :meth:`from_dict` gives back an equal Calculation."""
        return _plain(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Calculation:
        """A Calculation from :meth:`to_dict` output. Raises CheckError naming the field."""
        return _calculation_from_dict(data)

    def fingerprint(self) -> str:
        """A hex SHA-256 of inputs and results, ignoring message wording and ``computed_at``.

        Decimals enter in canonical form, so ``Decimal("2")`` and ``Decimal("2.000")`` agree.
        """
        canonical = json.dumps(
            _canonical(self), sort_keys=True, separators=(",", ":"), ensure_ascii=True
        )
        return hashlib.sha256(canonical.encode("ascii")).hexdigest()


# Written out field by field rather than walked by reflection, each Decimal formatted in
# place: this runs twice for every calculation the server answers (its record and its
# fingerprint), and a generic walk over the dataclass fields cost most of a 30-line preview.
# The fields are listed in declaration order, so the stored JSON is byte for byte what the
# generic walk produced; tests/test_loyalty_check.py checks every field is here and pins a
# fingerprint.
def _plain(calc: Calculation) -> dict[str, Any]:
    return {
        "program_version": calc.program_version,
        "currency": calc.currency,
        "member_id": calc.member_id,
        "computed_at": calc.computed_at.isoformat(),
        "lines": [
            {
                "index": ln.index,
                "sku": ln.sku,
                "name": ln.name,
                "category": ln.category,
                "quantity": format(ln.quantity, "f"),
                "unit_price": format(ln.unit_price, "f"),
                "discount": format(ln.discount, "f"),
                "discounted": ln.discounted,
                "amount": format(ln.amount, "f"),
                "spend_cap": format(ln.spend_cap, "f"),
                "spend": format(ln.spend, "f"),
                "earn_base": format(ln.earn_base, "f"),
                "rate_percent": format(ln.rate_percent, "f"),
                "earn": format(ln.earn, "f"),
                "excluded_reason": ln.excluded_reason,
                "promo_ids": list(ln.promo_ids),
            }
            for ln in calc.lines
        ],
        "requested_spend": format(calc.requested_spend, "f"),
        "available_points": format(calc.available_points, "f"),
        "total_amount": format(calc.total_amount, "f"),
        "earn_total": format(calc.earn_total, "f"),
        "spend_applied": format(calc.spend_applied, "f"),
        "spendable_max": format(calc.spendable_max, "f"),
        "pay_in_money": format(calc.pay_in_money, "f"),
        "tier": calc.tier,
        "rate_percent": format(calc.rate_percent, "f"),
        "birthday": calc.birthday,
        "rounding": calc.rounding.value,
        "precision": calc.precision.value,
        "code_required": calc.code_required,
        "promotions": [
            {
                "promo_id": p.promo_id,
                "name": p.name,
                "kind": p.kind.value,
                "reason": p.reason,
                "lines": list(p.lines),
                "points": format(p.points, "f"),
            }
            for p in calc.promotions
        ],
        "coupons": list(calc.coupons),
        "rejected_coupons": [{"code": c.code, "reason": c.reason} for c in calc.rejected_coupons],
        "notes": list(calc.notes),
        "customer_message": calc.customer_message,
    }


def _canonical(calc: Calculation) -> dict[str, Any]:
    """What the fingerprint hashes: the numbers, what they depend on, Decimals normalised."""
    return {
        "program_version": calc.program_version,
        "currency": calc.currency,
        "member_id": calc.member_id,
        "lines": [
            {
                "index": ln.index,
                "sku": ln.sku,
                "category": ln.category,
                "quantity": format(ln.quantity.normalize(), "f"),
                "unit_price": format(ln.unit_price.normalize(), "f"),
                "discount": format(ln.discount.normalize(), "f"),
                "discounted": ln.discounted,
                "amount": format(ln.amount.normalize(), "f"),
                "spend_cap": format(ln.spend_cap.normalize(), "f"),
                "spend": format(ln.spend.normalize(), "f"),
                "earn_base": format(ln.earn_base.normalize(), "f"),
                "rate_percent": format(ln.rate_percent.normalize(), "f"),
                "earn": format(ln.earn.normalize(), "f"),
                "promo_ids": list(ln.promo_ids),
            }
            for ln in calc.lines
        ],
        "requested_spend": format(calc.requested_spend.normalize(), "f"),
        "available_points": format(calc.available_points.normalize(), "f"),
        "total_amount": format(calc.total_amount.normalize(), "f"),
        "earn_total": format(calc.earn_total.normalize(), "f"),
        "spend_applied": format(calc.spend_applied.normalize(), "f"),
        "spendable_max": format(calc.spendable_max.normalize(), "f"),
        "pay_in_money": format(calc.pay_in_money.normalize(), "f"),
        "tier": calc.tier,
        "rate_percent": format(calc.rate_percent.normalize(), "f"),
        "birthday": calc.birthday,
        "rounding": calc.rounding.value,
        "precision": calc.precision.value,
        "code_required": calc.code_required,
        "promotions": [p.promo_id for p in calc.promotions],
        "coupons": list(calc.coupons),
    }


def _line(r: DictReader) -> LineResult:
    line = LineResult(
        index=r.integer("index"),
        sku=r.text("sku"),
        name=r.text("name"),
        category=r.text("category"),
        quantity=r.decimal("quantity"),
        unit_price=r.decimal("unit_price"),
        discount=r.decimal("discount"),
        discounted=r.flag("discounted"),
        amount=r.decimal("amount"),
        spend_cap=r.decimal("spend_cap"),
        spend=r.decimal("spend"),
        earn_base=r.decimal("earn_base"),
        rate_percent=r.decimal("rate_percent"),
        earn=r.decimal("earn"),
        excluded_reason=r.text("excluded_reason", ""),
        promo_ids=r.str_tuple("promo_ids"),
    )
    r.finish()
    return line


def _promotion(r: DictReader) -> AppliedPromotion:
    promo = AppliedPromotion(
        promo_id=r.text("promo_id"),
        name=r.text("name"),
        kind=r.enum("kind", PromotionKind),
        reason=r.text("reason"),
        lines=tuple(r.integer_list("lines")),
        points=r.decimal("points"),
    )
    r.finish()
    return promo


def _rejected(r: DictReader) -> RejectedCoupon:
    coupon = RejectedCoupon(r.text("code"), r.text("reason"))
    r.finish()
    return coupon


def _calculation_from_dict(data: dict[str, Any]) -> Calculation:
    r = DictReader(data, "calculation", CheckError)
    calculation = Calculation(
        program_version=r.integer("program_version"),
        currency=r.text("currency"),
        member_id=r.optional_text("member_id"),
        computed_at=r.moment("computed_at"),
        lines=tuple(_line(line) for line in r.items("lines")),
        requested_spend=r.decimal("requested_spend"),
        available_points=r.decimal("available_points"),
        total_amount=r.decimal("total_amount"),
        earn_total=r.decimal("earn_total"),
        spend_applied=r.decimal("spend_applied"),
        spendable_max=r.decimal("spendable_max"),
        pay_in_money=r.decimal("pay_in_money"),
        tier=r.text("tier"),
        rate_percent=r.decimal("rate_percent"),
        birthday=r.flag("birthday"),
        rounding=r.enum("rounding", Rounding),
        precision=r.enum("precision", Precision),
        code_required=r.flag("code_required"),
        promotions=tuple(_promotion(p) for p in r.items("promotions")),
        coupons=r.str_tuple("coupons"),
        rejected_coupons=tuple(_rejected(c) for c in r.items("rejected_coupons")),
        notes=r.str_tuple("notes"),
        customer_message=r.text("customer_message"),
    )
    r.finish()
    if any(line.index != i for i, line in enumerate(calculation.lines)):
        raise CheckError("calculation.lines must be numbered 0, 1, 2, … in order.")
    return calculation
