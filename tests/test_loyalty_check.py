"""Worked examples of the program rules in PRODUCT.md, every number computed by hand."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from loyalty.calculation import Calculation
from loyalty.check import Line, MemberState, MemberView, calculate
from loyalty.errors import CheckError, InvalidAmount
from loyalty.money import Precision, Rounding
from loyalty.program import (
    Program,
    Promotion,
    PromotionKind,
    SpendRules,
    demo_program,
)

MSK = timezone(timedelta(hours=3))
NOV_23 = datetime(2026, 11, 23, 12, 0, tzinfo=MSK)
D = Decimal


def member(
    lifetime: str = "0",
    available: str = "0",
    state: MemberState = MemberState.ACTIVE,
    birthday: date | None = None,
    offers: tuple[str, ...] = (),
) -> MemberView:
    return MemberView("100042", state, D(lifetime), birthday, D(available), offers)


def line(price: str, category: str = "grocery", qty: str = "1", **kw: object) -> Line:
    return Line(f"sku-{category}-{price}", f"{category} item", category, D(qty), D(price), **kw)  # type: ignore[arg-type]


def calc(
    lines: list[Line],
    who: MemberView | None = None,
    spend: str = "0",
    now: datetime = NOV_23,
    program: Program | None = None,
    coupons: tuple[str, ...] = (),
) -> Calculation:
    return calculate(
        program or demo_program(), lines, who or member(), D(spend), list(coupons), now
    )


def test_three_percent_of_a_thousand_is_thirty_points() -> None:
    # 1 000.00 × 3 % = 30.00 points.
    result = calc([line("1000.00")])
    assert result.earn_total == D("30")
    assert result.tier == "Base"
    assert result.customer_message == "You will get 30 points."


def test_spend_is_capped_at_thirty_percent_and_the_paid_part_earns_nothing() -> None:
    # Cap = min(30 % of 1 000 = 300, line cap 1 000, 1 000 − 1.00 paid in money = 999,
    # available 1 000) = 300. Earn on 1 000 − 300 = 700 × 3 % = 21.
    result = calc([line("1000.00")], member(available="1000"), spend="1000")
    assert result.spendable_max == D("300")
    assert result.spend_applied == D("300")
    assert result.pay_in_money == D("700.00")
    assert result.lines[0].earn_base == D("700.00")
    assert result.earn_total == D("21")
    assert any("at most 300" in note for note in result.notes)


def test_spend_is_capped_by_the_available_balance() -> None:
    # 30 % of 1 000 = 300, but only 120.50 points are available → whole points: 120.
    result = calc([line("1000.00")], member(available="120.50"), spend="500")
    assert result.spend_applied == D("120")


def test_tobacco_earns_nothing_and_takes_no_points() -> None:
    # Lines 1 000 grocery + 500 tobacco = 1 500. Check cap 30 % = 450; tobacco's line cap is 0,
    # so all 450 land on the grocery line. Earn: (1 000 − 450) × 3 % = 16.5 → 16 (down).
    result = calc([line("1000.00"), line("500.00", "tobacco")], member(available="999"), "450")
    grocery, tobacco = result.lines
    assert result.spend_applied == D("450")
    assert (grocery.spend, tobacco.spend) == (D("450.00"), D("0.00"))
    assert tobacco.earn == 0 and "tobacco" in tobacco.excluded_reason
    assert grocery.earn == D("16")
    assert result.earn_total == D("16")


def test_discounted_line_earns_nothing() -> None:
    # 1 000 at full price earns 30; the 500 line sold at a discount earns 0.
    result = calc([line("1000.00"), line("500.00", discounted=True)])
    assert [x.earn for x in result.lines] == [D("30"), D("0")]
    discounted_by_amount = calc([line("500.00", discount=D("50.00"))])
    assert discounted_by_amount.lines[0].amount == D("450.00")
    assert discounted_by_amount.earn_total == 0


@pytest.mark.parametrize(
    ("today", "earn"),
    [
        (date(2026, 11, 22), "30"),  # 3 days before 25 November: 3 % of 1 000 = 30
        (date(2026, 11, 23), "140"),  # 2 days before: 14 % of 1 000 = 140
        (date(2026, 11, 25), "140"),  # the birthday itself: 140
        (date(2026, 11, 26), "30"),  # the day after: back to 30
    ],
)
def test_birthday_window(today: date, earn: str) -> None:
    now = datetime.combine(today, NOV_23.timetz())
    result = calc([line("1000.00")], member(birthday=date(1990, 11, 25)), now=now)
    assert result.earn_total == D(earn)
    assert result.birthday is (earn == "140")


def test_birthday_window_crosses_new_year() -> None:
    # Birthday 1 January; 31 December is one day before → 14 % of 1 000 = 140.
    now = datetime(2026, 12, 31, 12, tzinfo=MSK)
    assert calc([line("1000.00")], member(birthday=date(1985, 1, 1)), now=now).earn_total == 140


@pytest.mark.parametrize(
    ("day", "earn"),
    [(5, "60"), (1, "60"), (10, "60"), (11, "30")],  # x2: 3 % × 2 = 6 % of 1 000 = 60
)
def test_double_points_from_first_to_tenth_of_january(day: int, earn: str) -> None:
    result = calc([line("1000.00")], now=datetime(2027, 1, day, 12, tzinfo=MSK))
    assert result.earn_total == D(earn)
    assert [p.promo_id for p in result.promotions] == (["new-year-x2"] if earn == "60" else [])
    if result.promotions:
        assert "x2" in result.promotions[0].reason
        assert result.promotions[0].points == D("30.00")  # the extra 3 % of 1 000


@pytest.mark.parametrize(
    ("lifetime", "tier", "earn"),
    [
        ("14999.99", "Base", "30"),  # 3 % of 1 000
        ("15000", "Silver", "50"),  # 5 % of 1 000
        ("50000", "Gold", "70"),  # 7 % of 1 000
    ],
)
def test_tiers_by_lifetime_spend(lifetime: str, tier: str, earn: str) -> None:
    result = calc([line("1000.00")], member(lifetime=lifetime))
    assert (result.tier, result.earn_total) == (tier, D(earn))


def test_minimum_paid_in_money() -> None:
    # Points may pay 100 % here, but 1.00 must be paid in money: 100.00 − 1.00 = 99 points.
    # Earn on the 1.00 paid in money: 0.03 → 0 whole points.
    program = dataclasses.replace(
        demo_program(),
        spend=SpendRules(max_percent_of_check=D("100"), min_paid_in_money=D("1.00")),
    )
    result = calc([line("100.00")], member(available="500"), "500", program=program)
    assert result.spend_applied == D("99")
    assert result.pay_in_money == D("1.00")
    assert result.earn_total == 0


def test_confirmation_code_above_five_hundred_points() -> None:
    # 30 % of 2 000 = 600 > 500 → code; exactly 500 is not above the threshold.
    big = calc([line("2000.00")], member(available="1000"), "600")
    assert (big.spend_applied, big.code_required) == (D("600"), True)
    exact = calc([line("2000.00")], member(available="1000"), "500")
    assert exact.code_required is False


def test_members_not_in_good_standing_cannot_spend() -> None:
    earn_only = calc([line("1000.00")], member(available="500", state=MemberState.EARN_ONLY), "100")
    assert (earn_only.spend_applied, earn_only.spendable_max, earn_only.earn_total) == (0, 0, 30)
    blocked = calc([line("1000.00")], member(available="500", state=MemberState.BLOCKED), "100")
    assert (blocked.spend_applied, blocked.earn_total) == (0, 0)
    assert blocked.customer_message == "Points are not available for this account."


def test_below_the_minimum_spend_nothing_is_spent() -> None:
    # The demo needs at least 1 point; 0.60 rounds down to 0 whole points.
    assert calc([line("1000.00")], member(available="500"), "0.60").spend_applied == 0


def test_rounding_never_creates_points() -> None:
    # Three lines of 33.33 at 3 % = 0.9999 each. Down to whole points: 0 each, total 0 —
    # not round(2.9997) = 3 on the total.
    result = calc([line("33.33"), line("33.33"), line("33.33")])
    assert [x.earn for x in result.lines] == [0, 0, 0]
    assert result.earn_total == 0


def test_half_up_hundredths() -> None:
    # 333.33 × 3 % = 9.9999 → 10.00 half-up in hundredths.
    program = dataclasses.replace(
        demo_program(), rounding=Rounding.HALF_UP, precision=Precision.HUNDREDTHS
    )
    assert calc([line("333.33")], program=program).earn_total == D("10.00")


def _promo(**kw: object) -> Promotion:
    base: dict[str, object] = {
        "name": "Promo",
        "starts_on": date(2026, 11, 1),
        "ends_on": date(2026, 11, 30),
    }
    return Promotion(**(base | kw))  # type: ignore[arg-type]


def test_category_and_product_bonus_and_check_bonus() -> None:
    program = dataclasses.replace(
        demo_program(),
        promotions=(
            _promo(
                promo_id="dairy",
                kind=PromotionKind.CATEGORY_BONUS,
                categories=("dairy",),
                extra_rate_percent=D("2"),
            ),
            _promo(
                promo_id="coffee",
                kind=PromotionKind.PRODUCT_BONUS,
                skus=("sku-coffee-300.00",),
                points_per_unit=D("10"),
            ),
            _promo(
                promo_id="big",
                kind=PromotionKind.CHECK_BONUS,
                threshold=D("1500"),
                bonus_points=D("100"),
            ),
        ),
    )
    lines = [line("1000.00", "dairy"), line("300.00", "coffee", qty="2")]
    result = calc(lines, program=program)
    dairy, coffee = result.lines
    # Dairy: 1 000 × (3 + 2) % = 50; coffee: 600 × 3 % = 18 + 2 × 10 = 38.
    # Eligible 1 600 ≥ 1 500 → 100 bonus split 1 000 : 600 → 62.5 : 37.5 → 63 : 37
    # (largest remainder; the tie goes to the first line).
    assert dairy.earn == D("50") + D("63")
    assert coffee.earn == D("38") + D("37")
    assert result.earn_total == D("188")
    assert {p.promo_id for p in result.promotions} == {"dairy", "coffee", "big"}


def test_coupon_and_personal_promotions() -> None:
    program = dataclasses.replace(
        demo_program(),
        promotions=(
            _promo(
                promo_id="c", kind=PromotionKind.MULTIPLIER, multiplier=D("3"), coupon="TRIPLE3"
            ),
            _promo(
                promo_id="p", kind=PromotionKind.CHECK_BONUS, bonus_points=D("5"), personal=True
            ),
        ),
    )
    plain = calc([line("1000.00")], program=program, coupons=("WRONG1",))
    assert plain.earn_total == 30  # no coupon, no offer: 3 %
    assert [c.code for c in plain.rejected_coupons] == ["WRONG1"]
    # Coupon 'triple-3' → x3 = 9 % of 1 000 = 90; the personal offer adds 5.
    both = calc([line("1000.00")], member(offers=("p",)), program=program, coupons=("triple-3",))
    assert both.earn_total == D("95")
    assert both.rejected_coupons == ()


def test_non_member_preview() -> None:
    result = calculate(demo_program(), [line("1000.00")], None, D("100"), [], NOV_23)
    assert (result.member_id, result.spend_applied, result.earn_total) == (None, 0, 30)
    assert "Join" in result.customer_message


def test_calculation_round_trips_and_fingerprint_is_stable() -> None:
    first = calc([line("1000.00"), line("500.00", "tobacco")], member(available="999"), "450")
    again = Calculation.from_dict(first.to_dict())
    assert again == first
    assert again.fingerprint() == first.fingerprint()
    later = calc(
        [line("1000.00"), line("500.00", "tobacco")],
        member(available="999"),
        "450",
        now=NOV_23 + timedelta(minutes=3),
    )
    assert later.fingerprint() == first.fingerprint()  # the moment is not part of it
    other = calc([line("1000.00"), line("500.00", "tobacco")], member(available="999"), "400")
    assert other.fingerprint() != first.fingerprint()


def test_bad_input_is_refused() -> None:
    with pytest.raises(CheckError):
        calc([])
    with pytest.raises(CheckError):
        calc([line("1.00")], now=datetime(2026, 11, 23))
    with pytest.raises(CheckError):
        calc([line("1.00")], spend="-1")
    with pytest.raises(InvalidAmount):
        line("1.005")
    with pytest.raises(InvalidAmount):
        line("1.00", qty="0")
    with pytest.raises(TypeError):
        Line("1", "x", "c", D("1"), 1.5)  # type: ignore[arg-type]


def test_calculation_from_a_bad_dict_says_which_field() -> None:
    data = calc([line("1000.00")]).to_dict()
    data["earn_total"] = 30.0
    with pytest.raises(CheckError, match="earn_total"):
        Calculation.from_dict(data)


def test_fingerprint_ignores_how_a_decimal_is_written() -> None:
    # The wire may carry '2.000' where the till typed '2': the same check, the same fingerprint.
    a = calc([line("100.00", qty="2")], member(available="50"), "10")
    b = calc([line("100.00", qty="2.000")], member(available="50.00"), "10.00")
    assert a.fingerprint() == b.fingerprint()


def test_all_tobacco_check_says_points_cannot_pay() -> None:
    result = calc([line("500.00", "tobacco")], member(available="100"), "50")
    assert result.spend_applied == 0
    assert "Points cannot pay for this check." in result.notes


def test_record_names_every_field_and_the_fingerprint_is_pinned() -> None:
    # to_dict and fingerprint are written out field by field (speed): a field added to the
    # record must be added there too, and the fingerprint tills hold and checks stored must
    # keep hashing the same text.
    program = dataclasses.replace(
        demo_program(),
        promotions=(
            _promo(promo_id="x3", kind=PromotionKind.MULTIPLIER, multiplier=D("3")),
            _promo(promo_id="big", kind=PromotionKind.CHECK_BONUS, bonus_points=D("5")),
        ),
    )
    result = calc(
        [line("1000.00"), line("500.00", "tobacco")],
        member(available="999"),
        "450",
        program=program,
        coupons=("nope",),
    )
    data = result.to_dict()
    assert list(data) == [f.name for f in dataclasses.fields(Calculation)]
    assert list(data["lines"][0]) == [f.name for f in dataclasses.fields(result.lines[0])]
    assert list(data["promotions"][0]) == [f.name for f in dataclasses.fields(result.promotions[0])]
    assert list(data["rejected_coupons"][0]) == ["code", "reason"]
    assert result.fingerprint() == PINNED_FINGERPRINT


PINNED_FINGERPRINT = "3df42138cf571315f15810d0799b35d83d78ce3296ec420e0c2210a91a90114a"
"""The fingerprint of the check above as the reflective serialisation gave it before."""
