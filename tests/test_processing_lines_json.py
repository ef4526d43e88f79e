"""The stored form of a check's lines, built field by field, is the model's own dump."""

from __future__ import annotations

import json
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from processing import wire
from processing.server.checks import _LINE_FIELDS, lines_json

_text = st.one_of(st.none(), st.text(max_size=12))
_money = st.decimals(min_value=Decimal("-999999"), max_value=Decimal("999999"), places=2)
_quantity = st.decimals(min_value=Decimal("0"), max_value=Decimal("9999"), places=3)


@st.composite
def _line(draw: st.DrawFn) -> wire.Line:
    return wire.Line(
        sku=draw(_text),
        barcode=draw(_text),
        name=draw(st.text(max_size=20)),
        category=draw(st.text(max_size=10)),
        price=draw(_money),
        quantity=draw(_quantity),
        amount=draw(_money),
        discounted=draw(st.booleans()),
        payable_with_points=draw(st.booleans()),
    )


@given(st.lists(_line(), min_size=1, max_size=5))
def test_the_lines_are_stored_exactly_as_the_model_dumps_them(lines: list[wire.Line]) -> None:
    assert lines_json(lines) == json.dumps([line.model_dump(mode="json") for line in lines])


def test_every_field_of_a_line_is_written() -> None:
    assert tuple(wire.Line.model_fields) == _LINE_FIELDS
