"""The bridge's wire shapes: what a cash register sends and what it gets back.

Requests are strict (an unknown field is a 422, so a plugin's typo is caught on the first
test); answers only grow. Money is a decimal string (``"123.45"``), never a float, as in the
processing protocol (:mod:`processing.amounts`). 1 point = 1 unit of the till's currency, so
points spent on a check are also the money discount the register applies.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from processing.amounts import Money, Quantity

CALL_ID_HEADER = "X-Call-Id"
"""The register's id of one call; a retry with the same id gets the same answer."""
REGISTER_HEADER = "X-Register-Id"
"""Which register on this till makes the call (one open receipt per till at a time)."""

_ReceiptId = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:/-]+$")


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Answer(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class CartLine(Request):
    """One position of the register's receipt."""

    line: int = Field(ge=1, le=9999, description="The register's position number, unique.")
    sku: str | None = Field(default=None, max_length=64)
    barcode: str | None = Field(default=None, max_length=64)
    name: str = Field(default="", max_length=200)
    category: str = Field(default="", max_length=64)
    price: Money = Field(ge=Decimal(0))
    quantity: Quantity = Field(gt=Decimal(0))
    amount: Money = Field(
        ge=Decimal(0), description="What the customer pays after the register's own discounts."
    )
    discountable: bool = Field(
        default=True, description="false: the register forbids any further discount here."
    )
    payable_with_points: bool = Field(
        default=True, description="false: no points may pay for this line."
    )


class Identifier(Request):
    """What the register scanned or the cashier typed there: a phone, a card or a member QR."""

    kind: Literal["auto", "phone", "card", "qr"] = "auto"
    value: str = Field(min_length=1, max_length=512)
    scanned: bool = True


class Cart(Request):
    """The whole cart of one receipt; a later put replaces it (and recalculates)."""

    cashier: str | None = Field(default=None, max_length=64)
    lines: list[CartLine] = Field(min_length=1, max_length=500)
    identifier: Identifier | None = None

    @model_validator(mode="after")
    def _unique_lines(self) -> Cart:
        numbers = [line.line for line in self.lines]
        if len(set(numbers)) != len(numbers):
            raise ValueError("line numbers must be unique within the receipt")
        return self


class SpendRequest(Request):
    """Pay part of the check with points: ``amount``, or the most allowed (``max``)."""

    amount: Money | None = Field(default=None, ge=Decimal(0))
    max: bool = False

    @model_validator(mode="after")
    def _one_of(self) -> SpendRequest:
        if (self.amount is None) == (not self.max):
            raise ValueError("give either amount or max: true")
        return self


class Payment(Request):
    kind: Literal["cash", "card", "other"] = "card"
    amount: Money = Field(ge=Decimal(0))


class FinishRequest(Request):
    """The register printed the fiscal receipt: till confirms the loyalty part."""

    fiscal_number: str = Field(min_length=1, max_length=64)
    payments: list[Payment] = Field(default_factory=list, max_length=20)
    width: int = Field(default=32, ge=24, le=80, description="Characters per bonus text line.")
    print: bool = Field(default=False, description="Also print on the till's own printer.")


class RefundLine(Request):
    line: int = Field(ge=1, le=9999)
    quantity: Quantity = Field(gt=Decimal(0))


class RefundRequest(Request):
    """A refund receipt of the register against an earlier receipt it finished here."""

    original_receipt_id: str = _ReceiptId
    lines: list[RefundLine] = Field(min_length=1, max_length=500)


# ---------------------------------------------------------------- answers


class MemberState(Answer):
    phone_masked: str
    name: str | None = None
    state: str
    tier: str
    balance: Money
    """Points available now (the cached balance when ``online`` is false)."""
    offers: list[str] = Field(default_factory=list)
    coupons: list[str] = Field(default_factory=list)
    online: bool


class LineResult(Answer):
    line: int
    amount: Money
    """The register's amount for the line."""
    discount: Money
    """Points spent on this line, as a money discount; these sum to ``spend`` exactly."""
    to_pay: Money
    earn: Money | None = None
    """Points this line earns (online only; offline only the check's estimate is known)."""


class CalculationState(Answer):
    total: Money
    earn: Money
    spend: Money
    max_spend: Money
    to_pay: Money
    lines: list[LineResult]
    online: bool
    """False: an offline estimate from the till's cache (earn is provisional)."""


class FinishResult(Answer):
    earned: Money
    spent: Money
    balance_after: Money | None = None
    """None when no customer was identified on the receipt."""
    confirmed: bool
    """False: committed locally; the till's sync delivers it to the server."""
    offline: bool
    fiscal_number: str
    bonus_lines: list[str]
    """The bonus block as plain text, ``width`` characters at most, in the receipt language."""
    print_job: int | None = None
    claim_code: str | None = None
    """No customer was identified: the 19-digit code the customer collects the points with
    later (print it on the receipt, also as a QR). None when claims are off at this till."""


class RefundResult(Answer):
    refund_receipt_id: str
    original_receipt_id: str
    points_taken_back: Money
    points_given_back: Money
    balance_after: Money | None = None
    queued: bool
    """True: the refund waits in the outbox (offline); the server applies it on sync."""


class CheckState(Answer):
    """The loyalty state of one receipt, as the register reads it."""

    receipt_id: str
    register_id: str
    status: Literal["open", "finished", "cancelled", "refunded"]
    member: MemberState | None = None
    calculation: CalculationState | None = None
    messages: list[str] = Field(default_factory=list)
    """Sentences for the cashier, in the till's screen language."""
    cashier_done: bool = False
    """The cashier finished on the till's sale screen (Enter): read the result and fiscalise."""
    finish: FinishResult | None = None
    refund: RefundResult | None = None


class BridgeError(Answer):
    """Every refusal: a stable ``code`` and one sentence for the cashier."""

    code: str
    message: str


class Health(Answer):
    status: Literal["ok"] = "ok"
    till_id: str
    online: bool
