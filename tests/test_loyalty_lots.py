"""Balance as lots: frozen until activation, first to expire is first spent, expiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from loyalty.errors import InsufficientPoints, InvalidAmount
from loyalty.lots import (
    Lot,
    apply_taken,
    balance_of,
    consume_fifo,
    expire,
    given_back_lot,
    new_lot,
    take_back,
)
from loyalty.program import demo_program

T0 = datetime(2026, 1, 1, 12, tzinfo=UTC)
D = Decimal


def day(n: int) -> datetime:
    return T0 + timedelta(days=n)


def lots() -> list[Lot]:
    program = demo_program()  # frozen 14 days, then 365 days to expire
    return [
        new_lot("a", D("100"), day(0), program),  # active day 14, expires day 379
        new_lot("b", D("50"), day(10), program),  # active day 24, expires day 389
        new_lot("c", D("30"), day(100), program),  # active day 114, expires day 479
    ]


def test_new_lot_dates_follow_the_program() -> None:
    lot = lots()[0]
    assert lot.active_from == day(14)
    assert lot.expires_at == day(14 + 365)


def test_balance_splits_available_frozen_and_expiring() -> None:
    # Day 20: a (100) is active; b (50) is frozen until day 24; c not earned yet counts frozen
    # until day 114 (the lot list is what the ledger holds at that moment).
    balance = balance_of(lots(), day(20), expiring_within_days=30)
    assert balance.available == D("100")
    assert [(f.amount, f.active_from) for f in balance.frozen] == [
        (D("50"), day(24)),
        (D("30"), day(114)),
    ]
    assert balance.expiring_soon is None
    assert balance.total == D("180")


def test_expiring_soon_shows_amount_and_first_date() -> None:
    # Day 360: a expires day 379 (within 30 days), b on day 389 (also within), c on day 479.
    balance = balance_of(lots(), day(360), expiring_within_days=30)
    assert balance.available == D("180")
    assert balance.expiring_soon is not None
    assert balance.expiring_soon.amount == D("150")
    assert balance.expiring_soon.first_expires_at == day(379)


def test_consume_takes_the_first_to_expire_first() -> None:
    # Day 200, all active. 120 points: 100 from a, 20 from b.
    assert consume_fifo(lots(), D("120"), day(200)) == [("a", D("100")), ("b", D("20"))]
    assert consume_fifo(lots(), D("0"), day(200)) == []


def test_consume_never_touches_frozen_or_expired_points() -> None:
    with pytest.raises(InsufficientPoints) as caught:
        consume_fifo(lots(), D("101"), day(20))  # only a (100) is active on day 20
    assert (caught.value.requested, caught.value.available) == (D("101"), D("100"))
    # Day 380: a has expired (day 379); b and c remain: 80.
    assert consume_fifo(lots(), D("80"), day(380)) == [("b", D("50")), ("c", D("30"))]
    assert expire(lots(), day(380)) == [("a", D("100"))]


def test_apply_taken_reduces_remaining() -> None:
    after = apply_taken(lots(), consume_fifo(lots(), D("120"), day(200)))
    assert [lot.remaining for lot in after] == [D("0"), D("30"), D("30")]
    assert balance_of(after, day(200)).available == D("60")
    with pytest.raises(InvalidAmount):
        apply_taken(lots(), [("a", D("101"))])


def test_take_back_starts_with_the_lot_earned_and_reports_a_shortfall() -> None:
    # Return on day 30 of the check that earned lot b (50): take back 70 → 50 from b, then
    # 20 from a (active); nothing short.
    assert take_back(lots(), "b", D("70"), day(30)) == ([("b", D("50")), ("a", D("20"))], D("0"))
    # Taking back 200 when 150 are reachable leaves 50 short (c is frozen and not the source).
    taken, short = take_back(lots(), "b", D("200"), day(30))
    assert taken == [("b", D("50")), ("a", D("100"))]
    assert short == D("50")


def test_given_back_points_are_active_at_once() -> None:
    lot = given_back_lot("r1", D("40"), day(50), demo_program())
    assert lot.is_active(day(50))
    assert lot.expires_at == day(50 + 365)
    with pytest.raises(InvalidAmount):
        new_lot("x", D("0"), day(0), demo_program())
