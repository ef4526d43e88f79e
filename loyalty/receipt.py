"""The receipt model: what a printed check says, independent of any printer.

Pure frozen dataclasses built by the check flow and rendered to printer bytes by
``drivers.render``. Money and points are ``Decimal`` (never floats); the phone is carried
already masked (``loyalty.phones.mask_phone``) so no full number can reach paper.

Raises :class:`ReceiptError` (a ``ValueError``) when a field is invalid: a float amount, an
unmasked phone, an unknown language, an empty check number.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Literal, get_args

from loyalty.claims import CLAIM_LENGTH, CLAIM_PREFIX

ReceiptLanguage = Literal["ru", "uk", "kk", "en"]
"""Languages a receipt can be printed in, chosen separately from the UI language."""

RECEIPT_LANGUAGES: tuple[str, ...] = get_args(ReceiptLanguage)

ReceiptKind = Literal["sale", "return", "reprint", "test"]
"""What the paper is for; a reprint and a test print say so on the paper."""

QrKind = Literal["account", "claim"]
"""A QR with a link to the member's account, or a claim code on an anonymous check."""

_MASK_CHARACTERS = frozenset("*•×Xx")


class ReceiptError(ValueError):
    """A receipt field is invalid; the message names the field."""


def _require_decimal(name: str, value: object) -> None:
    # bool is an int, and floats are exactly what we must keep off the paper.
    if not isinstance(value, Decimal):
        raise ReceiptError(f"{name} must be a Decimal, not {type(value).__name__}.")
    if not value.is_finite():
        raise ReceiptError(f"{name} must be a finite number.")


@dataclass(frozen=True)
class StoreHeader:
    """The store's name and address lines at the top of the check."""

    name: str
    address_lines: tuple[str, ...] = ()
    tax_id: str | None = None


@dataclass(frozen=True)
class ReceiptLine:
    """One position of the check: ``amount`` is what the customer pays for it."""

    name: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal

    def __post_init__(self) -> None:
        for name in ("quantity", "unit_price", "amount"):
            _require_decimal(f"line {self.name!r} {name}", getattr(self, name))


@dataclass(frozen=True)
class Totals:
    """The check's totals in money; ``paid_with_points`` is the part paid by points."""

    subtotal: Decimal
    discount: Decimal = Decimal(0)
    paid_with_points: Decimal = Decimal(0)
    to_pay: Decimal | None = None

    def __post_init__(self) -> None:
        for name in ("subtotal", "discount", "paid_with_points"):
            _require_decimal(f"totals.{name}", getattr(self, name))
        if self.to_pay is not None:
            _require_decimal("totals.to_pay", self.to_pay)

    @property
    def amount_due(self) -> Decimal:
        """What is paid in money: ``to_pay`` if given, else subtotal - discount - points."""
        if self.to_pay is not None:
            return self.to_pay
        return self.subtotal - self.discount - self.paid_with_points


@dataclass(frozen=True)
class ExpiringSoon:
    """Points that expire on ``on`` unless spent."""

    points: Decimal
    on: date

    def __post_init__(self) -> None:
        _require_decimal("expiring.points", self.points)


@dataclass(frozen=True)
class TierProgress:
    """The member's tier, and how much more spend reaches the next one (if any)."""

    tier_name: str
    next_tier_name: str | None = None
    remaining_to_next: Decimal | None = None

    def __post_init__(self) -> None:
        if self.remaining_to_next is not None:
            _require_decimal("tier.remaining_to_next", self.remaining_to_next)


@dataclass(frozen=True)
class BonusBlock:
    """The loyalty lines: points before, earned, spent, after, and what is pending.

    ``earned_provisional`` marks an offline estimate; ``offline`` adds the note that points
    will be credited after sync. ``frozen_points``/``frozen_until`` describe deferred activation.
    """

    masked_phone: str
    balance_before: Decimal
    earned: Decimal
    spent: Decimal
    new_balance: Decimal
    earned_provisional: bool = False
    frozen_points: Decimal | None = None
    frozen_until: date | None = None
    expiring: ExpiringSoon | None = None
    tier: TierProgress | None = None
    offer_teaser: str | None = None
    offline: bool = False

    def __post_init__(self) -> None:
        for name in ("balance_before", "earned", "spent", "new_balance"):
            _require_decimal(f"bonus.{name}", getattr(self, name))
        if self.frozen_points is not None:
            _require_decimal("bonus.frozen_points", self.frozen_points)
        if self.masked_phone and not _MASK_CHARACTERS & set(self.masked_phone):
            raise ReceiptError("bonus.masked_phone must be masked before it reaches a receipt.")


@dataclass(frozen=True)
class ReceiptQr:
    """The QR printed under the bonus block and the caption above it."""

    content: str
    kind: QrKind = "account"

    def __post_init__(self) -> None:
        if not self.content:
            raise ReceiptError("qr.content must not be empty.")


@dataclass(frozen=True)
class ClaimBlock:
    """The points of a check made without a customer, waiting under ``code``.

    ``earn_at_least`` is the base-rate earn of the check (the server's figure, or the till's
    estimate from its cached program when ``provisional``); None when the till could not
    estimate it. ``valid_until`` is the last day the code can be collected.
    """

    code: str
    earn_at_least: Decimal | None
    valid_until: date
    provisional: bool = False

    def __post_init__(self) -> None:
        code = self.code
        digits = code.isdigit() and code.isascii()
        if len(code) != CLAIM_LENGTH or not digits or not code.startswith(CLAIM_PREFIX):
            raise ReceiptError(f"claim.code must be {CLAIM_LENGTH} digits starting {CLAIM_PREFIX}.")
        if self.earn_at_least is not None:
            _require_decimal("claim.earn_at_least", self.earn_at_least)


@dataclass(frozen=True)
class Receipt:
    """One printed check. ``currency`` is an ISO code (RUB, UAH, KZT)."""

    language: ReceiptLanguage
    currency: str
    store: StoreHeader
    check_number: str
    issued_at: datetime
    lines: tuple[ReceiptLine, ...]
    totals: Totals
    cashier: str | None = None
    bonus: BonusBlock | None = None
    claim: ClaimBlock | None = None
    """Set on a check made without a customer: its claim code and the points it holds."""
    qr: ReceiptQr | None = None
    barcode_check_number: bool = False
    kind: ReceiptKind = "sale"
    footer_lines: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.language not in RECEIPT_LANGUAGES:
            raise ReceiptError(f"language must be one of {', '.join(RECEIPT_LANGUAGES)}.")
        if not self.check_number.strip():
            raise ReceiptError("check_number must not be empty.")
        if len(self.currency) != 3 or not self.currency.isalpha():
            raise ReceiptError("currency must be a three-letter ISO code such as RUB.")
