"""Building the receipt model for a sale, and turning it into printer bytes and preview text.

The printer library (escpos, PIL, qrcode) is imported on the first receipt, never at start-up,
so the till opens fast; rendering runs in a worker.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from loyalty.receipt import (
    BonusBlock,
    ClaimBlock,
    ExpiringSoon,
    Receipt,
    ReceiptLanguage,
    ReceiptLine,
    ReceiptQr,
    StoreHeader,
    TierProgress,
    Totals,
)
from terminal.config import Settings
from terminal.i18n import local
from terminal.member_progress import expiring_left
from terminal.views import ClaimView, MemberView, SaleDraft

QUICK_AMOUNT_NAMES = {"ru": "Товары", "uk": "Товари", "kk": "Тауарлар", "en": "Goods"}
"""What a line entered as a bare amount is called on paper, in the receipt's language."""


def sale_receipt(
    settings: Settings,
    draft: SaleDraft,
    *,
    earned: Decimal,
    spent: Decimal,
    balance_after: Decimal | None,
    offline: bool,
    cashier: str | None,
    issued_at: datetime,
    kind: str = "sale",
    frozen_until: datetime | None = None,
    claim: ClaimBlock | None = None,
    progress: MemberView | None = None,
) -> Receipt:
    """The receipt of a committed sale (``kind`` "reprint" says so on paper).

    ``frozen_until`` is when the points earned on this check activate, as the server said.
    ``claim`` is the claim block of a check made without a customer (with its QR).
    ``progress``: the member as the sale left them, for the tier line (default: as before it).
    """
    member = draft.member
    bonus = None
    if member is not None:
        before = member.available
        tier_of = progress if progress is not None else member
        frozen = frozen_after(member, earned, frozen_until)
        bonus = BonusBlock(
            masked_phone=member.phone_masked,
            balance_before=before,
            earned=earned,
            spent=spent,
            new_balance=balance_after if balance_after is not None else before - spent,
            earned_provisional=offline,
            offline=offline,
            frozen_points=frozen[0] if frozen is not None else None,
            frozen_until=local(frozen[1]).date() if frozen is not None else None,
            offer_teaser=member.offers[0] if member.offers else None,
            expiring=expiring_after(member, spent),
            tier=TierProgress(tier_of.tier_name, tier_of.next_tier, tier_of.to_next),
        )
    language: ReceiptLanguage = settings.till.receipt_language
    return Receipt(
        language=language,
        currency=settings.till.currency,
        store=StoreHeader(name=settings.till.store_id),
        check_number=draft.check_id[:8].upper(),
        issued_at=local(issued_at),  # printed in the store's time, not UTC
        lines=tuple(
            ReceiptLine(
                line.name or QUICK_AMOUNT_NAMES[language], line.quantity, line.price, line.amount
            )
            for line in draft.lines
        ),
        totals=Totals(subtotal=draft.total, paid_with_points=spent),
        cashier=cashier,
        bonus=bonus,
        claim=claim,
        qr=_qr(settings, member, claim),
        barcode_check_number=settings.printer.check_barcode,
        kind="reprint" if kind == "reprint" else "sale",
    )


def expiring_after(member: MemberView, spent: Decimal) -> ExpiringSoon | None:
    """The soonest points still to expire after this sale, and how many expire that day.

    The server spends the lots that expire first, so the check's points come off the soonest
    lots; what the receipt prints is the first date with points left, never the state the
    customer had before paying with them.
    """
    remaining = expiring_left(member, spent)
    if not remaining:
        return None
    first = local(remaining[0][1]).date()
    on_first = sum((p for p, at in remaining if local(at).date() == first), Decimal(0))
    return ExpiringSoon(on_first, first)


def frozen_after(
    member: MemberView, earned: Decimal, frozen_until: datetime | None
) -> tuple[Decimal, datetime] | None:
    """All points frozen after this sale (the member's and this check's, when the server froze
    its earn) and the day the last of them activates; None when nothing is frozen."""
    lots = list(member.frozen_lots)
    if not lots and member.frozen_until is not None and member.frozen_total > 0:
        lots = [(member.frozen_total, member.frozen_until)]
    if frozen_until is not None and earned > 0:
        lots.append((earned, frozen_until))
    lots = [(points, at) for points, at in lots if points > 0]
    if not lots:
        return None
    return sum((points for points, _ in lots), Decimal(0)), max(at for _, at in lots)


def _qr(
    settings: Settings, member: MemberView | None, claim: ClaimBlock | None
) -> ReceiptQr | None:
    if settings.printer.qr == "off":
        return None
    if claim is not None:
        return ReceiptQr(claim.code, kind="claim")
    if member is None or not settings.printer.account_url:
        return None
    return ReceiptQr(settings.printer.account_url.replace("{member_id}", member.member_id))


def claim_block(claim: ClaimView) -> ClaimBlock:
    """The receipt's claim block for ``claim``."""
    return ClaimBlock(
        code=claim.code,
        earn_at_least=claim.earn_at_least,
        valid_until=local(claim.expires_at).date(),
        provisional=claim.provisional,
    )


def receipt_bytes(settings: Settings, receipt: Receipt) -> bytes:
    """ESC/POS bytes for the configured printer; raises the drivers' render errors."""
    from drivers.render import render_receipt

    printer = settings.printer
    return render_receipt(
        receipt, printer.profile, printer.columns, printer.codepage, qr=printer.qr
    )


def receipt_text(settings: Settings, receipt: Receipt) -> str:
    """The receipt as plain lines of the paper's width, for the on-screen preview."""
    from drivers.receipt_layout import BarcodeBlock, Line, QrBlock, layout_receipt

    columns = settings.printer.columns
    out: list[str] = []
    for block in layout_receipt(receipt, columns):
        if isinstance(block, Line):
            text = block.text.center(columns) if block.align == "center" else block.text
            out.append(text.rstrip())
        elif isinstance(block, QrBlock):
            out.append("[QR]".center(columns).rstrip())
        elif isinstance(block, BarcodeBlock):
            out.append(f"||| {block.data} |||".center(columns).rstrip())
    return "\n".join(out)
