"""Points spent on a check as money discounts per register line, summing to the spend exactly.

A fiscal register cannot print "paid 137.50 with points" against a check; it prints each line
with its discount, and the discounts must add up to the points taken to the kopeck/tiyn, or the
register's totals and the ledger disagree. The server already splits its spend over lines by
largest remainder in proportion to each line's cap (:func:`loyalty.allocate.allocate`); the
bridge uses that split as it is whenever it respects the register's own flags, and otherwise
splits the spend again over the lines the register lets points pay for.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from loyalty.allocate import allocate

ZERO = Decimal(0)


def spendable(caps: Sequence[Decimal], payable: Sequence[bool], max_spend: Decimal) -> Decimal:
    """The most points the check can take when only ``payable`` lines may be paid with points.

    ``caps`` are the per-line maxima (the server's, or the line amounts offline).
    """
    on_payable = sum((cap for cap, ok in zip(caps, payable, strict=True) if ok), ZERO)
    return max(ZERO, min(max_spend, on_payable))


def line_discounts(
    spend: Decimal,
    caps: Sequence[Decimal],
    payable: Sequence[bool],
    server_split: Sequence[Decimal] = (),
) -> list[Decimal]:
    """``spend`` as one discount per line, summing to ``spend`` exactly, none on a line that is
    not ``payable`` and none above its cap.

    ``server_split`` is the server's own per-line spend (online); it is used unchanged when it
    already sums to ``spend`` and leaves the unpayable lines alone. Raises ValueError when
    ``spend`` cannot be placed (more than the payable lines' caps, or not in whole kopecks).
    """
    if (
        server_split
        and len(server_split) == len(caps)
        and sum(server_split, ZERO) == spend
        and all(ok or share == 0 for share, ok in zip(server_split, payable, strict=True))
    ):
        return list(server_split)
    weights = [cap if ok else ZERO for cap, ok in zip(caps, payable, strict=True)]
    if spend > sum(weights, ZERO):
        raise ValueError(f"{spend} exceeds what the payable lines can take")
    return allocate(spend, weights)
