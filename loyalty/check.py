"""Check calculation: per-line spend allocation and earn under a program snapshot.

The spend is worked out here; the earn per line in :mod:`loyalty.earn`.

The order of the rules, and why:

1. **Spend first.** The most a check can take is the smallest of: the % cap of the check total,
   the sum of per-line caps (0 on categories points cannot pay for and on lines the store
   marks not payable with points), the total less the minimum
   paid in money, the program's max per check and the member's available points — rounded down
   to the program's precision. Below the program's minimum it is zero, and it is zero for
   members who are not active. The spend applied is the request bounded by that maximum,
   allocated to lines in proportion to their caps (to the cent, by largest remainder).
2. **Then earn**, per line, on the amount less the part paid with points (so points never earn
   points), none on discounted lines or excluded categories. Rate = the tier or birthday rate
   times the largest multiplier running, plus extra rates; plus points per unit. Each line is
   rounded as configured, and a check bonus is split over earning lines in whole steps, so the
   total is exactly the sum of the lines: rounding never creates a point.

``now`` is the store's local time, timezone-aware: promotion dates and birthdays are compared
with ``now.date()`` in ``now``'s own offset.

The arithmetic runs on integer hundredths (:mod:`loyalty.compiled`); Decimals come in with the
lines and the member and go out in the :class:`Calculation`, with the same values, written
with the same places, as plain Decimal arithmetic of these rules gives.

Raises :class:`~loyalty.errors.CheckError` for a check that cannot be calculated,
:class:`~loyalty.errors.InvalidAmount` for a bad line, :class:`TypeError` for floats.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import ROUND_DOWN, Decimal

from loyalty.allocate import split
from loyalty.calculation import (
    AppliedPromotion,
    Calculation,
    LineResult,
    RejectedCoupon,
)
from loyalty.compiled import CompiledProgram, cents_down
from loyalty.earn import earn_lines, minor
from loyalty.errors import CheckError
from loyalty.line import Line
from loyalty.member import MemberState, MemberView
from loyalty.money import ZERO, to_decimal
from loyalty.program import Program
from loyalty.rules import member_rate, normalize_coupon, running_promotions

__all__ = [
    "AppliedPromotion",
    "Calculation",
    "Line",
    "LineResult",
    "MemberState",
    "MemberView",
    "calculate",
]

MAX_LINES = 1000
"""More lines than any till check has; guards against a runaway request."""


def calculate(
    program: Program,
    lines: Sequence[Line],
    member: MemberView | None,
    requested_spend: Decimal,
    coupons: Sequence[str],
    now: datetime,
) -> Calculation:
    """Spend allocation and earn for a check; ``member`` None previews a non-member's check.

    Raises CheckError for no lines, too many lines, a naive ``now`` or a negative request.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise CheckError("The check time must carry a timezone.")
    if not lines:
        raise CheckError("The check has no lines.")
    if len(lines) > MAX_LINES:
        raise CheckError(f"The check has more than {MAX_LINES} lines.")
    requested = to_decimal(requested_spend, "requested spend")
    if requested < 0:
        raise CheckError("The points requested must not be negative.")
    day = now.date()
    rate = member_rate(program, member, day)
    promos, rejected = running_promotions(program, member, day, coupons)
    c = program.compiled
    notes: list[str] = []
    amounts = [_amount(line) for line in lines]
    total = sum(amounts)

    caps = _line_caps(c, lines, amounts)
    spendable = _spendable_max(program, c, member, total, caps, notes)
    spend = _applied_spend(program, c, requested, spendable, notes)
    spends = split(spend, caps) if spend > 0 else [0] * len(lines)

    earning = member is None or member.state.can_earn
    if not earning:
        notes.append("This account is blocked: it neither earns nor spends points.")
    results, applied, earn_total = earn_lines(
        program, lines, amounts, caps, spends, rate.percent, promos, earning
    )
    threshold = c.code_threshold
    code_required = threshold is not None and spend * threshold[1] > threshold[0] * 100
    return Calculation(
        program_version=program.version,
        currency=program.currency,
        member_id=None if member is None else member.member_id,
        computed_at=now,
        lines=tuple(results),
        requested_spend=requested,
        available_points=ZERO if member is None else member.available_points,
        total_amount=minor(total),
        earn_total=minor(earn_total),
        spend_applied=minor(spend),
        spendable_max=minor(spendable),
        pay_in_money=minor(total - spend),
        tier=rate.tier.name,
        rate_percent=rate.percent,
        birthday=rate.birthday,
        rounding=program.rounding,
        precision=program.precision,
        code_required=code_required,
        promotions=tuple(applied),
        coupons=tuple(sorted({normalize_coupon(c) for c in coupons})),
        rejected_coupons=tuple(RejectedCoupon(c, why) for c, why in rejected.items()),
        notes=tuple(notes),
        customer_message=_customer_message(program, member, earn_total, spend, earning),
    )


def _amount(line: Line) -> int:
    """:attr:`Line.amount` in hundredths: quantity × price rounded half-up, less the discount."""
    quantity, per = line.quantity.as_integer_ratio()
    price, price_per = line.unit_price.as_integer_ratio()
    numerator, denominator = quantity * price * 100, per * price_per
    gross = (2 * numerator + denominator) // (2 * denominator)  # both >= 0: half-up
    return gross - cents_down(line.discount.as_integer_ratio()) if line.discount else gross


def _line_caps(c: CompiledProgram, lines: Sequence[Line], amounts: list[int]) -> list[int]:
    percent, per = c.max_percent_per_line
    divisor = per * 100
    excluded = c.spend_excluded
    return [
        0
        if line.category in excluded or not line.payable_with_points
        else amount * percent // divisor
        for line, amount in zip(lines, amounts, strict=True)
    ]


def _spendable_max(
    program: Program,
    c: CompiledProgram,
    member: MemberView | None,
    total: int,
    caps: list[int],
    notes: list[str],
) -> int:
    # The limits rounded down to hundredths one by one: the smallest of them rounded down is
    # the smallest of the rounded-down ones.
    rules = program.spend
    if member is None:
        return 0
    if not member.state.can_spend:
        if member.state is MemberState.EARN_ONLY:
            notes.append("This member may earn but not spend points yet.")
        return 0
    percent, per = c.max_percent_of_check
    paid, paid_per = c.min_paid_in_money
    limits = [
        total * percent // (per * 100),
        sum(caps),
        max(0, (total * paid_per - paid * 100) // paid_per),
        max(0, cents_down(member.available_points.as_integer_ratio())),
    ]
    if c.max_points is not None:
        limits.append(cents_down(c.max_points))
    spendable = min(limits) // c.step * c.step
    least, least_per = c.min_points
    if spendable <= 0 or spendable * least_per < least * 100:
        if member.available_points > 0 and spendable <= 0:
            notes.append("Points cannot pay for this check.")
        elif member.available_points > 0:
            least_text = format_points(rules.min_points, program)
            notes.append(f"Points can pay for this check only from {least_text} points.")
        return 0
    return spendable


def _applied_spend(
    program: Program, c: CompiledProgram, requested: Decimal, spendable: int, notes: list[str]
) -> int:
    if requested <= 0:
        return 0
    asked, asked_per = requested.as_integer_ratio()
    if asked * 100 > spendable * asked_per:
        notes.append(
            f"{format_points(requested, program)} points were asked for; at most"
            f" {format_points(minor(spendable), program)} can pay this check."
        )
    spend = min(asked * 100 // asked_per // c.step * c.step, spendable)
    least, least_per = c.min_points
    if spend * least_per < least * 100:
        notes.append(
            f"At least {format_points(program.spend.min_points, program)} points must be spent"
            " at a time."
        )
        return 0
    return spend


def _customer_message(
    program: Program, member: MemberView | None, earn: int, spend: int, earning: bool
) -> str:
    earn_text = format_points(minor(earn), program)
    if member is None:
        return f"Join the program and get {earn_text} points for this check."
    if not earning:
        return "Points are not available for this account."
    if spend > 0:
        return (
            f"You pay {format_points(minor(spend), program)} with points and will get"
            f" {earn_text} points."
        )
    return f"You will get {earn_text} points."


def format_points(value: Decimal, program: Program) -> str:
    """Points as a customer reads them: '15' for whole points, '15.50' for hundredths."""
    return str(value.quantize(program.precision.quantum, rounding=ROUND_DOWN))
