"""A calculation written out as JSON text: the record stored and answered, and the canonical
text its fingerprint hashes (:meth:`loyalty.calculation.Calculation.rendered`)."""

from __future__ import annotations

from decimal import Decimal
from json.encoder import encode_basestring, encode_basestring_ascii
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from loyalty.calculation import Calculation


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


def render(calc: Calculation) -> tuple[str, str, list[tuple[str, str, str]]]:
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
