"""What the screens show: frozen snapshots the services hand to the UI thread.

Workers build these from wire answers or cache rows and post them in messages; widgets only
read them. Money and points are ``Decimal``; phones are already masked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

ZERO = Decimal(0)

QUICK_AMOUNT = ""
"""The name of a line entered as a bare amount; screen and receipt each say it in their language."""


@dataclass(frozen=True)
class MemberView:
    """An identified member, from the server (``online``) or from the till's cache."""

    member_id: str
    phone_masked: str
    name: str | None
    state: str
    """active, earn_only or blocked."""
    tier_name: str
    tier_rate: Decimal
    next_tier: str | None
    to_next: Decimal | None
    available: Decimal
    frozen_total: Decimal = ZERO
    frozen_until: datetime | None = None
    expiring_total: Decimal = ZERO
    expiring_on: datetime | None = None
    expiring_lots: tuple[tuple[Decimal, datetime], ...] = ()
    """(points, expires at) of each lot expiring soon, soonest first (empty when unknown)."""
    frozen_lots: tuple[tuple[Decimal, datetime], ...] = ()
    """(points, active from) of each frozen lot (empty when unknown)."""
    offers: tuple[str, ...] = ()
    offer_ids: tuple[str, ...] = ()
    """The personal promotions behind ``offers`` (the till's estimate counts them)."""
    coupons: tuple[str, ...] = ()
    online: bool = True
    cached_at: datetime | None = None
    """When the cached balance was last refreshed (offline identification only)."""
    entry: str = "typed"
    """scanned or typed."""
    lifetime_spend: Decimal | None = None
    """What the member has paid in all (the tiers' measure); None when not known (offline)."""
    birthday: bool = False
    """In the birthday window: the check earns the birthday rate when it is higher."""
    birthday_rate: Decimal | None = None
    """The rate this check earns in the birthday window (None: not known or not higher)."""


@dataclass(frozen=True)
class SaleLine:
    """One check line as the cashier entered it."""

    name: str
    price: Decimal
    quantity: Decimal
    amount: Decimal
    discounted: bool = False
    barcode: str | None = None
    category: str = ""
    payable_with_points: bool = True
    """False: points may not pay for this line (the cash register's flags)."""


@dataclass(frozen=True)
class SaleDraft:
    """A check being built: its id is fixed when the first line is added (idempotency key)."""

    check_id: str
    member: MemberView | None
    lines: tuple[SaleLine, ...]
    spend: Decimal = ZERO
    spend_code_id: str | None = None
    spend_code: str | None = None
    coupons: tuple[str, ...] = ()
    """Coupon codes the cashier applied."""
    override_by: str | None = None
    """The manager who approved an offline spend above the threshold (after their PIN)."""

    @property
    def total(self) -> Decimal:
        """The check's total in money."""
        return sum((line.amount for line in self.lines), ZERO)


@dataclass(frozen=True)
class PreviewLine:
    """The server's calculation of one check line (online previews only)."""

    earn: Decimal
    spend: Decimal
    max_spend: Decimal


@dataclass(frozen=True)
class Preview:
    """The calculated check: earn, the spend limit and what the customer pays."""

    check_id: str
    total: Decimal
    earn: Decimal
    spend: Decimal
    max_spend: Decimal
    to_pay: Decimal
    code_required: bool
    fingerprint: str
    online: bool
    message: str = ""
    """A line from the server for the customer (shown literally)."""
    lines: tuple[PreviewLine, ...] = ()
    """Per line, in the check's order (online only; empty offline)."""
    estimate: bool = False
    """The till's own estimate while the cashier scans (:mod:`terminal.estimate`): shown, never
    committed; the server's calculate replaces it."""


@dataclass(frozen=True)
class ClaimView:
    """The claim code of a check made without a customer, and what it is worth."""

    code: str
    """19 digits (``loyalty.claims``), printed in groups of four."""
    earn_at_least: Decimal | None
    """The base-rate earn of the check; None when the till could not estimate it offline."""
    expires_at: datetime
    """Until when the points can be collected."""
    provisional: bool
    """The till's own estimate: the server has not answered yet (offline)."""


@dataclass(frozen=True)
class RedeemedClaim:
    """The points of a receipt's claim code went to the identified member."""

    check_id: str
    earned: Decimal
    member: MemberView
    """The member with the balance after the collection."""
    already_collected: bool = False
    """The member had collected it before: nothing was credited now (``earned`` is 0)."""


@dataclass(frozen=True)
class SaleResult:
    """A committed check."""

    check_id: str
    earned: Decimal
    spent: Decimal
    balance_after: Decimal
    offline: bool
    receipt_text: str
    print_job_id: int | None
    confirmed: bool
    """False when the confirmation is queued for sync (online hold, server lost after it)."""
    claim: ClaimView | None = None
    """A check without a customer: the claim code printed on its receipt."""
    claim_refused: bool = False
    """A check without a customer whose claim code the server refused: printed without one."""


@dataclass(frozen=True)
class ReturnView:
    """The points a return took back and gave back."""

    return_id: str
    check_id: str
    taken_back: Decimal
    given_back: Decimal
    balance_after: Decimal | None
    queued: bool
    no_member: bool = False
    """The check was made without a customer and nobody collected its points: none moved."""
    shortfall: Decimal = Decimal(0)
    """Earned points already spent, so not taken back (the store deducts them from the refund)."""


@dataclass(frozen=True)
class CheckRow:
    """One recent check for the history screen."""

    check_id: str
    created_at: datetime
    member_id: str | None
    total: Decimal
    earned: Decimal
    spent: Decimal
    offline: bool
    cashier: str | None
    customer: str = ""
    """The member's masked phone; empty for a check made without a customer."""


@dataclass(frozen=True)
class SyncView:
    """The offline queue at a glance."""

    online: bool
    unsent: int
    dead: tuple[str, ...]
    """One line per dead record: id and the server's reason."""
    conflicts: int
    oldest_unsent_at: datetime | None
    last_error: str | None = None


@dataclass(frozen=True)
class ShiftReport:
    """Totals of the open shift."""

    shift_id: str
    cashier: str | None
    opened_at: datetime
    checks: int
    total: Decimal
    earned: Decimal
    spent: Decimal
    reversed: Decimal
    offline_pending: int
    overrides: int
    claims: int = 0
    """Checks made without a customer (their points wait under a claim code)."""
    notes: tuple[str, ...] = field(default=())
