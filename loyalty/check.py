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

Raises :class:`~loyalty.errors.CheckError` for a check that cannot be calculated,
:class:`~loyalty.errors.InvalidAmount` for a bad line, :class:`TypeError` for floats.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import ROUND_DOWN, Decimal

from loyalty.allocate import allocate
from loyalty.calculation import (
    AppliedPromotion,
    Calculation,
    LineResult,
    RejectedCoupon,
)
from loyalty.earn import earn_lines
from loyalty.errors import CheckError
from loyalty.line import Line
from loyalty.member import MemberState, MemberView
from loyalty.money import (
    ZERO,
    percent_of,
    quantize_down,
    to_decimal,
)
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
    notes: list[str] = []
    amounts = [line.amount for line in lines]
    total = sum(amounts, ZERO)

    caps = _line_caps(program, lines, amounts)
    spendable = _spendable_max(program, member, total, caps, notes)
    spend = _applied_spend(program, requested, spendable, notes)
    spends = allocate(spend, caps) if spend > 0 else [ZERO for _ in lines]

    earning = member is None or member.state.can_earn
    if not earning:
        notes.append("This account is blocked: it neither earns nor spends points.")
    results, applied = earn_lines(
        program, lines, amounts, caps, spends, rate.percent, promos, earning
    )
    earn_total = sum((r.earn for r in results), ZERO)
    code_required = (
        program.spend.code_threshold is not None and spend > program.spend.code_threshold
    )
    return Calculation(
        program_version=program.version,
        currency=program.currency,
        member_id=None if member is None else member.member_id,
        computed_at=now,
        lines=tuple(results),
        requested_spend=requested,
        available_points=ZERO if member is None else member.available_points,
        total_amount=total,
        earn_total=earn_total,
        spend_applied=spend,
        spendable_max=spendable,
        pay_in_money=total - spend,
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


def _line_caps(program: Program, lines: Sequence[Line], amounts: list[Decimal]) -> list[Decimal]:
    rules = program.spend
    return [
        ZERO
        if line.category in rules.excluded_categories or not line.payable_with_points
        else quantize_down(percent_of(amount, rules.max_percent_per_line))
        for line, amount in zip(lines, amounts, strict=True)
    ]


def _spendable_max(
    program: Program,
    member: MemberView | None,
    total: Decimal,
    caps: list[Decimal],
    notes: list[str],
) -> Decimal:
    rules = program.spend
    if member is None:
        return ZERO
    if not member.state.can_spend:
        if member.state is MemberState.EARN_ONLY:
            notes.append("This member may earn but not spend points yet.")
        return ZERO
    limits = [
        quantize_down(percent_of(total, rules.max_percent_of_check)),
        sum(caps, ZERO),
        max(ZERO, total - rules.min_paid_in_money),
        max(ZERO, member.available_points),
    ]
    if rules.max_points is not None:
        limits.append(rules.max_points)
    spendable = quantize_down(min(limits), program.precision.quantum)
    if spendable <= 0 or spendable < rules.min_points:
        if member.available_points > 0 and spendable <= 0:
            notes.append("Points cannot pay for this check.")
        elif member.available_points > 0:
            least = format_points(rules.min_points, program)
            notes.append(f"Points can pay for this check only from {least} points.")
        return ZERO
    return spendable


def _applied_spend(
    program: Program, requested: Decimal, spendable: Decimal, notes: list[str]
) -> Decimal:
    if requested <= 0:
        return ZERO
    if requested > spendable:
        notes.append(
            f"{format_points(requested, program)} points were asked for; at most"
            f" {format_points(spendable, program)} can pay this check."
        )
    spend = quantize_down(min(requested, spendable), program.precision.quantum)
    if spend < program.spend.min_points:
        notes.append(
            f"At least {format_points(program.spend.min_points, program)} points must be spent"
            " at a time."
        )
        return ZERO
    return spend


def _customer_message(
    program: Program, member: MemberView | None, earn: Decimal, spend: Decimal, earning: bool
) -> str:
    earn_text = format_points(earn, program)
    if member is None:
        return f"Join the program and get {earn_text} points for this check."
    if not earning:
        return "Points are not available for this account."
    if spend > 0:
        return (
            f"You pay {format_points(spend, program)} with points and will get {earn_text} points."
        )
    return f"You will get {earn_text} points."


def format_points(value: Decimal, program: Program) -> str:
    """Points as a customer reads them: '15' for whole points, '15.50' for hundredths."""
    return str(value.quantize(program.precision.quantum, rounding=ROUND_DOWN))
