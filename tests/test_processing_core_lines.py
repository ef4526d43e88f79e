"""The core's lines made from wire lines without Line's own checks (pricing.core_lines) are the
very lines Line() makes, and a line Line() refuses is refused in the same words."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loyalty.check import Line
from loyalty.errors import LoyaltyError
from loyalty.money import quantize_money
from processing import wire
from processing.server import pricing
from processing.server.problems import ApiError

money = st.from_regex(r"-?\d{1,6}(\.\d{1,2})?", fullmatch=True)
quantity = st.from_regex(r"\d{1,3}(\.\d{1,3})?", fullmatch=True)
texts = st.text(max_size=12)


@st.composite
def wire_lines(draw: st.DrawFn) -> wire.Line:
    price, count = Decimal(draw(money)), Decimal(draw(quantity))
    gross = quantize_money(price * count)
    # Mostly an amount the server accepts (0 to gross), sometimes one it refuses.
    amount = draw(
        st.one_of(
            st.just(gross),
            st.decimals(min_value=0, max_value=max(gross, 0), places=2),
            st.builds(Decimal, money),
        )
    )
    return wire.Line.model_validate_json(
        wire.Line(
            sku=draw(st.none() | texts),
            barcode=draw(st.none() | texts),
            name=draw(texts),
            category=draw(texts),
            price=price,
            quantity=count,
            amount=Decimal(format(amount, "f")),
            discounted=draw(st.booleans()),
            payable_with_points=draw(st.booleans()),
        ).model_dump_json()
    )


def _validated(lines: list[wire.Line], categories: dict[str, str]) -> list[Line] | str:
    """What core_lines made before, through Line() (its checks): lines, or the refusal."""
    out: list[Line] = []
    for i, line in enumerate(lines):
        gross = quantize_money(line.price * line.quantity)
        if line.amount < 0 or line.amount > gross:
            return f"amount {i}"
        category = categories.get(line.barcode or "") or categories.get(line.sku or "")
        try:
            out.append(
                Line(
                    sku=line.sku or line.barcode or "",
                    name=line.name,
                    category=category if category is not None else line.category,
                    quantity=line.quantity,
                    unit_price=line.price,
                    discounted=line.discounted,
                    discount=gross - line.amount,
                    payable_with_points=line.payable_with_points,
                )
            )
        except LoyaltyError as exc:
            return exc.reason
    return out


@settings(max_examples=400, deadline=None)
@given(lines=st.lists(wire_lines(), min_size=1, max_size=4), mapped=st.booleans())
def test_core_lines_are_the_lines_line_makes(lines: list[wire.Line], mapped: bool) -> None:
    categories = {line.barcode: "catalog" for line in lines if line.barcode and mapped}
    expected = _validated(lines, categories)
    try:
        made: list[Line] | str = pricing.core_lines(None, lines, categories)  # type: ignore[arg-type]
    except ApiError as error:
        made = (
            error.message
            if not error.message.startswith("Line ")
            else f"amount {error.details['line']}"
        )
    assert made == expected
    if isinstance(made, list):
        assert [repr(line) for line in made] == [repr(line) for line in expected]
        assert [hash(line) for line in made] == [hash(line) for line in expected]
        assert all(line.discount.as_tuple().exponent == -2 for line in made)


def test_a_line_line_refuses_is_refused_in_its_words() -> None:
    free = wire.Line(
        name="Вода", price=Decimal("10.00"), quantity=Decimal("0"), amount=Decimal("0")
    )
    with pytest.raises(ApiError) as caught:
        pricing.core_lines(None, [free], {})  # type: ignore[arg-type]
    assert caught.value.message == "The quantity of 'Вода' must be above zero."
    assert caught.value.details == {"line": 0}
    # A negative price whose line rounds to nothing passes the amount's test, not Line's.
    odd = wire.Line(
        name="Вода", price=Decimal("-0.01"), quantity=Decimal("0.001"), amount=Decimal("0")
    )
    with pytest.raises(ApiError) as negative:
        pricing.core_lines(None, [odd], {})  # type: ignore[arg-type]
    assert negative.value.message == "The price and discount of 'Вода' must not be negative."
