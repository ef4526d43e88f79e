"""A fixed 30-line check that runs every promotion kind (the benchmark's check, pinned here
so a change to the benchmark cannot move what the tests hold)."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from loyalty.calculation import Calculation
from loyalty.check import Line, MemberState, MemberView, calculate
from loyalty.program import Program, Promotion, PromotionKind, demo_program

D = Decimal
MSK = timezone(timedelta(hours=3))
JAN_5 = datetime(2027, 1, 5, 12, tzinfo=MSK)  # x2 running and a 6 January birthday's window
MEMBER = MemberView("100042", MemberState.ACTIVE, D("20000"), date(1990, 1, 6), D("5000"))
REQUESTED = D("1500")
COUPONS = ("SPRING2026",)


def thirty_line_program() -> Program:
    """The demo program plus a category, a product and a check bonus: every kind runs."""
    demo = demo_program()
    extra = (
        Promotion(
            "dairy",
            "Dairy +2 %",
            PromotionKind.CATEGORY_BONUS,
            date(2027, 1, 1),
            date(2027, 1, 31),
            categories=("dairy",),
            extra_rate_percent=D("2"),
        ),
        Promotion(
            "coffee",
            "Coffee +10 per pack",
            PromotionKind.PRODUCT_BONUS,
            date(2027, 1, 1),
            date(2027, 1, 31),
            skus=("sku-3",),
            points_per_unit=D("10"),
        ),
        Promotion(
            "big",
            "Big check",
            PromotionKind.CHECK_BONUS,
            date(2027, 1, 1),
            date(2027, 1, 31),
            threshold=D("3000"),
            bonus_points=D("100"),
        ),
    )
    return dataclasses.replace(demo, promotions=demo.promotions + extra)


def thirty_lines() -> list[Line]:
    categories = ["grocery", "dairy", "tobacco", "bakery", "coffee"]
    return [
        Line(
            sku=f"sku-{i}",
            name=f"Item {i}",
            category=categories[i % len(categories)],
            quantity=D(1 + i % 3) if i % 4 else D("0.735"),
            unit_price=D(f"{49 + i * 37}.{i * 7 % 100:02d}"),
            discounted=i % 7 == 0,
        )
        for i in range(30)
    ]


def thirty_line_check() -> Calculation:
    return calculate(thirty_line_program(), thirty_lines(), MEMBER, REQUESTED, COUPONS, JAN_5)


def with_line(calc: Calculation, index: int, **fields: Any) -> Calculation:
    """``calc`` with ``fields`` of its line ``index`` replaced (the rest as it is)."""
    line = dataclasses.replace(calc.lines[index], **fields)
    return dataclasses.replace(calc, lines=(*calc.lines[:index], line, *calc.lines[index + 1 :]))
