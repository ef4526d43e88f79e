"""The pure receipt model, the text normaliser and the bonus block wording."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from drivers.escpos_decode import decode_escpos
from drivers.receipt_texts import LABELS
from drivers.render import render_receipt
from drivers.sample_receipt import sample_receipt
from drivers.text_normalise import normalise_text
from loyalty.receipt import BonusBlock, ReceiptError, ReceiptLine, Totals

NOW = datetime(2026, 11, 22, 14, 5)


def test_amounts_must_be_decimals() -> None:
    with pytest.raises(ReceiptError, match="amount must be a Decimal, not float"):
        ReceiptLine("Молоко", Decimal(1), Decimal("89.9"), 89.9)  # type: ignore[arg-type]
    with pytest.raises(ReceiptError, match="finite"):
        Totals(Decimal("NaN"))
    assert Totals(Decimal(100), Decimal(10), Decimal(20)).amount_due == Decimal(70)


def test_the_phone_must_arrive_masked() -> None:
    with pytest.raises(ReceiptError, match="masked"):
        BonusBlock("+79161234567", Decimal(0), Decimal(0), Decimal(0), Decimal(0))
    assert BonusBlock("+7 *** ***-45-67", Decimal(0), Decimal(0), Decimal(0), Decimal(0))


@pytest.mark.parametrize(
    ("language", "text", "expected"),
    [
        ("ru", "12\u00a0345,50\u00a0₽", "12 345,50 руб."),
        ("uk", "1\u202f234,00\u00a0₴", "1 234,00 грн"),
        ("kk", "5\u00a0000\u00a0₸", "5 000 тг"),
        ("en", "\u201cGold\u201d \u2014 ₽", '"Gold" - RUB'),
        ("ru", "№5\x1b@\x07 ok\n", "№5@ ok\n"),  # no printer commands smuggled in a name
    ],
)
def test_normalise_text(language: str, text: str, expected: str) -> None:
    assert normalise_text(text, language) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("language", ["ru", "uk", "kk", "en"])
def test_bonus_block_says_everything_in_the_receipt_language(language: str) -> None:
    receipt = sample_receipt(language, NOW)  # type: ignore[arg-type]
    text = decode_escpos(render_receipt(receipt, "TM-T88V", 42), "TM-T88V").text
    labels = LABELS[language]
    for key in ("balance_before", "earned", "provisional", "spent", "new_balance", "tier"):
        assert labels[key] in text, key
    assert labels["frozen"].split("{date}")[0].strip() in text
    assert labels["offline_note"].split()[0] in text
    assert "+7 *** ***-45-67" in text
    assert "1 225,5" in text or "1,225.5" in text  # the new balance, babel-formatted
    frozen_until = date(2026, 12, 6)
    assert str(frozen_until.day) in text


@pytest.mark.parametrize("language", ["ru", "uk", "kk", "en"])
@pytest.mark.parametrize("columns", [32, 42, 48])
def test_claim_block_fits_the_paper_and_decodes_back_to_the_code(
    language: str, columns: int
) -> None:
    from drivers.receipt_layout import Line, QrBlock, layout_receipt
    from loyalty.claims import claim_code, format_claim
    from loyalty.receipt import ClaimBlock, Receipt, ReceiptQr, StoreHeader

    code = claim_code("5d1c0a2e-anonymous-check")
    receipt = Receipt(
        language=language,  # type: ignore[arg-type]
        currency="KZT",
        store=StoreHeader("till"),
        check_number="5D1C0A2E",
        issued_at=NOW,
        lines=(ReceiptLine("Товары", Decimal(1), Decimal("1200.00"), Decimal("1200.00")),),
        totals=Totals(Decimal("1200.00")),
        claim=ClaimBlock(code, Decimal(36), date(2026, 12, 22), provisional=True),
        qr=ReceiptQr(code, "claim"),
        barcode_check_number=True,
    )
    blocks = layout_receipt(receipt, columns)
    lines = [block.text for block in blocks if isinstance(block, Line)]
    assert all(len(line) <= columns for line in lines), lines
    labels = LABELS[language]
    # What it is worth (marked provisional), how to collect it, until when, then QR and code.
    worth = next(i for i, line in enumerate(lines) if line.startswith(labels["claim_at_least"]))
    assert labels["provisional"] in lines[worth] and lines[worth].rstrip().endswith(
        f"36 {labels['points']}"
    )
    assert any(line.startswith(labels["claim_valid"]) and "22" in line for line in lines)
    kinds = [type(block).__name__ for block in blocks]
    qr_at = kinds.index("QrBlock")
    assert blocks[qr_at] == QrBlock(code)
    assert blocks[qr_at + 1] == Line(format_claim(code), "bold", "center")
    assert labels["qr_claim"] not in lines  # the claim block already says what the QR is for

    decoded = decode_escpos(render_receipt(receipt, "TM-T88V", columns), "TM-T88V")
    assert decoded.qr_codes == [code]
    assert decoded.barcodes == ["5D1C0A2E"]
    assert format_claim(code) in decoded.text
    assert labels["claim_title"] in decoded.text
    printed_how = " ".join(decoded.text.split())
    assert labels["claim_how"] in printed_how
