"""The core's arithmetic is exact and unchanged: results pinned from the Decimal core, and the
core compared with that Decimal core (tests/support/decimal_reference.py) over random checks.

The core works in integer minor units inside its loop (issue #13); these tests hold it to every
result of the plain Decimal rules, down to how each number is written in the stored record and
the fingerprint tills keep across an upgrade.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from loyalty.calculation import Calculation, LineResult, trusted
from loyalty.calculation_json import canonical_text, plain_text
from loyalty.check import Line, MemberState, MemberView, calculate
from loyalty.money import Precision, Rounding
from loyalty.program import (
    BirthdayWindow,
    Exclusions,
    Program,
    Promotion,
    PromotionKind,
    SpendRules,
    Tier,
    demo_program,
)
from tests.support.decimal_reference import (
    reference_calculate,
    reference_fingerprint,
    reference_record,
)
from tests.support.thirty_lines import JAN_5, MSK, thirty_line_check, with_line

D = Decimal


def record_text(calc: Calculation) -> str:
    return json.dumps(calc.to_dict(), sort_keys=False, separators=(",", ":"))


def _compact(record: dict[str, object]) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


_ANY_DICT: TypeAdapter[dict[str, Any]] = TypeAdapter(dict[str, Any])


def _pydantic(record: dict[str, object]) -> str:
    return _ANY_DICT.dump_json(record).decode()


def test_a_thirty_line_check_keeps_its_fingerprint_and_record() -> None:
    # Pinned on main before the integer core (commit c42f3ab): tills hold fingerprints across
    # an upgrade, and stored records are compared as text.
    calc = thirty_line_check()
    assert calc.fingerprint() == PINNED_30_FINGERPRINT
    assert hashlib.sha256(record_text(calc).encode()).hexdigest() == PINNED_30_RECORD
    assert (calc.earn_total, calc.spend_applied, calc.total_amount) == PINNED_30_TOTALS


PINNED_30_FINGERPRINT = "9c725a01283097b85b11411bf62468bb586fdaa97248b714192e5e44fe49585f"
PINNED_30_RECORD = "5590735762ccede9475917e56d0fbf86a27dd58fe9753d9e0d3dfa83ecde14d0"
PINNED_30_TOTALS = (D("5711.00"), D("1500.00"), D("30501.96"))


# Random checks, wider than tests/test_loyalty_properties.py: rates, multipliers and bonuses
# with decimals, weighed quantities, amounts written with more or fewer places than needed
# (the record keeps how a number was written), every rounding and precision, non-members.


cents = st.integers(0, 2_000_000).map(lambda n: D(n).scaleb(-2))
rates = st.sampled_from([D("0"), D("1"), D("3"), D("3.5"), D("2.25"), D("7.125"), D("100")])
multipliers = st.sampled_from([D("1"), D("1.5"), D("2"), D("3"), D("2.75"), D("10")])
per_unit = st.sampled_from([D("0"), D("1"), D("1.5"), D("0.25"), D("10"), D("0.333")])
categories = ["grocery", "dairy", "tobacco", "coffee", "bakery"]
scopes = st.sampled_from(
    [((), ()), (("dairy",), ()), ((), ("sku1", "sku2")), (("coffee",), ("sku0",))]
)


@st.composite
def any_line(draw: st.DrawFn) -> Line:
    quantity = draw(
        st.one_of(
            st.integers(1, 40).map(D),
            st.integers(1, 99_999).map(lambda n: D(n).scaleb(-3)),
            st.integers(1, 9).map(lambda n: D(n).quantize(D("0.001"))),
        )
    )
    price = draw(st.one_of(cents, st.integers(0, 5000).map(D)))
    gross = (quantity * price).quantize(D("0.01"))
    discount = draw(st.sampled_from([D("0.00"), D("0"), (gross / 3).quantize(D("0.01")), gross]))
    return Line(
        sku=f"sku{draw(st.integers(0, 4))}",
        name="item",
        category=draw(st.sampled_from(categories)),
        quantity=quantity,
        unit_price=price,
        discounted=draw(st.booleans()),
        discount=discount,
        payable_with_points=draw(st.booleans()),
    )


@st.composite
def any_promotion(draw: st.DrawFn, i: int) -> Promotion:
    kind = draw(st.sampled_from(list(PromotionKind)))
    cats, skus = draw(scopes)
    if kind is PromotionKind.CATEGORY_BONUS and not cats:
        cats = ("dairy",)
    if kind is PromotionKind.PRODUCT_BONUS and not skus:
        skus = ("sku3",)
    return Promotion(
        f"p{i}",
        f"Promotion {i}",
        kind,
        date(2027, 1, draw(st.integers(1, 5))),
        date(2027, 1, draw(st.integers(5, 31))),
        multiplier=draw(multipliers),
        extra_rate_percent=draw(rates),
        points_per_unit=draw(per_unit),
        categories=cats,
        skus=skus,
        threshold=draw(cents),
        bonus_points=draw(st.sampled_from([D("1"), D("77"), D("10.5"), D("0.75"), D("500")])),
        coupon=draw(st.sampled_from([None, None, "SPRING-1"])),
        personal=draw(st.booleans()),
    )


@st.composite
def any_program(draw: st.DrawFn) -> Program:
    count = draw(st.integers(0, 5))
    min_points = draw(st.sampled_from([D("0"), D("1"), D("0.50"), D("50")]))
    return dataclasses.replace(
        demo_program(),
        base_rate_percent=draw(rates),
        tiers=draw(st.sampled_from([(), (Tier("Silver", D("15000"), draw(rates)),)])),
        birthday=draw(st.sampled_from([None, BirthdayWindow(draw(rates), 2, 1)])),
        promotions=tuple(draw(any_promotion(i)) for i in range(count)),
        exclusions=Exclusions(
            discounted_lines=draw(st.booleans()),
            points_paid_part=draw(st.booleans()),
            categories=draw(st.sampled_from([(), ("tobacco",), ("tobacco", "coffee")])),
        ),
        spend=SpendRules(
            max_percent_of_check=draw(st.sampled_from([D("0"), D("30"), D("33.3"), D("100")])),
            max_percent_per_line=draw(st.sampled_from([D("0"), D("50"), D("99.99"), D("100")])),
            min_paid_in_money=draw(st.sampled_from([D("0"), D("1.00"), D("0.5")])),
            min_points=min_points,
            max_points=draw(st.sampled_from([None, min_points + 300, D("1000.5")])),
            code_threshold=draw(st.sampled_from([None, D("500"), D("0.01")])),
            excluded_categories=draw(st.sampled_from([(), ("tobacco",)])),
        ),
        rounding=draw(st.sampled_from(list(Rounding))),
        precision=draw(st.sampled_from(list(Precision))),
    )


@st.composite
def any_member(draw: st.DrawFn) -> MemberView | None:
    if draw(st.integers(0, 5)) == 0:
        return None
    return MemberView(
        "100042",
        draw(st.sampled_from(list(MemberState))),
        draw(cents) * 20,
        draw(st.sampled_from([None, date(1990, 1, 6), date(1992, 2, 29), date(1990, 6, 6)])),
        draw(st.one_of(cents, st.integers(-500, 100_000).map(D), st.just(D("-12.50")))),
        draw(st.sampled_from([(), ("p0", "p2"), ("p1", "p3", "p4")])),
    )


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    any_program(),
    st.lists(any_line(), min_size=1, max_size=12),
    any_member(),
    st.one_of(cents, st.integers(0, 3000).map(D)),
    st.sampled_from([(), ("spring 1",), ("SPRING-1", "nope")]),
    st.sampled_from([JAN_5, JAN_5 + timedelta(days=2), datetime(2027, 2, 27, 9, tzinfo=MSK)]),
)
def test_the_core_gives_what_plain_decimal_arithmetic_gives(
    program: Program,
    lines: list[Line],
    member: MemberView | None,
    requested: Decimal,
    coupons: tuple[str, ...],
    now: datetime,
) -> None:
    fast = calculate(program, lines, member, requested, list(coupons), now)
    slow = reference_calculate(program, lines, member, requested, list(coupons), now)
    # The record as text (how every number is written), the numbers, and the fingerprint, each
    # against the dict forms they were written with before.
    assert json.dumps(fast.to_dict()) == json.dumps(reference_record(slow))
    assert fast == slow
    assert fast.fingerprint() == reference_fingerprint(slow)
    record, fingerprint = fast.record_json_and_fingerprint()
    assert (json.loads(record), fingerprint) == (fast.to_dict(), fast.fingerprint())
    # The record as the server writes it (stored, and in every calculation's answer): what
    # json.dumps writes for the dict form, and what pydantic writes for it.
    assert record == _compact(reference_record(slow)) == _pydantic(reference_record(slow))


def test_a_record_made_without_init_is_the_record_init_makes() -> None:
    line = thirty_line_check().lines[3]
    fields = {f.name: getattr(line, f.name) for f in dataclasses.fields(LineResult)}
    made = trusted(LineResult, dict(fields))
    assert made == LineResult(**fields) == line
    assert hash(made) == hash(LineResult(**fields))
    assert repr(made) == repr(LineResult(**fields))
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.earn = D("1")  # type: ignore[misc]


decimals = st.one_of(
    st.decimals(allow_nan=False, allow_infinity=False),
    st.decimals(allow_nan=False, allow_infinity=False, places=2),
    st.builds(
        lambda n, e: D(n).scaleb(e),
        st.integers(-(10**30), 10**30),
        st.integers(-12, 6),
    ),
    st.sampled_from([D("-0"), D("-0.00"), D("0E+3"), D("1E+2"), D("100"), D("0.000001")]),
)


@given(decimals)
def test_numbers_are_written_as_format_and_normalize_write_them(value: Decimal) -> None:
    plain = plain_text(value)
    assert plain == format(value, "f")
    assert canonical_text(value, plain) == format(value.normalize(), "f")


@settings(max_examples=200, deadline=None)
@given(st.lists(decimals, min_size=13, max_size=13), st.integers(0, 29))
def test_any_numbers_in_a_calculation_give_the_record_and_fingerprint_the_dict_forms_gave(
    numbers: list[Decimal], index: int
) -> None:
    # A calculation read back from storage may hold numbers written any way (an exponent, -0,
    # 30 digits): the one-pass record and fingerprint still match the dict forms.
    calc = thirty_line_check()
    changed = with_line(
        calc,
        index,
        quantity=numbers[0],
        unit_price=numbers[1],
        discount=numbers[2],
        amount=numbers[3],
        spend_cap=numbers[4],
        spend=numbers[5],
        earn_base=numbers[6],
        rate_percent=numbers[7],
        earn=numbers[8],
    )
    odd = dataclasses.replace(
        changed,
        requested_spend=numbers[9],
        available_points=numbers[10],
        earn_total=numbers[11],
        rate_percent=numbers[12],
    )
    assert json.dumps(odd.to_dict()) == json.dumps(reference_record(odd))
    assert odd.fingerprint() == reference_fingerprint(odd)
    assert odd.record_json_and_fingerprint()[0] == _compact(reference_record(odd))
