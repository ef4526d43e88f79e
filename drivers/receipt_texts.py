"""Receipt wording in ru, uk, kk and en, and the alphabets a test print must show.

A small dict per language rather than gettext catalogs: the receipt has some forty fixed
labels and the printer, not the UI, is their only reader.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

from loyalty.receipt import ReceiptLanguage

_RU: Final = {
    "check": "Чек №",
    "cashier": "Кассир",
    "subtotal": "Сумма",
    "discount": "Скидка",
    "paid_with_points": "Оплачено баллами",
    "to_pay": "К оплате",
    "bonus": "Бонусная программа",
    "phone": "Телефон",
    "balance_before": "Баланс до покупки",
    "earned": "Начислено",
    "provisional": "(предварительно)",
    "spent": "Списано",
    "new_balance": "Новый баланс",
    "frozen": "Заморожено до {date}",
    "expiring": "Сгорит {date}",
    "tier": "Уровень",
    "to_next_tier": "До уровня «{name}»",
    "offline_note": "Баллы будут начислены после синхронизации.",
    "qr_account": "Ваш личный кабинет",
    "qr_claim": "Отсканируйте, чтобы получить баллы",
    "claim_title": "Баллы за эту покупку",
    "claim_at_least": "Не менее",
    "claim_how": "Покажите этот код на кассе при следующем визите, чтобы получить баллы.",
    "claim_valid": "Действителен до",
    "kind_return": "ВОЗВРАТ",
    "kind_reprint": "КОПИЯ ЧЕКА",
    "kind_test": "ТЕСТОВАЯ ПЕЧАТЬ",
    "points": "б.",
    "alphabet": "Алфавит",
}

_UK: Final = {
    "check": "Чек №",
    "cashier": "Касир",
    "subtotal": "Сума",
    "discount": "Знижка",
    "paid_with_points": "Сплачено балами",
    "to_pay": "До сплати",
    "bonus": "Бонусна програма",
    "phone": "Телефон",
    "balance_before": "Баланс до покупки",
    "earned": "Нараховано",
    "provisional": "(попередньо)",
    "spent": "Списано",
    "new_balance": "Новий баланс",
    "frozen": "Заморожено до {date}",
    "expiring": "Згорить {date}",
    "tier": "Рівень",
    "to_next_tier": "До рівня «{name}»",
    "offline_note": "Бали буде нараховано після синхронізації.",
    "qr_account": "Ваш особистий кабінет",
    "qr_claim": "Відскануйте, щоб отримати бали",
    "claim_title": "Бали за цю покупку",
    "claim_at_least": "Не менше",
    "claim_how": "Покажіть цей код на касі під час наступного візиту, щоб отримати бали.",
    "claim_valid": "Дійсний до",
    "kind_return": "ПОВЕРНЕННЯ",
    "kind_reprint": "КОПІЯ ЧЕКА",
    "kind_test": "ТЕСТОВИЙ ДРУК",
    "points": "б.",
    "alphabet": "Абетка",
}

_KK: Final = {
    "check": "Чек №",
    "cashier": "Кассир",
    "subtotal": "Сомасы",
    "discount": "Жеңілдік",
    "paid_with_points": "Бонуспен төленді",
    "to_pay": "Төлеуге",
    "bonus": "Бонус бағдарламасы",
    "phone": "Телефон",
    "balance_before": "Сатып алуға дейін",
    "earned": "Есептелді",
    "provisional": "(алдын ала)",
    "spent": "Жұмсалды",
    "new_balance": "Жаңа баланс",
    "frozen": "{date} дейін бұғатталған",
    "expiring": "{date} күйеді",
    "tier": "Деңгей",
    "to_next_tier": "«{name}» деңгейіне дейін",
    "offline_note": "Ұпайлар синхрондаудан кейін есептеледі.",
    "qr_account": "Жеке кабинетіңіз",
    "qr_claim": "Ұпай алу үшін сканерлеңіз",
    "claim_title": "Осы сатып алу үшін ұпайлар",
    "claim_at_least": "Кемінде",
    "claim_how": "Ұпайларды алу үшін келесі келгенде осы кодты кассада көрсетіңіз.",
    "claim_valid": "Жарамды мерзімі",
    "kind_return": "ҚАЙТАРУ",
    "kind_reprint": "ЧЕК КӨШІРМЕСІ",
    "kind_test": "СЫНАҚ БАСЫП ШЫҒАРУ",
    "points": "ұп.",
    "alphabet": "Әліпби",
}

_EN: Final = {
    "check": "Check #",
    "cashier": "Cashier",
    "subtotal": "Subtotal",
    "discount": "Discount",
    "paid_with_points": "Paid with points",
    "to_pay": "To pay",
    "bonus": "Loyalty program",
    "phone": "Phone",
    "balance_before": "Balance before",
    "earned": "Earned",
    "provisional": "(provisional)",
    "spent": "Spent",
    "new_balance": "New balance",
    "frozen": "Frozen until {date}",
    "expiring": "Expiring {date}",
    "tier": "Tier",
    "to_next_tier": "To tier \u201c{name}\u201d",
    "offline_note": "Points will be credited after sync.",
    "qr_account": "Your account",
    "qr_claim": "Scan to claim your points",
    "claim_title": "Points for this check",
    "claim_at_least": "At least",
    "claim_how": "Scan this code at the till at your next visit to collect the points.",
    "claim_valid": "Valid until",
    "kind_return": "RETURN",
    "kind_reprint": "COPY",
    "kind_test": "TEST PRINT",
    "points": "pts",
    "alphabet": "Alphabet",
}

LABELS: Final = MappingProxyType(
    {
        "ru": MappingProxyType(_RU),
        "uk": MappingProxyType(_UK),
        "kk": MappingProxyType(_KK),
        "en": MappingProxyType(_EN),
    }
)
"""Receipt labels by language, then by key."""

CURRENCY_WORDS: Final = MappingProxyType(
    {
        "ru": {"RUB": "руб.", "UAH": "грн", "KZT": "тг"},
        "uk": {"RUB": "руб.", "UAH": "грн", "KZT": "тг"},
        "kk": {"RUB": "руб.", "UAH": "грн", "KZT": "тг"},
        "en": {"RUB": "RUB", "UAH": "UAH", "KZT": "KZT"},
    }
)
"""The word printed after an amount: printers have no ₽ ₴ ₸ glyphs."""

ALPHABETS: Final = MappingProxyType(
    {
        "ru": "АБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯ",
        "uk": "АБВГҐДЕЄЖЗИІЇЙКЛМНОПРСТУФХЦЧШЩЬЮЯ",
        "kk": "АӘБВГҒДЕЁЖЗИЙКҚЛМНҢОӨПРСТУҰҮФХҺЦЧШЩЪЫІЬЭЮЯ",
        "en": "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
    }
)
"""Every capital letter of each receipt language (ru 33, uk 33, kk 42, en 26)."""

BABEL_LOCALES: Final = MappingProxyType(
    {"ru": "ru_RU", "uk": "uk_UA", "kk": "kk_KZ", "en": "en_US"}
)


def label(language: ReceiptLanguage, key: str, **values: str) -> str:
    """The label ``key`` in ``language`` with ``{placeholders}`` filled; raises ``KeyError``."""
    text = LABELS[language][key]
    return text.format(**values) if values else text


def currency_word(language: ReceiptLanguage, currency: str) -> str:
    """The printable word for ``currency`` (an unknown ISO code prints as itself)."""
    return CURRENCY_WORDS[language].get(currency.upper(), currency.upper())
