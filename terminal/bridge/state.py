"""What the bridge keeps of a register's receipt, and how it answers about it.

A :class:`Receipt` lives in :class:`~terminal.bridge.register.RegisterBridge` between calls;
:func:`check_state` turns it into the answer the register reads. Nothing here blocks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from loyalty.money import CENT
from terminal.bridge import models
from terminal.bridge.discounts import line_discounts
from terminal.views import MemberView, Preview, SaleDraft, SaleLine

ZERO = Decimal(0)

Status = Literal["open", "finished", "cancelled", "refunded"]
SpendWish = Decimal | Literal["max"] | None


class Refusal(Exception):
    """A call the bridge refuses: HTTP ``status``, stable ``code``, one sentence for the cashier."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass
class Receipt:
    """One receipt of the register, as the bridge keeps it between calls."""

    receipt_id: str
    register_id: str
    check_id: str
    status: Status = "open"
    cart: models.Cart | None = None
    member: MemberView | None = None
    identified_by: str | None = None
    """The identifier value the member was found by (a new one identifies again)."""
    wish: SpendWish = None
    """What the register asked to spend: an amount, the most allowed, or nothing."""
    draft: SaleDraft | None = None
    preview: Preview | None = None
    messages: list[str] = field(default_factory=list)
    finish: models.FinishResult | None = None
    refund: models.RefundResult | None = None
    numbers: tuple[int, ...] = ()
    """The register's line numbers in the check's line order."""
    cashier_done: bool = False
    """The cashier handed the check back from the sale screen (Enter)."""


def check_state(receipt: Receipt) -> models.CheckState:
    """The register's answer about ``receipt``."""
    member = receipt.member
    return models.CheckState(
        receipt_id=receipt.receipt_id,
        register_id=receipt.register_id,
        status=receipt.status,
        member=None
        if member is None
        else models.MemberState(
            phone_masked=member.phone_masked,
            name=member.name,
            state=member.state,
            tier=member.tier_name,
            balance=member.available,
            offers=list(member.offers),
            coupons=list(member.coupons),
            online=member.online,
        ),
        calculation=calculation_state(receipt),
        messages=list(receipt.messages),
        cashier_done=receipt.cashier_done,
        finish=receipt.finish,
        refund=receipt.refund,
    )


def calculation_state(receipt: Receipt) -> models.CalculationState | None:
    """The calculation with its per-line discounts (None before there is one)."""
    preview, draft, cart = receipt.preview, receipt.draft, receipt.cart
    if preview is None or draft is None or cart is None:
        return None
    ordered = sorted(cart.lines, key=lambda line: line.line)
    payable = [line.payable_with_points and line.discountable for line in ordered]
    split = [line.spend for line in preview.lines] if preview.online else []
    discounts = line_discounts(preview.spend, spend_caps(preview, draft), payable, split)
    earns: list[Decimal | None] = (
        [line.earn for line in preview.lines]
        if preview.online and len(preview.lines) == len(ordered)
        else [None] * len(ordered)
    )
    return models.CalculationState(
        total=preview.total,
        earn=preview.earn,
        spend=preview.spend,
        max_spend=preview.max_spend,
        to_pay=preview.to_pay,
        lines=[
            models.LineResult(
                line=line.line,
                amount=line.amount,
                discount=discount,
                to_pay=line.amount - discount,
                earn=earn,
            )
            for line, discount, earn in zip(ordered, discounts, earns, strict=True)
        ],
        online=preview.online,
    )


def spend_caps(preview: Preview, draft: SaleDraft) -> list[Decimal]:
    """Per-line spend caps: the server's online; offline, the line amounts."""
    if preview.online and len(preview.lines) == len(draft.lines):
        return [line.max_spend for line in preview.lines]
    return [line.amount for line in draft.lines]


def sale_line(line: models.CartLine) -> SaleLine:
    """A register line as the till's check line; a line the register already discounted is
    ``discounted`` (the program may exclude it from earning); a line the register does not let
    points pay for (either flag) is not ``payable_with_points``, for the server too."""
    full = (line.price * line.quantity).quantize(CENT, rounding=ROUND_HALF_UP)
    return SaleLine(
        name=line.name,
        price=line.price,
        quantity=line.quantity,
        amount=line.amount,
        discounted=line.amount < full,
        barcode=line.barcode,
        category=line.category,
        payable_with_points=line.payable_with_points and line.discountable,
    )
