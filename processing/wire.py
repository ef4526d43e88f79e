"""Wire models of the processing protocol, shared by the till's client and the reference server.

Requests are strict (``extra="forbid"``: a typo is a 422, not a silently ignored field);
answers are lenient (``extra="ignore"``) so an older till keeps working against a newer
server. Money and points are :data:`processing.amounts.Money` (Decimal strings).

See ``processing/PROTOCOL.md`` for the operations and example calls.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    StrictBool,
    model_serializer,
)
from pydantic.json_schema import SkipJsonSchema

from loyalty.claims import CLAIM_PATTERN
from processing.amounts import Money, Quantity

API_PREFIX = "/v1"
IDEMPOTENCY_HEADER = "Idempotency-Key"

MemberStateName = Literal["active", "earn_only", "blocked"]
EntryMode = Literal["scanned", "typed"]
IdentifierKind = Literal["auto", "phone", "qr", "card"]

MAX_LINES = 500
"""Lines of one check, at most."""
MAX_BATCH = 200
"""Offline checks in one replay batch, at most."""

_Id = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")


def _plausible_time(moment: datetime) -> datetime:
    # A till's clock can be off by days, never by centuries; year 1 with a +14:00 offset
    # would not even convert to a timestamp.
    if not 2000 <= moment.year <= 2200:
        raise ValueError("the time must fall between the years 2000 and 2200")
    return moment


TillTime = Annotated[
    datetime,
    AfterValidator(_plausible_time),
    # The same bound in the schema, so a client (or a fuzzer) can see it: the year is 2000-2200.
    Field(json_schema_extra={"pattern": r"^(20\d\d|21\d\d|2200)-"}),
]
"""When something happened at a till (a check made offline or without a customer)."""


def _not_text(value: object) -> object:
    # The schema says integer: "3" or true are refused, not coerced (3.0 is an integer to JSON
    # Schema and stays accepted).
    if isinstance(value, (str, bool)):
        raise ValueError("must be a JSON integer")
    return value


WholeNumber = Annotated[int, BeforeValidator(_not_text)]
"""An integer field of a request, exactly as its schema states it."""


class Request(BaseModel):
    """Base of every request body: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Answer(BaseModel):
    """Base of every answer: unknown fields are ignored (forward compatible)."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class UserMessage(Answer):
    """A line the cashier can relay to the customer; ``key``/``params`` let the till translate."""

    key: str
    params: dict[str, str] = Field(default_factory=dict)
    text: str


class ErrorBody(Answer):
    """The one error shape: a stable ``code``, one English sentence, and details."""

    code: str
    message: str
    details: dict[str, Any] = Field(default_factory=dict)


# ---------------------------------------------------------------- identify


class IdentifyRequest(Request):
    """Find a member by phone (E.164 or local), QR token or card number."""

    kind: IdentifierKind = "auto"
    value: str = Field(min_length=1, max_length=512)
    entry: EntryMode = "typed"
    region: str = Field(default="RU", pattern=r"^[A-Z]{2}$")
    expiring_within_days: WholeNumber = Field(default=30, ge=0, le=366)


class Tier(Answer):
    name: str
    rate_percent: Money
    lifetime_spend: Money
    next_name: str | None = None
    next_at: Money | None = None
    to_next: Money | None = None


class Member(Answer):
    id: str
    phone_masked: str
    name: str | None = None
    state: MemberStateName
    tier: Tier
    birthday_window: bool = False


class FrozenLot(Answer):
    points: Money
    active_from: datetime


class ExpiringLot(Answer):
    points: Money
    expires_at: datetime


class Balance(Answer):
    """``available`` may be spent now; ``held`` is reserved by open holds; frozen is not active."""

    available: Money
    held: Money
    frozen_total: Money
    frozen: list[FrozenLot] = Field(default_factory=list)
    expiring_total: Money
    expiring: list[ExpiringLot] = Field(default_factory=list)
    expiring_within_days: int


class Offer(Answer):
    id: str
    title: str
    description: str = ""
    valid_to: date | None = None
    auto_apply: bool = False


class Coupon(Answer):
    code: str
    title: str
    kind: str
    value: Money
    valid_to: date | None = None


class IdentifyResult(Answer):
    member: Member
    balance: Balance
    offers: list[Offer] = Field(default_factory=list)
    coupons: list[Coupon] = Field(default_factory=list)
    identified_by: Literal["phone", "qr", "card"]
    entry: EntryMode
    message: UserMessage


# ---------------------------------------------------------------- registration and codes


class RegisterRequest(Request):
    phone: str = Field(min_length=3, max_length=32)
    region: str = Field(default="RU", pattern=r"^[A-Z]{2}$")
    consent: StrictBool
    name: str | None = Field(default=None, max_length=120)
    birthday: date | None = None
    email: str | None = Field(default=None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")


class CodeSent(Answer):
    """An SMS code went out; confirm with ``code_id`` and the code the customer reads out."""

    code_id: str
    phone_masked: str
    existing_member: bool
    expires_at: datetime
    message: UserMessage


class ConfirmRegistrationRequest(Request):
    code_id: str = _Id
    code: str = Field(min_length=4, max_length=8, pattern=r"^\d+$")


class SpendCodeRequest(Request):
    member_id: str = _Id
    points: Money


# ---------------------------------------------------------------- checks


class Line(Request):
    """One check line. ``amount`` is what the customer pays for it before points."""

    sku: str | None = Field(default=None, max_length=64)
    barcode: str | None = Field(default=None, max_length=64)
    name: str = Field(default="", max_length=200)
    category: str = Field(default="", max_length=64)
    price: Money
    quantity: Quantity
    amount: Money
    discounted: StrictBool = False
    payable_with_points: StrictBool = True
    """False: points may not pay for this line (the store's rule, e.g. a fiscal register's
    flag); its spend cap is zero, as for an excluded category."""

    @model_serializer(mode="wrap")
    def _without_default_payable(self, handler: SerializerFunctionWrapHandler) -> Any:
        # Left out when true, so a line from a till that never sends it serialises (and
        # hashes, for its Idempotency-Key) exactly as before the field existed.
        data = handler(self)
        if isinstance(data, dict) and data.get("payable_with_points") is True:
            del data["payable_with_points"]
        return data


class CheckRequest(Request):
    """A check to calculate or hold. ``check_id`` is the till's UUID for the sale."""

    check_id: str = _Id
    member_id: str = _Id
    lines: list[Line] = Field(min_length=1, max_length=MAX_LINES)
    requested_spend: Money = Field(default=Decimal("0"))
    coupons: list[str] = Field(default_factory=list, max_length=20)
    spend_code_id: str | None = Field(default=None, max_length=64)
    spend_code: str | None = Field(default=None, max_length=8, pattern=r"^\d+$")


class LineResult(Answer):
    index: int
    earn: Money
    spend: Money
    max_spend: Money


class Calculation(Answer):
    """The authoritative calculation. ``fingerprint`` must be sent back with the hold."""

    check_id: str
    member_id: str
    total: Money
    eligible: Money
    earn: Money
    spend: Money
    max_spend: Money
    to_pay: Money
    code_required: bool
    lines: list[LineResult] = Field(default_factory=list)
    program_version: int
    fingerprint: str
    message: UserMessage
    detail: dict[str, Any] = Field(default_factory=dict)


class HoldRequest(CheckRequest):
    fingerprint: str = Field(min_length=1, max_length=128)


class HoldBody(HoldRequest):
    """A hold's body as the server reads it: the check id is the path's. A body may repeat it
    (the till's client sends a :class:`HoldRequest`), and then it must be the same; the schema
    leaves it out, so no schema-valid request can disagree with its own path."""

    check_id: SkipJsonSchema[str | None] = Field(  # type: ignore[assignment]
        default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$"
    )


class Hold(Answer):
    check_id: str
    hold_id: str
    points_held: Money
    expires_at: datetime
    calculation: Calculation
    message: UserMessage


class CheckResult(Answer):
    """What a confirmed (or replayed offline) check did to the member's points."""

    check_id: str
    member_id: str
    status: Literal["confirmed", "cancelled", "applied_offline"]
    earned: Money
    spent: Money
    balance_after: Money
    frozen_until: datetime | None = None
    conflict: str | None = None
    shortfall: Money = Field(default=Decimal("0"))
    message: UserMessage


class CancelResult(Answer):
    check_id: str
    status: Literal["cancelled", "already_cancelled", "expired"]
    released: Money


# ---------------------------------------------------------------- offline replay


class ManagerOverride(Request):
    """A manager's word for an offline spend the SMS code could not authorise (no network to
    send the code): who vouched and why. Kept by the server for the operator."""

    cashier_id: str = _Id
    reason: str = Field(min_length=1, max_length=200)


class OfflineCheck(Request):
    """A check made while the server was unreachable. Earn is recomputed on the server;
    ``spent_offline`` is what the till took, a request the server caps by the program."""

    check_id: str = _Id
    member_id: str = _Id
    lines: list[Line] = Field(min_length=1, max_length=MAX_LINES)
    spent_offline: Money = Field(default=Decimal("0"))
    provisional_earn: Money = Field(default=Decimal("0"))
    made_at: TillTime
    coupons: list[str] = Field(default_factory=list, max_length=20)
    manager_override: ManagerOverride | None = None
    """Set when a manager allowed a spend above the program's SMS-code threshold offline."""

    @model_serializer(mode="wrap")
    def _without_absent_override(self, handler: SerializerFunctionWrapHandler) -> Any:
        # Left out when absent, so a body from a till that never sends it serialises (and
        # hashes, for its Idempotency-Key) exactly as before the field existed.
        data = handler(self)
        if isinstance(data, dict) and data.get("manager_override", 0) is None:
            del data["manager_override"]
        return data


class ReplayBatchRequest(Request):
    """Each item carries its own idempotency key (the check's outbox key)."""

    items: list[ReplayItem] = Field(min_length=1, max_length=MAX_BATCH)


class ReplayItem(Request):
    idempotency_key: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")
    check: OfflineCheck


class ItemResult(Answer):
    """One batch item: ``applied`` (first time), ``duplicate`` (same answer again), ``rejected``."""

    idempotency_key: str
    check_id: str
    status: Literal["applied", "duplicate", "rejected"]
    result: CheckResult | None = None
    error: ErrorBody | None = None


class ReplayBatchResult(Answer):
    results: list[ItemResult]


# ---------------------------------------------------------------- returns


class ReturnLine(Request):
    index: WholeNumber = Field(ge=0, lt=MAX_LINES)
    quantity: Quantity


class ReturnRequest(Request):
    return_id: str = _Id
    check_id: str = _Id
    lines: list[ReturnLine] = Field(min_length=1, max_length=MAX_LINES)


class ReturnResult(Answer):
    return_id: str
    check_id: str
    member_id: str
    points_taken_back: Money
    points_given_back: Money
    balance_after: Money
    conflict: str | None = None
    """``return_shortfall``: earned points already spent; ``shortfall`` could not be taken."""
    shortfall: Money = Field(default=Decimal("0"))
    message: UserMessage


# ---------------------------------------------------------------- claims

_ClaimCode = Field(pattern=CLAIM_PATTERN)


class ClaimRequest(Request):
    """A check made without a customer; its points wait for whoever redeems ``code``.

    ``code`` is :func:`loyalty.claims.claim_code` of ``check_id``; the till prints it on the
    receipt before the server has seen it (the till may be offline).
    """

    check_id: str = _Id
    code: str = _ClaimCode
    lines: list[Line] = Field(min_length=1, max_length=MAX_LINES)
    made_at: TillTime


class ClaimBody(ClaimRequest):
    """A claim's body as the server reads it: ``code`` follows from ``check_id``
    (:func:`loyalty.claims.claim_code`), so the schema leaves it out; a body that sends it (the
    till's client does) must send that one."""

    code: SkipJsonSchema[str | None] = Field(default=None, pattern=CLAIM_PATTERN)  # type: ignore[assignment]


class Claim(Answer):
    """A claim the server holds: the base-rate earn it is worth at least, and until when."""

    code: str
    check_id: str
    earn_at_least: Money
    expires_at: datetime
    status: Literal["open", "redeemed", "returned", "expired"]
    message: UserMessage


class RedeemClaimRequest(Request):
    """Credit the claim's check to ``member_id``: it becomes that member's check."""

    code: str = _ClaimCode
    member_id: str = _Id


class ClaimRedeemed(Answer):
    """The check as applied to the member (earn by the member's tier at the check's time).

    ``already_collected``: the same member had collected it before; nothing was credited now
    and ``check.balance_after`` is the member's balance today.
    """

    code: str
    check: CheckResult
    message: UserMessage
    already_collected: bool = False


# ---------------------------------------------------------------- snapshots and deltas


class ProgramSnapshot(Answer):
    version: int
    program: dict[str, Any]
    qr_public_key: str
    qr_token_ttl_seconds: int
    issued_at: datetime


class MemberCacheRow(Answer):
    id: str
    phone: str
    phone_masked: str
    name: str | None = None
    card_numbers: list[str] = Field(default_factory=list)
    state: MemberStateName
    available: Money
    lifetime_spend: Money
    birthday: date | None = None
    balance_at: datetime


class MembersDelta(Answer):
    items: list[MemberCacheRow]
    cursor: str
    has_more: bool


class Product(Answer):
    sku: str
    barcodes: list[str] = Field(default_factory=list)
    name: str
    category: str
    price: Money
    active: bool = True


class CatalogDelta(Answer):
    items: list[Product]
    cursor: str
    has_more: bool


class Health(Answer):
    status: Literal["ok"]
    version: str
    program_version: int | None = None
    time: datetime
    database: Literal["ok"] = "ok"
    """The database answered (a database that does not is a 503, not this answer)."""
    engine: str | None = None
    """"sqlite" or "postgresql"."""


ReplayBatchRequest.model_rebuild()
