"""Points spent on a check as money discounts per register line, summing to the spend exactly.

A fiscal register cannot print "paid 137.50 with points" against a check; it prints each line
with its discount, and the discounts must add up to the points taken to the kopeck/tiyn, or the
register's totals and the ledger disagree. The bridge sends the register's flags with each line
(``payable_with_points``), so the server's own split (largest remainder in proportion to each
line's cap: :func:`loyalty.allocate.allocate`) already leaves the other lines alone and is used
as it is: a refund then gives back exactly the discount the register printed. Offline (no
server split) the spend is split over the payable lines here.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from loyalty.allocate import allocate

ZERO = Decimal(0)


def line_discounts(
    spend: Decimal,
    caps: Sequence[Decimal],
    payable: Sequence[bool],
    server_split: Sequence[Decimal] = (),
) -> list[Decimal]:
    """``spend`` as one discount per line, summing to ``spend`` exactly, none on a line that is
    not ``payable`` and none above its cap.

    ``server_split`` is the server's own per-line spend (online), used unchanged: it is what a
    return gives back line by line. Raises ValueError when ``spend`` cannot be placed (more
    than the payable lines' caps, or not in whole kopecks), or when the server's split does
    not match ``spend`` and the register's flags (a server that does not know the flags).
    """
    if server_split:
        if (
            len(server_split) != len(caps)
            or sum(server_split, ZERO) != spend
            or any(share and not ok for share, ok in zip(server_split, payable, strict=True))
        ):
            raise ValueError("the server's split does not follow the register's lines")
        return list(server_split)
    weights = [cap if ok else ZERO for cap, ok in zip(caps, payable, strict=True)]
    if spend > sum(weights, ZERO):
        raise ValueError(f"{spend} exceeds what the payable lines can take")
    return allocate(spend, weights)
