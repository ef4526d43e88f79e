"""The bridge from wire checks to the loyalty core: lines, member views, calculations.

The server is authoritative: a line whose barcode or sku is in the catalog takes the catalog's
category (a till cannot dodge an excluded category by mislabelling a line).

The core compares promotion dates and birthdays with the day of the ``now`` it is given, so
:func:`run` hands it ``now`` on the store's clock (the caller's ``zone``), never UTC's.

Raises :class:`~processing.server.problems.ApiError` (``invalid_request``) for lines the core
refuses.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import tzinfo
from decimal import Decimal
from json.encoder import encode_basestring

from loyalty.calculation import trusted
from loyalty.calculation_json import plain_text
from loyalty.check import Calculation, Line, calculate
from loyalty.errors import LoyaltyError
from loyalty.member import MemberState, MemberView
from loyalty.money import CENT, quantize_money
from loyalty.program import Program
from loyalty.rules import normalize_coupon
from processing import wire
from processing.amounts import from_minor
from processing.errors import ErrorCode
from processing.server import ledger, zones
from processing.server.catalog_cache import read_categories
from processing.server.engine import Database
from processing.server.members import MemberRow
from processing.server.problems import ApiError


def catalog_keys(lines: Sequence[wire.Line]) -> list[str]:
    """The barcodes and skus of ``lines``, as the catalog is searched by."""
    return [k for line in lines for k in (line.barcode, line.sku) if k]


def catalog_categories(db: Database, lines: Sequence[wire.Line]) -> dict[str, str]:
    return read_categories(db, catalog_keys(lines))


def core_lines(
    db: Database, lines: Sequence[wire.Line], categories: dict[str, str] | None = None
) -> list[Line]:
    """The core's lines for wire lines; ``amount`` below price × quantity is a discount
    (``categories``: the catalog's, when already looked up)."""
    if categories is None:
        categories = catalog_categories(db, lines)
    out: list[Line] = []
    for i, line in enumerate(lines):
        gross = quantize_money(line.price * line.quantity)
        if line.amount < 0 or line.amount > gross:
            raise ApiError(
                ErrorCode.INVALID_REQUEST,
                f"Line {i}: the amount must be between 0 and price × quantity ({gross}).",
                {"line": i},
            )
        category = categories.get(line.barcode or "") or categories.get(line.sku or "")
        if category is None:
            category = line.category
        discount = gross - line.amount
        if line.quantity > 0 and line.price >= 0:
            # Every other check of Line's own holds already for wire amounts (whole cents:
            # the wire allows two places; a discount in [0, gross] by the test above), so the
            # line is made without them: they were a sixth of a 30-line preview. The same
            # Line (tests/test_processing_core_lines.py); any other goes through Line(),
            # which refuses it in its own words.
            out.append(
                trusted(
                    Line,
                    {
                        "sku": line.sku or line.barcode or "",
                        "name": line.name,
                        "category": category,
                        "quantity": line.quantity,
                        "unit_price": line.price,
                        "discounted": line.discounted,
                        "discount": discount.quantize(CENT),
                        "payable_with_points": line.payable_with_points,
                    },
                )
            )
            continue
        try:
            out.append(
                Line(
                    sku=line.sku or line.barcode or "",
                    name=line.name,
                    category=category,
                    quantity=line.quantity,
                    unit_price=line.price,
                    discounted=line.discounted,
                    discount=discount,
                    payable_with_points=line.payable_with_points,
                )
            )
        except LoyaltyError as exc:
            raise ApiError(ErrorCode.INVALID_REQUEST, exc.reason, {"line": i}) from None
    return out


def member_view(
    db: Database, member: MemberRow, now: int, available: int | None = None, check_id: str = ""
) -> MemberView:
    """The member as the core sees them; ``available`` overrides the derived balance, which
    does not count ``check_id``'s own hold (a held check calculated again, to be held anew)."""
    if available is None:
        available = ledger.available(db, member.id, now, check_id)
    offer_ids = tuple(
        str(r[0]) for r in db.execute("SELECT id FROM offers WHERE member_id = ?", [member.id])
    )
    return view_of(member, available, offer_ids)


def view_of(member: MemberRow, available: int, offer_ids: tuple[str, ...]) -> MemberView:
    """The core's view of ``member`` with ``available`` points and these personal offers."""
    return MemberView(
        member_id=member.id,
        state=MemberState(member.state),
        lifetime_spend=from_minor(member.lifetime_spend),
        birthday=member.birthday,
        available_points=from_minor(max(available, 0)),
        offer_ids=offer_ids,
    )


# Checks whose hold has expired (swept or not yet: a hold stops counting at its expiry), with
# the moment as its one parameter: a coupon such a hold reserved is free again.
_LAPSED = "SELECT h.id FROM checks h WHERE h.status = 'held' AND h.hold_expires_at <= ?"
# A coupon row still open: not used or reserved by a live hold, not cancelled, and a shared
# code (``use_limit``) not used up by its other holders. Parameters: the moment, twice.
_UNUSED = (
    f"(c.used_check_id IS NULL OR c.used_check_id IN ({_LAPSED})) AND c.cancelled_at IS NULL"
    " AND (c.use_limit IS NULL OR (SELECT COUNT(*) FROM coupons u WHERE u.code = c.code"
    f" AND u.used_check_id IS NOT NULL AND u.used_check_id NOT IN ({_LAPSED})) < c.use_limit)"
)
# ... that this member may use: theirs, or nobody's (a general coupon). Parameters: the
# member, then the moment twice.
_OPEN = f"(c.member_id IS NULL OR c.member_id = ?) AND {_UNUSED}"


def usable_coupons(
    db: Database,
    member_id: str,
    codes: Sequence[str],
    now: int,
    zone: tzinfo,
    check_id: str | None = None,
) -> list[str]:
    """What the presented ``codes`` this member may use now unlock: a coupon row exists, it
    is the member's (or nobody's: a general coupon), no check has used it yet, it is not
    cancelled, a shared code has uses left, and it is valid on ``zone``'s calendar. Each
    gives the promotion's coupon string it unlocks (an issued member's own code unlocks the
    promotion's one string; a seed coupon unlocks itself). Anything else is left out, so no
    promotion gated by it applies (a till's word for a coupon is a request, never a fact).
    A coupon ``check_id``'s own hold reserved is usable for that check (its new calculation,
    its replacing hold, its offline replay)."""
    if not codes:
        return []
    today = zones.local_time(now, zone).date().isoformat()
    wanted = sorted({normalize_coupon(code) for code in codes})
    marks = ",".join("?" * len(wanted))
    rows = db.execute(
        f"SELECT DISTINCT COALESCE(c.unlocks, c.code) FROM coupons c WHERE c.code IN ({marks})"
        f" AND (({_OPEN}) OR c.used_check_id = ?) AND (c.valid_to IS NULL OR c.valid_to >= ?)"
        " AND (c.valid_from IS NULL OR c.valid_from <= ?)",
        [*wanted, member_id, now, now, check_id or "", today, today],
    ).fetchall()
    return sorted(str(r[0]) for r in rows)


def use_coupons(
    db: Database, member_id: str, unlocked: Sequence[str], check_id: str, now: int
) -> list[str]:
    """Mark used by ``check_id`` one of the member's coupon rows for each promotion coupon
    string in ``unlocked`` (the member's own row before a general one: never another
    holder's), unless ``check_id`` has one already (its hold took it); a row an expired hold
    had reserved is free at ``now``. Call in the write transaction; answers the strings no
    row was left for (used meanwhile by another check, cancelled, or a shared code's limit
    reached)."""
    missing = []
    for key in unlocked:
        if db.execute(
            "SELECT 1 FROM coupons c WHERE c.used_check_id = ? AND COALESCE(c.unlocks, c.code) = ?",
            [check_id, key],
        ).fetchone():
            continue  # taken by this check already (its hold reserved it)
        row = (
            db.execute(
                "SELECT c.id FROM coupons c WHERE c.member_id = ?"
                f" AND COALESCE(c.unlocks, c.code) = ? AND {_UNUSED} ORDER BY c.id LIMIT 1",
                [member_id, key, now, now],
            ).fetchone()
            or db.execute(
                "SELECT c.id FROM coupons c WHERE c.code = ? AND c.member_id IS NULL"
                f" AND c.unlocks IS NULL AND {_UNUSED} LIMIT 1",
                [key, now, now],
            ).fetchone()
        )
        if row is None:
            missing.append(key)
            continue
        db.execute(
            "UPDATE coupons SET used_check_id = ? WHERE id = ? AND (used_check_id IS NULL"
            f" OR used_check_id IN ({_LAPSED}))",
            [check_id, row[0], now],
        )
    return missing


def give_back_coupons(db: Database, check_id: str) -> int:
    """Make the coupons ``check_id`` used or reserved usable again (a full return, a hold
    cancelled, expired or replaced); how many."""
    return int(
        db.execute(
            "UPDATE coupons SET used_check_id = NULL WHERE used_check_id = ?", [check_id]
        ).rowcount
    )


def run(
    program: Program,
    lines: Sequence[Line],
    member: MemberView | None,
    requested_spend: Decimal,
    coupons: Sequence[str],
    now: int,
    zone: tzinfo,
) -> Calculation:
    """The core calculation at ``now`` on the calendar of ``zone`` (the store's: the day its
    promotions and birthdays go by; ``member`` None: a check without a customer, at the base
    tier with no personal offers). Raises ApiError(invalid_request) if the core refuses."""
    try:
        return calculate(
            program, lines, member, requested_spend, coupons, zones.local_time(now, zone)
        )
    except LoyaltyError as exc:
        raise ApiError(ErrorCode.INVALID_REQUEST, exc.reason) from None


_ANSWER = (
    '{"check_id":%s,"member_id":%s,"total":"%s","eligible":"%s","earn":"%s","spend":"%s",'
    '"max_spend":"%s","to_pay":"%s","code_required":%s,"lines":[%s],"program_version":%d,'
    '"fingerprint":%s,"message":{"key":"calculation","params":{"earn":"%s","spend":"%s"},'
    '"text":%s},"detail":%s}'
)
_ANSWER_LINE = '{"index":%d,"earn":"%s","spend":"%s","max_spend":"%s"}'


def answer_json(check_id: str, calc: Calculation) -> tuple[str, str]:
    """The calculate route's answer for ``calc`` as JSON text (``detail`` holds the core's full
    record), and the calculation's fingerprint.

    Written by hand, byte for byte what ``wire.Calculation``'s ``model_dump_json`` writes for
    the same values (tests/test_processing_preview_bytes.py compares them over random checks):
    building the answer models, then pydantic walking them and the record's dict again, was half
    of a preview's CPU. The record, the fingerprint and each line's earn, spend and cap come
    from one pass (:meth:`Calculation.rendered`); amounts are written as the wire's ``Money``
    writes them (``format(…, "f")``)."""
    record, fingerprint, line_amounts = calc.rendered()
    text, quote = plain_text, encode_basestring
    earn, spend = text(calc.earn_total), text(calc.spend_applied)
    lines = ",".join(
        [
            _ANSWER_LINE % (ln.index, *amounts)
            for ln, amounts in zip(calc.lines, line_amounts, strict=True)
        ]
    )
    answer = _ANSWER % (
        quote(check_id),
        quote(calc.member_id or ""),
        text(calc.total_amount),
        text(calc.eligible_amount),
        earn,
        spend,
        text(calc.spendable_max),
        text(calc.pay_in_money),
        "true" if calc.code_required else "false",
        lines,
        calc.program_version,
        quote(fingerprint),
        earn,
        spend,
        quote(calc.customer_message),
        record,
    )
    return answer, fingerprint
