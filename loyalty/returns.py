"""Returns against an original calculation: points to take back and to give back, per line.

Each line moves pro rata to the quantity returned, computed cumulatively: after returning ``q``
of a line's ``Q`` units in total, ``f(q) = round_down(moved × q / Q)``, and ``f(Q)`` is exactly
what the line moved. A return step takes ``f(before + now) − f(before)``, so any sequence of
partial returns ends with exactly the original earn and spend — the last unit carries the
remainder — and no step ever moves more than the line did.

Earned points are rounded at the program's precision from the original calculation; spent
points and money are rounded to the cent.

Raises :class:`~loyalty.errors.ReturnError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from loyalty.calculation import Calculation, LineResult
from loyalty.errors import ReturnError
from loyalty.money import CENT, ZERO, to_decimal


@dataclass(frozen=True)
class ReturnLine:
    """What returning ``quantity`` of one line moves."""

    index: int
    quantity: Decimal
    earn_taken_back: Decimal
    spend_given_back: Decimal
    money_refund: Decimal
    """Money to hand back: the returned share of what was paid in money."""


@dataclass(frozen=True)
class ReturnResult:
    """Totals are the sums of the lines."""

    earn_taken_back: Decimal
    spend_given_back: Decimal
    money_refund: Decimal
    lines: tuple[ReturnLine, ...]


def calculate_return(
    original: Calculation,
    returned: Mapping[int, Decimal],
    already_returned: Mapping[int, Decimal] | None = None,
) -> ReturnResult:
    """Points and money moved by returning ``returned`` (line index → quantity) now.

    ``already_returned`` holds the quantities of earlier returns against the same check.
    Raises ReturnError for an unknown line, a quantity of zero or less, or more than was sold.
    """
    before = dict(already_returned or {})
    earn_quantum = original.precision.quantum
    lines: list[ReturnLine] = []
    for index in sorted(returned):
        if not 0 <= index < len(original.lines):
            raise ReturnError(f"The original check has no line {index + 1}.")
        line = original.lines[index]
        quantity = to_decimal(returned[index], "returned quantity")
        earlier = to_decimal(before.get(index, ZERO), "returned quantity")
        if quantity <= 0:
            raise ReturnError(f"The quantity returned of {line.name!r} must be above zero.")
        if earlier < 0 or earlier + quantity > line.quantity:
            raise ReturnError(
                f"Only {line.quantity - max(earlier, ZERO)} of {line.name!r} can still be"
                f" returned, not {quantity}."
            )
        after = earlier + quantity
        lines.append(
            ReturnLine(
                index=index,
                quantity=quantity,
                earn_taken_back=_step(line.earn, line, earlier, after, earn_quantum),
                spend_given_back=_step(line.spend, line, earlier, after, CENT),
                money_refund=_step(line.paid_in_money, line, earlier, after, CENT),
            )
        )
    return ReturnResult(
        earn_taken_back=sum((r.earn_taken_back for r in lines), ZERO),
        spend_given_back=sum((r.spend_given_back for r in lines), ZERO),
        money_refund=sum((r.money_refund for r in lines), ZERO),
        lines=tuple(lines),
    )


def _cumulative(moved: Decimal, line: LineResult, quantity: Decimal, quantum: Decimal) -> Decimal:
    if quantity >= line.quantity:
        return moved
    share = (moved * quantity / line.quantity).quantize(quantum, rounding=ROUND_DOWN)
    return share.quantize(CENT)


def _step(
    moved: Decimal, line: LineResult, before: Decimal, after: Decimal, quantum: Decimal
) -> Decimal:
    return _cumulative(moved, line, after, quantum) - _cumulative(moved, line, before, quantum)
