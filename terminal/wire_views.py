"""Translations of a sale: wire models ↔ the screens' views, and the stored details of a
committed check ↔ the draft a reprint or a return rebuilds from them."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from processing import wire
from terminal.views import CheckRow, MemberView, SaleDraft, SaleLine


def member_view(result: wire.IdentifyResult, birthday_rate: Decimal | None = None) -> MemberView:
    """The screen's view of an identify answer (``birthday_rate``: the program's, when the
    member is in the birthday window and it beats the tier's)."""
    member, balance = result.member, result.balance
    frozen_until = min((lot.active_from for lot in balance.frozen), default=None)
    expiring_on = min((lot.expires_at for lot in balance.expiring), default=None)
    return MemberView(
        member_id=member.id,
        phone_masked=member.phone_masked,
        name=member.name,
        state=member.state,
        tier_name=member.tier.name,
        tier_rate=member.tier.rate_percent,
        next_tier=member.tier.next_name,
        to_next=member.tier.to_next,
        available=balance.available,
        frozen_total=balance.frozen_total,
        frozen_until=frozen_until,
        expiring_total=balance.expiring_total,
        expiring_on=expiring_on,
        expiring_lots=tuple(
            sorted(((lot.points, lot.expires_at) for lot in balance.expiring), key=_moment)
        ),
        frozen_lots=tuple(
            sorted(((lot.points, lot.active_from) for lot in balance.frozen), key=_moment)
        ),
        offers=tuple(offer.title for offer in result.offers),
        offer_ids=tuple(offer.id for offer in result.offers),
        coupons=tuple(f"{c.title} ({c.code})" for c in result.coupons),
        online=True,
        entry=result.entry,
        lifetime_spend=member.tier.lifetime_spend,
        birthday=member.birthday_window,
        birthday_rate=birthday_rate if member.birthday_window else None,
    )


def _moment(lot: tuple[Decimal, datetime]) -> datetime:
    return lot[1]


def wire_line(line: SaleLine) -> wire.Line:
    """A check line as the protocol carries it."""
    return wire.Line(
        barcode=line.barcode,
        name=line.name,
        category=line.category,
        price=line.price,
        quantity=line.quantity,
        amount=line.amount,
        discounted=line.discounted,
        payable_with_points=line.payable_with_points,
    )


def check_request(draft: SaleDraft) -> wire.CheckRequest:
    """The calculate/hold request for ``draft``."""
    assert draft.member is not None
    return wire.CheckRequest(
        check_id=draft.check_id,
        member_id=draft.member.member_id,
        lines=[wire_line(line) for line in draft.lines],
        requested_spend=draft.spend,
        coupons=list(draft.coupons),
        spend_code_id=draft.spend_code_id,
        spend_code=draft.spend_code,
    )


def draft_details(draft: SaleDraft) -> dict[str, Any]:
    """What a reprint or a return needs to rebuild the check (masked data only)."""
    member = draft.member
    return {
        "lines": [
            {
                "name": line.name,
                "price": line.price,
                "quantity": line.quantity,
                "amount": line.amount,
                "discounted": line.discounted,
            }
            for line in draft.lines
        ],
        "phone_masked": member.phone_masked if member else "",
        "balance_before": member.available if member else Decimal(0),
    }


def draft_from_details(row: CheckRow, details: dict[str, Any]) -> SaleDraft:
    """Rebuild enough of a committed check for a reprint or a return."""
    member = None
    if row.member_id:
        member = MemberView(
            member_id=row.member_id,
            phone_masked=str(details.get("phone_masked") or "***"),
            name=None,
            state="active",
            tier_name="",
            tier_rate=Decimal(0),
            next_tier=None,
            to_next=None,
            available=Decimal(str(details.get("balance_before", "0"))),
        )
    lines = tuple(
        SaleLine(
            name=str(line["name"]),
            price=Decimal(str(line["price"])),
            quantity=Decimal(str(line["quantity"])),
            amount=Decimal(str(line["amount"])),
            discounted=bool(line.get("discounted", False)),
        )
        for line in details.get("lines", [])
    )
    return SaleDraft(row.check_id, member, lines)
