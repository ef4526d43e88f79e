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
from typing import Any, TypeVar

from loyalty.calculation_json import Rendered, render
from loyalty.codec import DictReader
from loyalty.errors import CheckError
from loyalty.money import Precision, Rounding
from loyalty.program import PromotionKind

T = TypeVar("T")


def trusted(cls: type[T], fields: dict[str, Any]) -> T:
    """An instance of the frozen dataclass ``cls`` holding ``fields`` (every field, in
    declaration order, each already of its type), made without ``cls.__init__``.

    The core makes a record per line: a frozen dataclass's ``__init__`` sets each field through
    ``object.__setattr__`` (2 us for a :class:`LineResult` by keyword, and slots make it slower
    still), handing over the filled dict costs a quarter of it. The instance is the same as
    ``cls(**fields)`` (equal, same hash, same ``repr``; tests/test_loyalty_exact.py checks).
    ``cls`` must keep its fields in ``__dict__`` (no ``slots=True``)."""
    record = object.__new__(cls)
    object.__setattr__(record, "__dict__", fields)
    return record


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
        record: dict[str, Any] = json.loads(self.record_json_and_fingerprint()[0])
        return record

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Calculation:
        """A Calculation from :meth:`to_dict` output. Raises CheckError naming the field."""
        return _calculation_from_dict(data)

    def fingerprint(self) -> str:
        """A hex SHA-256 of inputs and results, ignoring message wording and ``computed_at``.

        Decimals enter in canonical form, so ``Decimal("2")`` and ``Decimal("2.000")`` agree.
        """
        cached = self.__dict__.get("_fingerprint")
        return cached if cached is not None else self.record_json_and_fingerprint()[1]

    def record_json_and_fingerprint(self) -> tuple[str, str]:
        """:meth:`to_dict` as compact JSON text (``json.dumps(self.to_dict(),
        ensure_ascii=False, separators=(",", ":"))``, which is also how pydantic writes it) and
        :meth:`fingerprint`, in one pass over the numbers: each is written out once, and its
        canonical form is read off that text."""
        rendered = self.rendered()
        return rendered.record, rendered.fingerprint

    def rendered(self) -> Rendered:
        """:meth:`record_json_and_fingerprint`, and each line's earn, spend and spend cap as the
        record writes them, for an answer that repeats them."""
        record, canonical, line_amounts = render(self)
        fingerprint = hashlib.sha256(canonical.encode("ascii")).hexdigest()
        # Frozen: kept beside the fields (not one of them, so equality and replace ignore it).
        self.__dict__["_fingerprint"] = fingerprint
        return Rendered(record, fingerprint, line_amounts)


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
