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
from json.encoder import encode_basestring, encode_basestring_ascii
from typing import Any, NamedTuple, TypeVar

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
        record, canonical, line_amounts = _render(self)
        fingerprint = hashlib.sha256(canonical.encode("ascii")).hexdigest()
        # Frozen: kept beside the fields (not one of them, so equality and replace ignore it).
        self.__dict__["_fingerprint"] = fingerprint
        return Rendered(record, fingerprint, line_amounts)


class Rendered(NamedTuple):
    """A calculation written out once: see :meth:`Calculation.rendered`."""

    record: str
    fingerprint: str
    line_amounts: list[tuple[str, str, str]]
    """(earn, spend, spend_cap) of each line, in order, as the record's text."""


# Written out field by field rather than walked by reflection, each number rendered once: this
# runs for every calculation the server answers (its record and its fingerprint), and a generic
# walk over the dataclass fields, then a second one for the fingerprint, cost most of a 30-line
# preview; so did building the record as a dict for a JSON writer to walk again. The record is
# written as JSON text here, fields in declaration order, strings as ``json.dumps`` writes them
# with ``ensure_ascii=False`` (quote, backslash and control characters escaped, the rest as
# is), so the stored JSON is byte for byte what the generic walk produced; the fingerprint
# hashes what
# ``json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=True)`` gave for
# the canonical dict (tests/support/decimal_reference.py keeps that form), its keys written here
# in sorted order. tests/test_loyalty_check.py checks every field is here and pins fingerprints;
# tests/test_loyalty_exact.py compares both with the dict forms.


def plain_text(value: Decimal) -> str:
    """``format(value, "f")``: ``str`` where that is the same text (no exponent), which is
    three times cheaper."""
    text = str(value)
    return text if "E" not in text and "e" not in text else format(value, "f")


def canonical_text(value: Decimal, plain: str) -> str:
    """``format(value.normalize(), "f")`` read off ``plain`` (``plain_text(value)``): the
    trailing zeros of the fraction dropped. Long numbers go through ``normalize``, which rounds
    past the context's 28 digits."""
    if len(plain) > 26:
        return format(value.normalize(), "f")
    if "." in plain:
        return plain.rstrip("0").rstrip(".")
    return plain


_TOP = (
    '{"available_points":"%s","birthday":%s,"code_required":%s,"coupons":[%s],"currency":%s,'
    '"earn_total":"%s","lines":[%s],"member_id":%s,"pay_in_money":"%s","precision":%s,'
    '"program_version":%d,"promotions":[%s],"rate_percent":"%s","requested_spend":"%s",'
    '"rounding":%s,"spend_applied":"%s","spendable_max":"%s","tier":%s,"total_amount":"%s"}'
)
_BOOL = {True: "true", False: "false"}


_RECORD = (
    '{"program_version":%d,"currency":%s,"member_id":%s,"computed_at":%s,"lines":[%s],'
    '"requested_spend":"%s","available_points":"%s","total_amount":"%s","earn_total":"%s",'
    '"spend_applied":"%s","spendable_max":"%s","pay_in_money":"%s","tier":%s,'
    '"rate_percent":"%s","birthday":%s,"rounding":%s,"precision":%s,"code_required":%s,'
    '"promotions":[%s],"coupons":[%s],"rejected_coupons":[%s],"notes":[%s],'
    '"customer_message":%s}'
)


def _render(calc: Calculation) -> tuple[str, str, list[tuple[str, str, str]]]:
    """The record (:meth:`Calculation.to_dict`) as compact JSON text, the canonical JSON text
    the fingerprint hashes, and each line's earn, spend and spend cap as the record wrote them."""
    text, canon = plain_text, canonical_text
    quote, ascii_quote = encode_basestring, encode_basestring_ascii
    lines: list[str] = []
    canonical_lines: list[str] = []
    line_amounts: list[tuple[str, str, str]] = []
    for ln in calc.lines:
        quantity, price, discount = str(ln.quantity), str(ln.unit_price), str(ln.discount)
        amount, cap, spend = str(ln.amount), str(ln.spend_cap), str(ln.spend)
        base, rate, earn = str(ln.earn_base), str(ln.rate_percent), str(ln.earn)
        # str() is format(…, "f") unless it wrote an exponent (looked for once per line).
        joined = quantity + price + discount + amount + cap + spend + base + rate + earn
        if "E" in joined or "e" in joined:
            quantity, price, discount = text(ln.quantity), text(ln.unit_price), text(ln.discount)
            amount, cap, spend = text(ln.amount), text(ln.spend_cap), text(ln.spend)
            base, rate, earn = text(ln.earn_base), text(ln.rate_percent), text(ln.earn)
        line_amounts.append((earn, spend, cap))
        discounted = _BOOL[bool(ln.discounted)]
        sku, category = ascii_quote(ln.sku), ascii_quote(ln.category)
        # The record writes other than ASCII (and DEL) as is, the fingerprint's text as \uXXXX:
        # a string with no such escape (most SKUs and categories) is the same text in both.
        record_sku = sku if "\\u" not in sku else quote(ln.sku)
        record_category = category if "\\u" not in category else quote(ln.category)
        lines.append(
            f'{{"index":{ln.index:d},"sku":{record_sku},"name":{quote(ln.name)},'
            f'"category":{record_category},"quantity":"{quantity}","unit_price":"{price}",'
            f'"discount":"{discount}","discounted":{discounted},"amount":"{amount}",'
            f'"spend_cap":"{cap}","spend":"{spend}","earn_base":"{base}",'
            f'"rate_percent":"{rate}","earn":"{earn}",'
            f'"excluded_reason":{quote(ln.excluded_reason)},'
            f'"promo_ids":[{",".join(map(quote, ln.promo_ids))}]}}'
        )
        cq, cp, cd = (
            canon(ln.quantity, quantity),
            canon(ln.unit_price, price),
            canon(ln.discount, discount),
        )
        ca, ccap, cs = canon(ln.amount, amount), canon(ln.spend_cap, cap), canon(ln.spend, spend)
        cb, cr, ce = canon(ln.earn_base, base), canon(ln.rate_percent, rate), canon(ln.earn, earn)
        canonical_lines.append(
            f'{{"amount":"{ca}","category":{category},"discount":"{cd}",'
            f'"discounted":{discounted},"earn":"{ce}","earn_base":"{cb}",'
            f'"index":{ln.index:d},"promo_ids":[{",".join(map(ascii_quote, ln.promo_ids))}],'
            f'"quantity":"{cq}","rate_percent":"{cr}","sku":{sku},"spend":"{cs}",'
            f'"spend_cap":"{ccap}","unit_price":"{cp}"}}'
        )
    requested, available = text(calc.requested_spend), text(calc.available_points)
    total, earn_total = text(calc.total_amount), text(calc.earn_total)
    spend_applied, spendable = text(calc.spend_applied), text(calc.spendable_max)
    to_pay, rate = text(calc.pay_in_money), text(calc.rate_percent)
    record = _RECORD % (
        calc.program_version,
        quote(calc.currency),
        "null" if calc.member_id is None else quote(calc.member_id),
        quote(calc.computed_at.isoformat()),
        ",".join(lines),
        requested,
        available,
        total,
        earn_total,
        spend_applied,
        spendable,
        to_pay,
        quote(calc.tier),
        rate,
        _BOOL[bool(calc.birthday)],
        quote(calc.rounding.value),
        quote(calc.precision.value),
        _BOOL[bool(calc.code_required)],
        ",".join(
            f'{{"promo_id":{quote(p.promo_id)},"name":{quote(p.name)},'
            f'"kind":{quote(p.kind.value)},"reason":{quote(p.reason)},'
            f'"lines":[{",".join(map(str, p.lines))}],"points":"{text(p.points)}"}}'
            for p in calc.promotions
        ),
        ",".join(map(quote, calc.coupons)),
        ",".join(
            f'{{"code":{quote(c.code)},"reason":{quote(c.reason)}}}' for c in calc.rejected_coupons
        ),
        ",".join(map(quote, calc.notes)),
        quote(calc.customer_message),
    )
    canonical = _TOP % (
        canon(calc.available_points, available),
        _BOOL[bool(calc.birthday)],
        _BOOL[bool(calc.code_required)],
        ",".join(map(ascii_quote, calc.coupons)),
        ascii_quote(calc.currency),
        canon(calc.earn_total, earn_total),
        ",".join(canonical_lines),
        "null" if calc.member_id is None else ascii_quote(calc.member_id),
        canon(calc.pay_in_money, to_pay),
        ascii_quote(calc.precision.value),
        calc.program_version,
        ",".join(ascii_quote(p.promo_id) for p in calc.promotions),
        canon(calc.rate_percent, rate),
        canon(calc.requested_spend, requested),
        ascii_quote(calc.rounding.value),
        canon(calc.spend_applied, spend_applied),
        canon(calc.spendable_max, spendable),
        ascii_quote(calc.tier),
        canon(calc.total_amount, total),
    )
    return record, canonical, line_amounts


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
