"""Members: finding them (phone, QR token, card), registering them, describing their balance.

Raises :class:`~processing.server.problems.ApiError` with ``invalid_phone``,
``invalid_token``, ``invalid_request``, ``unknown_member``, ``consent_required``,
``member_blocked`` and the code errors of :mod:`processing.server.codes`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import Decimal

from loyalty.errors import InvalidPhone, TokenError
from loyalty.gs1 import ean_check_digit
from loyalty.identifiers import IdKind, classify
from loyalty.phones import mask_phone, normalize_phone
from loyalty.program import Program
from loyalty.qrtoken import verify_token
from processing import wire
from processing.amounts import from_minor
from processing.errors import ErrorCode
from processing.server import ledger, zones
from processing.server.engine import Database
from processing.server.problems import ApiError
from processing.server.storage import next_seq

CARD_PREFIX = "299"
_MEMBER_COLUMNS = "id, phone, name, birthday, email, state, lifetime_spend, consent"


@dataclass(frozen=True)
class MemberRow:
    id: str
    phone: str
    name: str | None
    birthday: date | None
    email: str | None
    state: str
    lifetime_spend: int


def row_of(r: Sequence[object]) -> MemberRow:
    """The member in a row of ``_MEMBER_COLUMNS`` (its first seven columns, in that order)."""
    return MemberRow(
        str(r[0]),
        str(r[1]),
        None if r[2] is None else str(r[2]),
        None if r[3] is None else date.fromisoformat(str(r[3])),
        None if r[4] is None else str(r[4]),
        str(r[5]),
        int(str(r[6])),
    )


def by_id(db: Database, member_id: str) -> MemberRow | None:
    r = db.execute(f"SELECT {_MEMBER_COLUMNS} FROM members WHERE id = ?", [member_id]).fetchone()
    return None if r is None else row_of(r)


def by_phone(db: Database, phone: str) -> MemberRow | None:
    r = db.execute(f"SELECT {_MEMBER_COLUMNS} FROM members WHERE phone = ?", [phone]).fetchone()
    return None if r is None else row_of(r)


def by_card(db: Database, number: str) -> MemberRow | None:
    r = db.execute(
        f"SELECT {_MEMBER_COLUMNS} FROM members WHERE id = (SELECT member_id FROM cards"
        " WHERE number = ?)",
        [number],
    ).fetchone()
    return None if r is None else row_of(r)


def require(db: Database, member_id: str) -> MemberRow:
    """The member, or ApiError(unknown_member)."""
    member = by_id(db, member_id)
    if member is None:
        raise ApiError(ErrorCode.UNKNOWN_MEMBER, "No member has this id.")
    return member


def normalize(phone: str, region: str) -> str:
    """E.164 or ApiError(invalid_phone)."""
    try:
        return normalize_phone(phone, region)
    except InvalidPhone as exc:
        raise ApiError(ErrorCode.INVALID_PHONE, exc.reason) from None


def find(
    db: Database, request: wire.IdentifyRequest, program: Program, now: datetime
) -> tuple[MemberRow, str]:
    """The member the identifier names and how (``phone``, ``qr`` or ``card``)."""
    kind = request.kind
    value = request.value.strip()
    e164: str | None = None
    if kind == "auto":
        found = classify(value, request.region, CARD_PREFIX)
        if found.kind is IdKind.PHONE:
            kind, value, e164 = "phone", found.value, found.value  # normalised already
        elif found.kind is IdKind.MEMBER_QR:
            kind = "qr"
        elif found.kind is IdKind.CARD:
            kind = "card"
        else:
            reason = found.reason or "This is not a phone number, member QR code or card."
            raise ApiError(ErrorCode.INVALID_REQUEST, reason, {"kind": str(found.kind)})
    member: MemberRow | None
    if kind == "phone":
        member = by_phone(db, e164 if e164 is not None else normalize(value, request.region))
    elif kind == "qr":
        try:
            claims = verify_token(
                value, program.qr_public_key, now, timedelta(seconds=program.qr_token_ttl_seconds)
            )
        except TokenError as exc:
            raise ApiError(ErrorCode.INVALID_TOKEN, exc.reason, {"reason": exc.code}) from None
        member = by_id(db, claims.member_id)
    else:
        member = by_card(db, value)
    if member is None:
        raise ApiError(ErrorCode.UNKNOWN_MEMBER, "No member is registered with this identifier.")
    return member, kind


def in_birthday_window(program: Program, birthday: date | None, today: date) -> bool:
    """True when ``today`` is inside the program's birthday window for ``birthday``."""
    window = program.birthday
    if window is None or birthday is None:
        return False
    for year in (today.year - 1, today.year, today.year + 1):
        day = 28 if (birthday.month, birthday.day) == (2, 29) else birthday.day
        try:
            this = date(year, birthday.month, day)
        except ValueError:
            continue
        if -window.days_after <= (this - today).days <= window.days_before:
            return True
    return False


def _money(minor: int) -> Decimal:
    return from_minor(minor)


def _at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def describe(
    db: Database,
    member: MemberRow,
    program: Program,
    now: int,
    expiring_within_days: int,
    zone: tzinfo,
) -> tuple[wire.Member, wire.Balance]:
    """The member and balance parts of an identify answer (the birthday window on ``zone``'s
    calendar, the caller's store's)."""
    lifetime = _money(member.lifetime_spend)
    tier = program.tier_for(lifetime)
    nxt = program.next_tier(lifetime)
    figures = ledger.figures(db, member.id, now, expiring_within_days * 86400)
    wire_member = wire.Member(
        id=member.id,
        phone_masked=mask_phone(member.phone),
        name=member.name,
        state=member.state,
        tier=wire.Tier(
            name=tier.name,
            rate_percent=tier.rate_percent,
            lifetime_spend=lifetime,
            next_name=None if nxt is None else nxt.name,
            next_at=None if nxt is None else nxt.min_lifetime_spend,
            to_next=None if nxt is None else nxt.min_lifetime_spend - lifetime,
        ),
        birthday_window=in_birthday_window(
            program, member.birthday, zones.local_time(now, zone).date()
        ),
    )
    balance = wire.Balance(
        available=_money(figures.available),
        held=_money(figures.held),
        frozen_total=_money(sum(p for p, _ in figures.frozen)),
        frozen=[wire.FrozenLot(points=_money(p), active_from=_at(t)) for p, t in figures.frozen],
        expiring_total=_money(sum(p for p, _ in figures.expiring)),
        expiring=[
            wire.ExpiringLot(points=_money(p), expires_at=_at(t)) for p, t in figures.expiring
        ],
        expiring_within_days=expiring_within_days,
    )
    return wire_member, balance


def offers_and_coupons(
    db: Database, member_id: str, today: date
) -> tuple[list[wire.Offer], list[wire.Coupon]]:
    iso = today.isoformat()
    offers = [
        wire.Offer(
            id=str(r[0]),
            title=str(r[1]),
            description=str(r[2]),
            valid_to=None if r[3] is None else date.fromisoformat(str(r[3])),
            auto_apply=bool(r[4]),
        )
        for r in db.execute(
            "SELECT id, title, description, valid_to, auto_apply FROM offers"
            " WHERE member_id = ?1 AND (valid_to IS NULL OR valid_to >= ?2)"
            " AND (valid_from IS NULL OR valid_from <= ?2) ORDER BY id",
            [member_id, iso],
        ).fetchall()
    ]
    coupons = [
        wire.Coupon(
            code=str(r[0]),
            title=str(r[1]),
            kind=str(r[2]),
            value=_money(int(r[3])),
            valid_to=None if r[4] is None else date.fromisoformat(str(r[4])),
        )
        for r in db.execute(
            "SELECT code, title, kind, value, valid_to FROM coupons WHERE member_id = ?1"
            " AND used_check_id IS NULL AND cancelled_at IS NULL"
            " AND (valid_to IS NULL OR valid_to >= ?2) AND (valid_from IS NULL OR valid_from <= ?2)"
            " ORDER BY code",
            [member_id, iso],
        ).fetchall()
    ]
    return offers, coupons


def identify_result(
    db: Database,
    member: MemberRow,
    program: Program,
    now: int,
    *,
    identified_by: str,
    entry: str,
    expiring_within_days: int,
    zone: tzinfo,
) -> wire.IdentifyResult:
    """The full identify answer for ``member``; days (the birthday window, offers and coupons
    still valid) on ``zone``'s calendar, the caller's store's."""
    wire_member, balance = describe(db, member, program, now, expiring_within_days, zone)
    offers, coupons = offers_and_coupons(db, member.id, zones.local_time(now, zone).date())
    points = format(balance.available, "f")
    return wire.IdentifyResult(
        member=wire_member,
        balance=balance,
        offers=offers,
        coupons=coupons,
        identified_by=identified_by,
        entry=entry,
        message=wire.UserMessage(
            key="balance", params={"points": points}, text=f"You have {points} points."
        ),
    )


def card_number(seq: int) -> str:
    """The virtual loyalty card (EAN-13, prefix 299) of the member with sequence ``seq``."""
    body = f"{CARD_PREFIX}{seq:09d}"
    return body + ean_check_digit(body)


def create_member(
    db: Database,
    *,
    phone: str,
    now: int,
    name: str | None = None,
    birthday: date | None = None,
    email: str | None = None,
    state: str = "active",
    lifetime_spend: int = 0,
    home_store: str | None = None,
) -> str:
    """Insert a member with a numeric id and a virtual card; returns the id."""
    seq = next_seq(db, "member_id")
    member_id = str(100000 + seq)
    db.execute(
        "INSERT INTO members (id, phone, name, birthday, email, state, consent, lifetime_spend,"
        " home_store, created_at, seq) VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?)",
        [
            member_id,
            phone,
            name,
            None if birthday is None else birthday.isoformat(),
            email,
            state,
            lifetime_spend,
            home_store,
            now,
            next_seq(db, "members"),
        ],
    )
    db.execute("INSERT INTO cards (number, member_id) VALUES (?, ?)", [card_number(seq), member_id])
    return member_id


def touch(db: Database, member_id: str) -> None:
    """Mark the member changed so the next member-cache delta carries them."""
    db.execute("UPDATE members SET seq = ? WHERE id = ?", [next_seq(db, "members"), member_id])
