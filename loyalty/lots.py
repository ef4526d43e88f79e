"""A balance as lots: each earn is a lot that activates, is consumed first-in first-out, expires.

A lot earned at ``earned_at`` is frozen until ``active_from`` (the program's activation delay)
and expires at ``expires_at`` (``expiry_days`` after activation), or never when that is None.
Consumption takes the lot that expires first, so no point expires while younger ones are spent.
All times are timezone-aware instants passed in; nothing here reads a clock.

Raises :class:`~loyalty.errors.InsufficientPoints`, :class:`~loyalty.errors.InvalidAmount`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal

from loyalty.errors import InsufficientPoints, InvalidAmount
from loyalty.money import ZERO
from loyalty.program import Program


@dataclass(frozen=True)
class Lot:
    """Points from one earn (or one give-back)."""

    lot_id: str
    amount: Decimal
    """Points first credited."""
    remaining: Decimal
    """Points still in the lot (after spending, taking back and expiry)."""
    earned_at: datetime
    active_from: datetime
    expires_at: datetime | None

    def is_active(self, now: datetime) -> bool:
        """True when the lot may be spent at ``now``."""
        return self.active_from <= now and (self.expires_at is None or now < self.expires_at)

    def is_frozen(self, now: datetime) -> bool:
        return now < self.active_from

    def is_expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now


@dataclass(frozen=True)
class FrozenAmount:
    """Points that become spendable at ``active_from``."""

    amount: Decimal
    active_from: datetime


@dataclass(frozen=True)
class ExpiringAmount:
    """Active points expiring within the window; ``first_expires_at`` is the earliest date."""

    amount: Decimal
    first_expires_at: datetime

    @property
    def first_date(self) -> date:
        return self.first_expires_at.date()


@dataclass(frozen=True)
class Balance:
    """A member's balance at one moment."""

    available: Decimal
    frozen: tuple[FrozenAmount, ...]
    """Frozen points grouped by activation time, soonest first."""
    expiring_soon: ExpiringAmount | None

    @property
    def frozen_total(self) -> Decimal:
        return sum((f.amount for f in self.frozen), ZERO)

    @property
    def total(self) -> Decimal:
        return self.available + self.frozen_total


def new_lot(lot_id: str, amount: Decimal, earned_at: datetime, program: Program) -> Lot:
    """A lot for points earned at ``earned_at`` under ``program``'s activation and expiry rules.

    Raises InvalidAmount for a non-positive amount.
    """
    if amount <= 0:
        raise InvalidAmount(f"A lot must hold more than zero points, got {amount}.")
    active_from = earned_at + timedelta(days=program.activation_delay_days)
    expires_at = (
        None if program.expiry_days is None else active_from + timedelta(days=program.expiry_days)
    )
    return Lot(lot_id, amount, amount, earned_at, active_from, expires_at)


def given_back_lot(lot_id: str, amount: Decimal, now: datetime, program: Program) -> Lot:
    """A lot for spent points returned on a refund: active at once, expiring like a new earn."""
    if amount <= 0:
        raise InvalidAmount(f"A lot must hold more than zero points, got {amount}.")
    expires_at = None if program.expiry_days is None else now + timedelta(days=program.expiry_days)
    return Lot(lot_id, amount, amount, now, now, expires_at)


def balance_of(lots: Iterable[Lot], now: datetime, expiring_within_days: int = 30) -> Balance:
    """Available, frozen (by activation time) and soon-expiring points at ``now``."""
    available = ZERO
    frozen: dict[datetime, Decimal] = {}
    expiring = ZERO
    first_expiry: datetime | None = None
    horizon = now + timedelta(days=expiring_within_days)
    for lot in lots:
        if lot.remaining <= 0 or lot.is_expired(now):
            continue
        if lot.is_frozen(now):
            frozen[lot.active_from] = frozen.get(lot.active_from, ZERO) + lot.remaining
            continue
        available += lot.remaining
        if lot.expires_at is not None and lot.expires_at <= horizon:
            expiring += lot.remaining
            if first_expiry is None or lot.expires_at < first_expiry:
                first_expiry = lot.expires_at
    return Balance(
        available=available,
        frozen=tuple(FrozenAmount(frozen[at], at) for at in sorted(frozen)),
        expiring_soon=None if first_expiry is None else ExpiringAmount(expiring, first_expiry),
    )


def _fifo_order(lot: Lot) -> tuple[bool, datetime, datetime, str]:
    never = lot.expires_at is None
    return (never, lot.expires_at or lot.active_from, lot.earned_at, lot.lot_id)


def consume_fifo(lots: Iterable[Lot], amount: Decimal, now: datetime) -> list[tuple[str, Decimal]]:
    """Which lots pay ``amount`` points at ``now``: active lots, the soonest to expire first.

    Returns ``(lot_id, points)`` pairs summing to ``amount`` (empty for zero). Raises
    InvalidAmount for a negative amount and InsufficientPoints when active lots hold too little.
    """
    if amount < 0:
        raise InvalidAmount(f"Points to spend must not be negative, got {amount}.")
    active = sorted(
        (lot for lot in lots if lot.remaining > 0 and lot.is_active(now)), key=_fifo_order
    )
    available = sum((lot.remaining for lot in active), ZERO)
    if amount > available:
        raise InsufficientPoints(amount, available)
    taken: list[tuple[str, Decimal]] = []
    left = amount
    for lot in active:
        if left <= 0:
            break
        part = min(lot.remaining, left)
        taken.append((lot.lot_id, part))
        left -= part
    return taken


def take_back(
    lots: Iterable[Lot], first_lot_id: str | None, amount: Decimal, now: datetime
) -> tuple[list[tuple[str, Decimal]], Decimal]:
    """Which lots lose ``amount`` points taken back on a return, and the shortfall.

    The lot the points were earned into goes first (frozen or not), then active lots FIFO. When
    the member already spent them, the rest is the shortfall: the caller decides whether the
    balance may go negative. Raises InvalidAmount for a negative amount.
    """
    if amount < 0:
        raise InvalidAmount(f"Points to take back must not be negative, got {amount}.")
    pool = [lot for lot in lots if lot.remaining > 0 and not lot.is_expired(now)]
    first = [lot for lot in pool if lot.lot_id == first_lot_id]
    rest = sorted(
        (lot for lot in pool if lot.lot_id != first_lot_id and lot.is_active(now)), key=_fifo_order
    )
    taken: list[tuple[str, Decimal]] = []
    left = amount
    for lot in first + rest:
        if left <= 0:
            break
        part = min(lot.remaining, left)
        taken.append((lot.lot_id, part))
        left -= part
    return taken, left


def apply_taken(lots: Sequence[Lot], taken: Iterable[tuple[str, Decimal]]) -> list[Lot]:
    """``lots`` with the ``taken`` points removed from their ``remaining``.

    Raises InvalidAmount when a pair names an unknown lot or takes more than it holds.
    """
    by_id = {lot.lot_id: lot for lot in lots}
    for lot_id, part in taken:
        lot = by_id.get(lot_id)
        if lot is None or part > lot.remaining or part < 0:
            raise InvalidAmount(f"Cannot take {part} points from lot {lot_id!r}.")
        by_id[lot_id] = replace(lot, remaining=lot.remaining - part)
    return [by_id[lot.lot_id] for lot in lots]


def expire(lots: Iterable[Lot], now: datetime) -> list[tuple[str, Decimal]]:
    """The ``(lot_id, points)`` that have expired by ``now`` and still hold points."""
    return [
        (lot.lot_id, lot.remaining) for lot in lots if lot.remaining > 0 and lot.is_expired(now)
    ]
