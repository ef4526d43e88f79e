"""Lay a receipt out as printable lines for a paper width: pure, no printer involved.

The result is a tuple of blocks (:class:`Line`, :class:`QrBlock`, :class:`BarcodeBlock`) that
``drivers.render`` turns into ESC/POS bytes. Text is already normalised (no NBSP, no ₽ ₴ ₸), fits
``columns``, numbers are right-aligned, long names wrap to at most three lines and then
truncate with "...".
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from babel.dates import format_date, format_time
from babel.numbers import format_decimal

from drivers.receipt_texts import BABEL_LOCALES, currency_word, label
from drivers.text_normalise import normalise_text
from loyalty.claims import format_claim
from loyalty.receipt import BonusBlock, ClaimBlock, Receipt, ReceiptLanguage, ReceiptLine

Style = Literal["normal", "bold", "title"]
Align = Literal["left", "center"]

MAX_NAME_LINES = 3


@dataclass(frozen=True)
class Line:
    """One printed line of at most ``columns`` characters."""

    text: str
    style: Style = "normal"
    align: Align = "left"


@dataclass(frozen=True)
class QrBlock:
    """A QR code with its content."""

    content: str


@dataclass(frozen=True)
class BarcodeBlock:
    """A CODE128 barcode of the check number (used for returns)."""

    data: str


Block = Line | QrBlock | BarcodeBlock


class _Formatter:
    def __init__(self, language: ReceiptLanguage, currency: str) -> None:
        self.language = language
        self.locale = BABEL_LOCALES[language]
        self.currency = currency_word(language, currency)

    def money(self, amount: Decimal, sign: str = "") -> str:
        text = format_decimal(amount, "#,##0.00", locale=self.locale)
        return normalise_text(f"{sign}{text} {self.currency}", self.language)

    def plain(self, amount: Decimal) -> str:
        """An amount without the currency word (item lines)."""
        return normalise_text(format_decimal(amount, "#,##0.00", locale=self.locale), self.language)

    def points(self, amount: Decimal, sign: str = "") -> str:
        text = format_decimal(amount, "#,##0.##", locale=self.locale)
        return normalise_text(f"{sign}{text} {label(self.language, 'points')}", self.language)

    def number(self, amount: Decimal) -> str:
        return normalise_text(
            format_decimal(amount, "#,##0.###", locale=self.locale), self.language
        )

    def day(self, value: date) -> str:
        return normalise_text(format_date(value, "short", locale=self.locale), self.language)

    def moment(self, value: datetime) -> str:
        day = format_date(value, "short", locale=self.locale)
        clock = format_time(value, "HH:mm", locale=self.locale)
        return normalise_text(f"{day} {clock}", self.language)


def _truncate(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(0, width - 3)] + "..."


def wrap(text: str, width: int, max_lines: int = MAX_NAME_LINES) -> list[str]:
    """``text`` wrapped to ``width``; past ``max_lines`` the last line ends with "..."."""
    lines = textwrap.wrap(text, width, break_long_words=True, break_on_hyphens=False) or [""]
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        last = lines[-1]
        lines[-1] = (last if len(last) + 4 <= width else last[: width - 4].rstrip()) + " ..."
    return lines


def pair(left: str, right: str, width: int) -> list[str]:
    """``left`` and a right-aligned ``right`` on one line, or ``left`` wrapped above it."""
    right = _truncate(right, width)
    if len(left) + 1 + len(right) <= width:
        return [left + " " * (width - len(left) - len(right)) + right]
    lines = wrap(left, width)
    if len(lines[-1]) + 1 + len(right) <= width:
        last = lines.pop()
        return [*lines, last + " " * (width - len(last) - len(right)) + right]
    return [*lines, right.rjust(width)]


def _lines(texts: list[str], style: Style = "normal", align: Align = "left") -> list[Block]:
    return [Line(text, style, align) for text in texts]


def _item(line: ReceiptLine, fmt: _Formatter, width: int) -> list[Block]:
    name = normalise_text(line.name, fmt.language)
    amount = fmt.plain(line.amount)
    if line.quantity == 1:
        return _lines(pair(name, amount, width))
    detail = f"  {fmt.number(line.quantity)} x {fmt.plain(line.unit_price)}"
    return _lines(wrap(name, width)) + _lines(pair(detail, amount, width))


def _bonus(bonus: BonusBlock, fmt: _Formatter, width: int) -> list[Block]:
    lang = fmt.language
    out: list[Block] = [
        Line("=" * width),
        Line(_truncate(label(lang, "bonus"), width), "bold", "center"),
    ]
    if bonus.masked_phone:
        out += _lines(pair(label(lang, "phone"), normalise_text(bonus.masked_phone, lang), width))
    out += _lines(pair(label(lang, "balance_before"), fmt.points(bonus.balance_before), width))
    earned = label(lang, "earned")
    if bonus.earned_provisional:
        earned = f"{earned} {label(lang, 'provisional')}"
    out += _lines(pair(earned, fmt.points(bonus.earned, "+"), width))
    if bonus.spent:
        out += _lines(pair(label(lang, "spent"), fmt.points(bonus.spent, "-"), width))
    out += _lines(pair(label(lang, "new_balance"), fmt.points(bonus.new_balance), width), "bold")
    if bonus.frozen_until is not None:
        frozen = label(lang, "frozen", date=fmt.day(bonus.frozen_until))
        amount = fmt.points(bonus.frozen_points) if bonus.frozen_points is not None else ""
        out += _lines(pair(frozen, amount, width) if amount else wrap(frozen, width))
    if bonus.expiring is not None:
        expiring = label(lang, "expiring", date=fmt.day(bonus.expiring.on))
        out += _lines(pair(expiring, fmt.points(bonus.expiring.points), width))
    if bonus.tier is not None:
        out += _lines(pair(label(lang, "tier"), normalise_text(bonus.tier.tier_name, lang), width))
        if bonus.tier.next_tier_name and bonus.tier.remaining_to_next is not None:
            name = normalise_text(bonus.tier.next_tier_name, lang)
            out += _lines(
                pair(
                    label(lang, "to_next_tier", name=name),
                    fmt.money(bonus.tier.remaining_to_next),
                    width,
                )
            )
    if bonus.offer_teaser:
        out += _lines(wrap(normalise_text(bonus.offer_teaser, lang), width), align="center")
    if bonus.offline:
        out += _lines(wrap(label(lang, "offline_note"), width, max_lines=4), "bold")
    return out


def bonus_text(
    bonus: BonusBlock, language: ReceiptLanguage, currency: str, width: int
) -> list[str]:
    """The bonus block alone as plain lines of at most ``width`` characters, for a fiscal
    register that prints the loyalty part of its own receipt as text."""
    return _plain(_bonus(bonus, _Formatter(language, currency), width), width)


def claim_text(
    claim: ClaimBlock, language: ReceiptLanguage, currency: str, width: int
) -> list[str]:
    """The claim block and its code, digits grouped, as plain lines of at most ``width``
    characters, for a fiscal register that prints it as text (with the code as its QR)."""
    blocks = _claim(claim, _Formatter(language, currency), width)
    blocks.append(Line(_truncate(format_claim(claim.code), width), "bold", "center"))
    return _plain(blocks, width)


def _plain(blocks: list[Block], width: int) -> list[str]:
    out: list[str] = []
    for block in blocks:
        if isinstance(block, Line):
            text = block.text.center(width) if block.align == "center" else block.text
            out.append(text.rstrip())
    return out


def _claim(claim: ClaimBlock, fmt: _Formatter, width: int) -> list[Block]:
    """The claim block's words: what the code is worth, how to collect it, until when.

    The QR and the code itself follow it (see :func:`layout_receipt`).
    """
    lang = fmt.language
    out: list[Block] = [
        Line("=" * width),
        Line(_truncate(label(lang, "claim_title"), width), "bold", "center"),
    ]
    if claim.earn_at_least is not None:
        least = label(lang, "claim_at_least")
        if claim.provisional:
            least = f"{least} {label(lang, 'provisional')}"
        out += _lines(pair(least, fmt.points(claim.earn_at_least), width), "bold")
    out += _lines(wrap(label(lang, "claim_how"), width, max_lines=4), align="center")
    out += _lines(pair(label(lang, "claim_valid"), fmt.day(claim.valid_until), width))
    return out


def layout_receipt(receipt: Receipt, columns: int) -> tuple[Block, ...]:
    """The blocks of ``receipt`` laid out for ``columns`` characters per line.

    Raises ``ValueError`` when ``columns`` is below 24 (no real receipt printer is that narrow).
    """
    if columns < 24:
        raise ValueError(f"A receipt needs at least 24 columns, not {columns}.")
    lang = receipt.language
    fmt = _Formatter(lang, receipt.currency)
    width = columns
    out: list[Block] = []
    store = receipt.store
    out += _lines(wrap(normalise_text(store.name, lang), width, 2), "title", "center")
    for address in store.address_lines:
        out += _lines(wrap(normalise_text(address, lang), width, 2), align="center")
    if store.tax_id:
        out += _lines([_truncate(normalise_text(store.tax_id, lang), width)], align="center")
    if receipt.kind != "sale":
        out.append(Line(_truncate(label(lang, f"kind_{receipt.kind}"), width), "bold", "center"))
    check = f"{label(lang, 'check')}{normalise_text(receipt.check_number, lang)}"
    out += _lines(pair(check, fmt.moment(receipt.issued_at), width))
    if receipt.cashier:
        out += _lines(pair(label(lang, "cashier"), normalise_text(receipt.cashier, lang), width))
    out.append(Line("-" * width))
    for item in receipt.lines:
        out += _item(item, fmt, width)
    out.append(Line("-" * width))
    totals = receipt.totals
    out += _lines(pair(label(lang, "subtotal"), fmt.money(totals.subtotal), width))
    if totals.discount:
        out += _lines(pair(label(lang, "discount"), fmt.money(totals.discount, "-"), width))
    if totals.paid_with_points:
        out += _lines(
            pair(label(lang, "paid_with_points"), fmt.money(totals.paid_with_points, "-"), width)
        )
    out += _lines(pair(label(lang, "to_pay"), fmt.money(totals.amount_due), width), "bold")
    if receipt.bonus is not None:
        out += _bonus(receipt.bonus, fmt, width)
    claim = receipt.claim
    if claim is not None:
        out += _claim(claim, fmt, width)
    if receipt.qr is not None:
        # A claim block has already said what its QR is for.
        if receipt.qr.kind == "account" or claim is None:
            caption = label(lang, "qr_account" if receipt.qr.kind == "account" else "qr_claim")
            out += _lines(wrap(caption, width, 2), align="center")
        out.append(QrBlock(receipt.qr.content))
    if claim is not None:
        # Under the QR, for a scanner that cannot read it and for typing it in by hand.
        out.append(Line(_truncate(format_claim(claim.code), width), "bold", "center"))
    for footer in receipt.footer_lines:
        out += _lines(wrap(normalise_text(footer, lang), width, 4), align="center")
    if receipt.barcode_check_number:
        out.append(BarcodeBlock(receipt.check_number))
    return tuple(out)
