"""A line the store does not let points pay for (``payable_with_points: false``) gets no
share of the spend on the server, and a line without the flag serialises as before it existed
(stored Idempotency hashes of earlier bodies still match)."""

from __future__ import annotations

import json
from decimal import Decimal

from processing import wire
from processing.client import ProcessingClient

ANNA = "100001"


def _line(amount: str, payable: bool = True) -> wire.Line:
    return wire.Line(
        name="x",
        category="dairy",
        price=Decimal(amount),
        quantity=Decimal(1),
        amount=Decimal(amount),
        payable_with_points=payable,
    )


def test_the_flag_is_left_out_when_true_and_kept_when_false() -> None:
    plain = json.loads(_line("10.00").model_dump_json())
    assert "payable_with_points" not in plain
    assert plain == json.loads(
        wire.Line(
            name="x",
            category="dairy",
            price=Decimal("10.00"),
            quantity=Decimal(1),
            amount=Decimal("10.00"),
        ).model_dump_json()
    )
    assert json.loads(_line("10.00", False).model_dump_json())["payable_with_points"] is False


def test_a_line_not_payable_with_points_takes_no_spend(client: ProcessingClient) -> None:
    calc = client.calculate(
        wire.CheckRequest(
            check_id="c-np",
            member_id=ANNA,
            lines=[_line("500.00"), _line("500.00", payable=False)],
            requested_spend=Decimal("300"),
        )
    )
    assert [line.max_spend for line in calc.lines][1] == 0
    assert [line.spend for line in calc.lines] == [calc.spend, Decimal(0)]
    assert 0 < calc.spend <= calc.lines[0].max_spend
