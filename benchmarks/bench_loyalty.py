"""Loyalty core figures: how long a check calculation takes, against summing its lines."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from benchmarks.result import Result, median, ratio_result, timings
from loyalty.check import Line, MemberState, MemberView, calculate
from loyalty.program import Program, Promotion, PromotionKind, demo_program

MAX_RATIO = 300.0
REPEAT = 2000


def _program() -> Program:
    # The demo program plus a category bonus and a check bonus, so every promotion kind runs.
    demo = demo_program()
    extra = (
        Promotion(
            "dairy",
            "Dairy +2 %",
            PromotionKind.CATEGORY_BONUS,
            date(2027, 1, 1),
            date(2027, 1, 31),
            categories=("dairy",),
            extra_rate_percent=Decimal("2"),
        ),
        Promotion(
            "coffee",
            "Coffee +10 per pack",
            PromotionKind.PRODUCT_BONUS,
            date(2027, 1, 1),
            date(2027, 1, 31),
            skus=("sku-3",),
            points_per_unit=Decimal("10"),
        ),
        Promotion(
            "big",
            "Big check",
            PromotionKind.CHECK_BONUS,
            date(2027, 1, 1),
            date(2027, 1, 31),
            threshold=Decimal("3000"),
            bonus_points=Decimal("100"),
        ),
    )
    return dataclasses.replace(demo, promotions=demo.promotions + extra)


def _lines() -> list[Line]:
    categories = ["grocery", "dairy", "tobacco", "bakery", "coffee"]
    return [
        Line(
            sku=f"sku-{i}",
            name=f"Item {i}",
            category=categories[i % len(categories)],
            quantity=Decimal(1 + i % 3) if i % 4 else Decimal("0.735"),
            unit_price=Decimal(f"{49 + i * 37}.{i * 7 % 100:02d}"),
            discounted=i % 7 == 0,
        )
        for i in range(30)
    ]


def calc_check_30_lines() -> Result:
    """Median time to calculate a 30-line check with x2, category, product and check bonuses."""
    program = _program()
    lines = _lines()
    member = MemberView(
        "100042", MemberState.ACTIVE, Decimal("20000"), date(1990, 1, 6), Decimal("5000")
    )
    now = datetime(2027, 1, 5, 12, tzinfo=timezone(timedelta(hours=3)))  # x2 and birthday on
    requested = Decimal("1500")

    def work() -> object:
        return calculate(program, lines, member, requested, ["SPRING2026"], now)

    def floor() -> object:
        return sum((line.quantity * line.unit_price for line in lines), Decimal(0))

    check = calculate(program, lines, member, requested, ["SPRING2026"], now)
    assert check.promotions and check.spend_applied > 0  # the benchmark measures a full check
    value = median(timings(work, REPEAT, warmup=50))
    base = median(timings(floor, REPEAT, warmup=50))
    return ratio_result(
        "calc_check_30_lines",
        value,
        base,
        "s",
        f"ratio <= {MAX_RATIO:.0f} (measured 100–180 here): the floor, 30 Decimal multiply-adds"
        " (~4 µs), is the least any calculation does; 300x keeps a full calculation near 1 ms,"
        " under 1 % of the 100 ms a cashier perceives as instant when a preview reruns on every"
        " scanned line, with headroom for a shared 2-core till yet failing on a 2x regression",
        MAX_RATIO,
        extra={"value_ms": round(value * 1000, 4), "floor_us": round(base * 1e6, 3)},
    )


BENCHMARKS: dict[str, Callable[[], Result]] = {"calc_check_30_lines": calc_check_30_lines}
