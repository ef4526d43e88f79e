"""The hold's answer and a reused calculation are written as text, not models (issue 13: one
serialisation of each answer): the text must be exactly what the models would have written."""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from processing import wire
from processing.server import checks, holds, pricing
from processing.server.previews import Answered
from tests.support.thirty_lines import (
    COUPONS,
    JAN_5,
    MEMBER,
    REQUESTED,
    thirty_line_program,
    thirty_lines,
)

_SNEAKY = '"computed_at":"2027-01-05T12:00:00+03:00" Молоко «Простоквашино» \\ "x"'
"""A line name that spells the very key a later moment rewrites, in the record and the answer."""


def _answered(now: int, name: str = "Item 0") -> Answered:
    lines = thirty_lines()
    lines[0] = dataclasses.replace(lines[0], name=name)
    calc = pricing.run(thirty_line_program(), lines, MEMBER, REQUESTED, COUPONS, now, JAN_5.tzinfo)
    answered = Answered.of("check-1", calc)
    assert json.loads(answered.record_json) == calc.to_dict()  # what the check row keeps
    return answered


def test_a_calculation_moved_to_another_moment_is_the_one_made_then() -> None:
    noon = int(JAN_5.timestamp())
    for name in ("Item 0", _SNEAKY):
        made_at_noon, made_later = _answered(noon, name), _answered(noon + 7, name)
        moved = made_at_noon.at(made_later.computed_at)
        assert moved.computed_at != made_at_noon.computed_at
        assert moved.answer_json == made_later.answer_json
        assert moved.record_json == made_later.record_json
        assert moved.outcome == made_later.outcome
        # The name is written as it was, rewritten nowhere.
        assert json.loads(moved.record_json)["lines"][0]["name"] == name
        # The stored record is the core's record, as the answer carries it.
        assert json.loads(moved.record_json) == json.loads(moved.answer_json)["detail"]
        assert made_at_noon.at(made_at_noon.computed_at) is made_at_noon


check_ids = st.from_regex(r"[A-Za-z0-9_.:-]{1,64}", fullmatch=True)
points = st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(check_id=check_ids, held=points, expires=st.integers(0, 4_102_444_800))
def test_the_hold_answer_is_what_the_model_writes(
    check_id: str, held: Decimal, expires: int
) -> None:
    calculation = _answered(int(JAN_5.timestamp()), _SNEAKY).answer_json
    text = holds._hold_answer(check_id, held, expires, calculation)
    points_text = format(held, "f")
    model = wire.Hold(
        check_id=check_id,
        hold_id=check_id,
        points_held=held,
        expires_at=checks.as_datetime(expires),
        calculation=wire.Calculation.model_validate_json(calculation),
        message=wire.UserMessage(
            key="hold",
            params={"points": points_text},
            text=f"{points_text} points are reserved for this check.",
        ),
    )
    assert text == model.model_dump_json()
