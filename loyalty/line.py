"""One check line as the till knows it, validated on construction.

Its own module so both the check (:mod:`loyalty.check`) and the earn rules
(:mod:`loyalty.earn`) can use it without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from loyalty.errors import InvalidAmount
from loyalty.money import CENT, quantize_money, to_decimal


@dataclass(frozen=True)
class Line:
    """One check line as the till knows it. Validated on construction (raises InvalidAmount)."""

    sku: str
    name: str
    category: str
    quantity: Decimal
    """Pieces, or kilograms for weighed goods; above zero."""
    unit_price: Decimal
    """Price per unit in money, two places at most; zero or more."""
    discounted: bool = False
    """Sold at a store discount (earns nothing when the program excludes discounted lines)."""
    discount: Decimal = field(default=Decimal("0.00"))
    """Money the store took off this line; a positive discount marks the line discounted."""
    payable_with_points: bool = True
    """False: the store does not let points pay for this line (spend cap zero; it still earns
    as the program says)."""

    def __post_init__(self) -> None:
        quantity = to_decimal(self.quantity, "quantity")
        price = to_decimal(self.unit_price, "unit price")
        discount = to_decimal(self.discount, "discount")
        if quantity <= 0:
            raise InvalidAmount(f"The quantity of {self.name or self.sku!r} must be above zero.")
        if price < 0 or discount < 0:
            raise InvalidAmount(
                f"The price and discount of {self.name or self.sku!r} must not be negative."
            )
        if price != price.quantize(CENT) or discount != discount.quantize(CENT):
            raise InvalidAmount(
                f"The price and discount of {self.name or self.sku!r} must be in whole cents."
            )
        # Frozen, so normalise through object.__setattr__: an int quantity becomes a Decimal.
        object.__setattr__(self, "quantity", quantity)
        object.__setattr__(self, "unit_price", price)
        object.__setattr__(self, "discount", discount.quantize(CENT))
        if discount > quantize_money(quantity * price):
            raise InvalidAmount(
                f"The discount of {self.name or self.sku!r} is more than the line costs."
            )

    @property
    def amount(self) -> Decimal:
        """Quantity × unit price rounded half-up to cents, less the discount."""
        return quantize_money(self.quantity * self.unit_price) - self.discount.quantize(CENT)

    @property
    def is_discounted(self) -> bool:
        return self.discounted or self.discount > 0
