"""Split an amount across lines in proportion to weights, exactly, without inventing a cent."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from loyalty.money import CENT


def allocate(total: Decimal, weights: Sequence[Decimal], quantum: Decimal = CENT) -> list[Decimal]:
    """``total`` split over ``weights`` in steps of ``quantum``, summing to ``total`` exactly.

    Largest-remainder method: every share is rounded down to ``quantum``, then the leftover steps
    go one each to the shares with the largest dropped fractions (the lower index on a tie).
    A share never exceeds its exact proportion rounded up to the next step, so when the weights
    are caps in whole steps and ``total`` does not exceed their sum, no share exceeds its cap.
    Zero weights get zero. Raises ValueError when ``total`` is not a whole number of steps, is
    negative, or is positive while every weight is zero.
    """
    steps = total / quantum
    if total < 0 or steps != steps.to_integral_value():
        raise ValueError(f"cannot allocate {total} in steps of {quantum}")
    if any(w < 0 for w in weights):
        raise ValueError("weights must not be negative")
    weight_sum = sum(weights, Decimal(0))
    if weight_sum <= 0:
        if total != 0:
            raise ValueError(f"cannot allocate {total} over zero weights")
        return [Decimal(0).quantize(CENT) for _ in weights]
    # Integer arithmetic throughout: Decimal division would round in the 28th digit and could
    # push a share across a step boundary.
    places = max(0, *(-int(w.as_tuple().exponent) for w in weights))
    scaled = [int(w.scaleb(places)) for w in weights]
    return [(quantum * n).quantize(CENT) for n in split(int(steps), scaled)]


def split(steps: int, weights: Sequence[int]) -> list[int]:
    """``steps`` whole steps split over non-negative integer ``weights`` (their sum above zero)
    by largest remainder, as :func:`allocate` does; the core's integer form of it."""
    weight_sum = sum(weights)
    floors = [steps * w // weight_sum for w in weights]
    leftover = steps - sum(floors)
    if leftover:
        dropped = [steps * w % weight_sum for w in weights]
        # Largest dropped fraction first, the lower index on a tie (the sort is stable).
        order = sorted(range(len(weights)), key=dropped.__getitem__, reverse=True)
        for i in order[:leftover]:
            floors[i] += 1
    return floors
