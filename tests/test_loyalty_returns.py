"""Returns take back earned points and give back spent points, per line, pro rata."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from loyalty.calculation import Calculation
from loyalty.check import Line, MemberState, MemberView, calculate
from loyalty.errors import ReturnError
from loyalty.program import demo_program
from loyalty.returns import calculate_return

D = Decimal
NOW = datetime(2026, 11, 23, 12, tzinfo=timezone(timedelta(hours=3)))


def original() -> Calculation:
    # 3 × 100.00 milk + 1 × 700.00 = 1 000.00; spend 300 (30 %) split by caps 300 : 700 →
    # 90 : 210. Earn: milk (300 − 90) × 3 % = 6.3 → 6; the other (700 − 210) × 3 % = 14.7 → 14.
    lines = [
        Line("milk", "Milk", "dairy", D("3"), D("100.00")),
        Line("kettle", "Kettle", "home", D("1"), D("700.00")),
    ]
    member = MemberView("100042", MemberState.ACTIVE, D("0"), None, D("1000"))
    return calculate(demo_program(), lines, member, D("300"), [], NOW)


def test_the_original_check() -> None:
    check = original()
    assert [x.spend for x in check.lines] == [D("90.00"), D("210.00")]
    assert [x.earn for x in check.lines] == [D("6"), D("14")]


def test_partial_returns_are_pro_rata_and_the_last_unit_takes_the_remainder() -> None:
    check = original()
    # One milk of three: earn 6 × 1/3 = 2; spend 90 × 1/3 = 30; money (300 − 90) / 3 = 70.
    first = calculate_return(check, {0: D("1")})
    assert (first.earn_taken_back, first.spend_given_back, first.money_refund) == (2, 30, 70)
    # The second: cumulative 6 × 2/3 = 4 → 2 more; 60 → 30 more.
    second = calculate_return(check, {0: D("1")}, {0: D("1")})
    assert (second.earn_taken_back, second.spend_given_back) == (2, 30)
    # The last: whatever is left of 6 and 90.
    third = calculate_return(check, {0: D("1")}, {0: D("2")})
    assert (third.earn_taken_back, third.spend_given_back) == (2, 30)


def test_uneven_split_never_moves_more_than_the_line() -> None:
    check = original()
    # The kettle returned in halves (as if weighed): earn 14 × 0.5 = 7, then the other 7.
    halves = [
        calculate_return(check, {1: D("0.5")}),
        calculate_return(check, {1: D("0.5")}, {1: D("0.5")}),
    ]
    assert sum(h.earn_taken_back for h in halves) == D("14")
    assert sum(h.spend_given_back for h in halves) == D("210.00")


def test_full_return_restores_the_totals() -> None:
    check = original()
    result = calculate_return(check, {0: D("3"), 1: D("1")})
    assert result.earn_taken_back == check.earn_total == D("20")
    assert result.spend_given_back == check.spend_applied == D("300")
    assert result.money_refund == check.pay_in_money


@pytest.mark.parametrize(
    ("returned", "before", "words"),
    [
        ({5: D("1")}, None, "no line 6"),
        ({0: D("0")}, None, "above zero"),
        ({0: D("4")}, None, "Only 3"),
        ({0: D("2")}, {0: D("2")}, "Only 1"),
    ],
)
def test_impossible_returns_are_refused(
    returned: dict[int, Decimal], before: dict[int, Decimal] | None, words: str
) -> None:
    with pytest.raises(ReturnError, match=words):
        calculate_return(original(), returned, before)
