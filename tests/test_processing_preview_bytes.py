"""A preview's answer is the same bytes whatever the core's inner arithmetic and however it is
written: the 30-line check (tests/support/thirty_lines.py) through the server's answer, pinned on
main before the integer core (commit c42f3ab); and the answer written by hand is what pydantic
writes for the protocol's model, for any strings and numbers."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from loyalty.calculation import Calculation
from processing import wire
from processing.server import pricing
from tests.support.decimal_reference import reference_fingerprint, reference_record
from tests.support.thirty_lines import (
    COUPONS,
    JAN_5,
    MEMBER,
    MSK,
    REQUESTED,
    thirty_line_program,
    thirty_lines,
    with_line,
)


def answer() -> bytes:
    now = int(JAN_5.timestamp())
    calc = pricing.run(thirty_line_program(), thirty_lines(), MEMBER, REQUESTED, COUPONS, now, MSK)
    return pricing.answer_json("bench-check", calc)[0].encode()


def test_the_preview_answer_of_a_thirty_line_check_is_pinned() -> None:
    body = answer()
    assert hashlib.sha256(body).hexdigest() == PINNED_ANSWER
    # And it reads back as the protocol's model, the detail as the core's record.
    parsed = wire.Calculation.model_validate_json(body)
    assert parsed.fingerprint == json.loads(body)["fingerprint"]
    assert parsed.detail["lines"][29]["index"] == 29


def _reference(check_id: str, calc: Calculation) -> str:
    """The answer as pydantic writes the protocol's model, filled the way the route filled it
    before the answer was written by hand, the record in its dict form."""
    return wire.Calculation.model_construct(
        check_id=check_id,
        member_id=calc.member_id or "",
        total=calc.total_amount,
        eligible=calc.eligible_amount,
        earn=calc.earn_total,
        spend=calc.spend_applied,
        max_spend=calc.spendable_max,
        to_pay=calc.pay_in_money,
        code_required=calc.code_required,
        lines=[
            wire.LineResult.model_construct(
                index=ln.index, earn=ln.earn, spend=ln.spend, max_spend=ln.spend_cap
            )
            for ln in calc.lines
        ],
        program_version=calc.program_version,
        fingerprint=reference_fingerprint(calc),
        message=wire.UserMessage.model_construct(
            key="calculation",
            params={"earn": format(calc.earn_total, "f"), "spend": format(calc.spend_applied, "f")},
            text=calc.customer_message,
        ),
        detail=reference_record(calc),
    ).model_dump_json()


def test_the_answer_written_by_hand_is_what_pydantic_writes() -> None:
    calc = pricing.run(thirty_line_program(), thirty_lines(), MEMBER, REQUESTED, COUPONS, 1, MSK)
    written, fingerprint = pricing.answer_json("c-1", calc)
    assert written == _reference("c-1", calc) and fingerprint == calc.fingerprint()
    # The text reads back as the protocol's model, its detail the core's record.
    assert wire.Calculation.model_validate_json(written).detail == calc.to_dict()


# Text a till or a catalog may send: quotes, backslashes, control characters, Cyrillic, emoji.
texts = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12
) | st.sampled_from(['"', "\\", "\n\t\x00\x1f\x7f", "Молоко «Простоквашино»", "Сүт 🥛"])
numbers = st.builds(
    lambda n, e: Decimal(n).scaleb(e), st.integers(-(10**14), 10**14), st.integers(-3, 2)
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(texts, min_size=8, max_size=8),
    st.lists(numbers, min_size=6, max_size=6),
    st.integers(0, 29),
    st.booleans(),
)
def test_any_strings_and_numbers_give_the_answer_pydantic_writes(
    words: list[str], amounts: list[Decimal], index: int, anonymous: bool
) -> None:
    calc = pricing.run(thirty_line_program(), thirty_lines(), MEMBER, REQUESTED, COUPONS, 1, MSK)
    changed = with_line(
        calc,
        index,
        name=words[0],
        sku=words[1],
        category=words[2],
        excluded_reason=words[3],
        promo_ids=(words[4],),
        earn=amounts[0],
        spend=amounts[1],
        spend_cap=amounts[2],
    )
    odd = dataclasses.replace(
        changed,
        member_id=None if anonymous else words[5],
        customer_message=words[6],
        notes=(words[7],),
        total_amount=amounts[3],
        earn_total=amounts[4],
        pay_in_money=amounts[5],
    )
    assert pricing.answer_json(words[5], odd)[0] == _reference(words[5], odd)


PINNED_ANSWER = "c9319cfcbb7723fa10b296f04529a5cca1827492d066b9e9f54a1d22561dc974"
