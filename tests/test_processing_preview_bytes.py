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


PINNED_ANSWER = "c9319cfcbb7723fa10b296f04529a5cca1827492d066b9e9f54a1d22561dc974"
