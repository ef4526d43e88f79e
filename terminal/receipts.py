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
) -> Receipt:
    """The receipt of a committed sale (``kind`` "reprint" says so on paper).

    ``frozen_until`` is when the points earned on this check activate, as the server said.
    ``claim`` is the claim block of a check made without a customer (with its QR).
    """
    member = draft.member
    bonus = None
    if member is not None:
        before = member.available
        bonus = BonusBlock(
            masked_phone=member.phone_masked,
            balance_before=before,
            earned=earned,
            spent=spent,
            new_balance=balance_after if balance_after is not None else before - spent,
            earned_provisional=offline,
            offline=offline,
            frozen_points=earned if frozen_until is not None and earned > 0 else None,
            frozen_until=(
                local(frozen_until).date() if frozen_until is not None and earned > 0 else None
            ),
            offer_teaser=member.offers[0] if member.offers else None,
            expiring=(
                ExpiringSoon(member.expiring_total, local(member.expiring_on).date())
                if member.expiring_on is not None and member.expiring_total > 0
                else None
            ),
            tier=TierProgress(member.tier_name, member.next_tier, member.to_next),
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
