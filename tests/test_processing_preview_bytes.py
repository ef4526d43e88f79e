"""A preview's answer is the same bytes whatever the core's inner arithmetic: the 30-line check
(tests/support/thirty_lines.py) through the server's wire form and JSON, pinned on main before
the integer core (commit c42f3ab)."""

from __future__ import annotations

import hashlib
import json

from processing import wire
from processing.server import pricing
from processing.server.handling import json_response
from tests.support.thirty_lines import (
    COUPONS,
    JAN_5,
    MEMBER,
    REQUESTED,
    thirty_line_program,
    thirty_lines,
)


def answer() -> bytes:
    now = int(JAN_5.timestamp())
    calc = pricing.run(
        thirty_line_program(), thirty_lines(), MEMBER, REQUESTED, COUPONS, now, JAN_5.tzinfo
    )
    return bytes(json_response(pricing.to_wire("bench-check", calc)).body)


def test_the_preview_answer_of_a_thirty_line_check_is_pinned() -> None:
    body = answer()
    assert hashlib.sha256(body).hexdigest() == PINNED_ANSWER
    # And it reads back as the protocol's model, the detail as the core's record.
    parsed = wire.Calculation.model_validate_json(body)
    assert parsed.fingerprint == json.loads(body)["fingerprint"]
    assert parsed.detail["lines"][29]["index"] == 29


def test_the_wire_form_is_what_model_construct_makes() -> None:
    # to_wire fills the answer models directly (pricing.answer); the models are the ones
    # model_construct would make from the same values, as to_wire made them before.
    calc = pricing.run(
        thirty_line_program(), thirty_lines(), MEMBER, REQUESTED, COUPONS, 1, JAN_5.tzinfo
    )
    made = pricing.to_wire("c-1", calc)
    reference = wire.Calculation.model_construct(
        check_id="c-1",
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
        fingerprint=calc.fingerprint(),
        message=wire.UserMessage.model_construct(
            key="calculation",
            params={"earn": format(calc.earn_total, "f"), "spend": format(calc.spend_applied, "f")},
            text=calc.customer_message,
        ),
        detail=calc.to_dict(),
    )
    assert made == reference
    assert made.model_fields_set == reference.model_fields_set
    assert made.lines[0].model_fields_set == reference.lines[0].model_fields_set
    assert made.message.model_fields_set == reference.message.model_fields_set
    assert made.model_dump_json() == reference.model_dump_json()
    # What answer() relies on: no private attributes, no post-init, extra fields not kept.
    for model in (wire.Calculation, wire.LineResult, wire.UserMessage):
        assert not model.__private_attributes__ and model.__pydantic_post_init__ is None
        assert model.model_config.get("extra") != "allow"
    assert made.model_copy(update={"check_id": "c-2"}).check_id == "c-2"


PINNED_ANSWER = "c9319cfcbb7723fa10b296f04529a5cca1827492d066b9e9f54a1d22561dc974"
