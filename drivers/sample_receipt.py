"""The sample receipt of ``till devices test-print``: every letter, a QR and a bonus block."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from drivers.receipt_texts import ALPHABETS, label
from loyalty.receipt import (
    BonusBlock,
    ExpiringSoon,
    Receipt,
    ReceiptLanguage,
    ReceiptLine,
    ReceiptQr,
    StoreHeader,
    TierProgress,
    Totals,
)

_CURRENCY = {"ru": "RUB", "uk": "UAH", "kk": "KZT", "en": "RUB"}
_ITEMS = {
    "ru": ("Молоко 3,2% 1 л", "Хлеб бородинский нарезка в упаковке, половинка"),
    "uk": ("Молоко 2,5% 1 л", "Хліб житній із насінням соняшнику, їжа ґатунку «Є»"),
    "kk": ("Сүт 3,2% 1 л", "Қазы-қарта, өңделген, үйдің ұнымен һәм ғажап"),
    "en": ("Milk 1 l", "Rye bread with sunflower seeds, sliced, half a loaf"),
}


def sample_receipt(
    language: ReceiptLanguage,
    now: datetime,
    qr_content: str = "https://example.invalid/m/TEST",
    store_name: str = "till",
) -> Receipt:
    """A test receipt in ``language`` whose footer lists its whole alphabet, both cases."""
    alphabet = ALPHABETS[language]
    first, second = _ITEMS[language]
    today = now.date()
    return Receipt(
        language=language,
        currency=_CURRENCY[language],
        store=StoreHeader(store_name),
        check_number="TEST-0001",
        issued_at=now,
        cashier="Admin",
        lines=(
            ReceiptLine(first, Decimal(1), Decimal("89.90"), Decimal("89.90")),
            ReceiptLine(second, Decimal(2), Decimal("1234.50"), Decimal("2469.00")),
        ),
        totals=Totals(Decimal("2558.90"), Decimal("58.90"), Decimal("100")),
        bonus=BonusBlock(
            masked_phone="+7 *** ***-45-67",
            balance_before=Decimal("1250"),
            earned=Decimal("75.5"),
            spent=Decimal("100"),
            new_balance=Decimal("1225.5"),
            earned_provisional=True,
            frozen_points=Decimal("75.5"),
            frozen_until=today + timedelta(days=14),
            expiring=ExpiringSoon(Decimal("300"), date(today.year, 12, 31)),
            tier=TierProgress("Silver", "Gold", Decimal("12500")),
            offer_teaser="x2",
            offline=True,
        ),
        qr=ReceiptQr(qr_content, "account"),
        barcode_check_number=True,
        kind="test",
        footer_lines=(
            f"{label(language, 'alphabet')}:",
            alphabet,
            alphabet.lower(),
            "0123456789 №%+-=()",
        ),
    )
