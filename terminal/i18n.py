"""The cashier screen's language: gettext catalogs for ru, uk, kk, en and Babel formatting.

Catalogs live in ``terminal/locale/<lang>/LC_MESSAGES/till.po`` and are compiled to ``.mo``
beside them (``uv run python -m terminal.locale_build``); only the ``.mo`` is read at start-up,
so cold start pays for one small file. Babel is imported on the first amount formatted, not at
import time.

The screen language is process-wide state on purpose: every widget would otherwise need the
translator passed down, and the admin screen switches it for the whole app at once.
"""

from __future__ import annotations

import gettext
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from babel import Locale
    from babel.numbers import NumberPattern

LOCALE_DIR = Path(__file__).with_name("locale")
"""Where the gettext catalogs live."""

DOMAIN = "till"
LANGUAGES = ("ru", "uk", "kk", "en")
BABEL_LOCALES = {"ru": "ru_RU", "uk": "uk_UA", "kk": "kk_KZ", "en": "en_GB"}
"""Babel locale per screen language (en_GB: day-month dates like the rest of the region)."""

_current: gettext.NullTranslations = gettext.NullTranslations()
_language = "en"


@cache
def _catalog(language: str) -> gettext.NullTranslations:
    return gettext.translation(DOMAIN, LOCALE_DIR, languages=[language], fallback=True)


def use(language: str) -> None:
    """Switch the screen language; unknown languages fall back to English text."""
    global _current, _language
    _language = language if language in LANGUAGES else "en"
    _current = _catalog(_language)


def language() -> str:
    """The current screen language."""
    return _language


def _(message: str) -> str:
    """The message in the current screen language."""
    return _current.gettext(message)


def N_(message: str) -> str:
    """Mark ``message`` for translation without translating it now (class attributes)."""
    return message


def ngettext(singular: str, plural: str, count: int) -> str:
    """The plural form for ``count`` (ru and uk have three forms, kk two)."""
    return _current.ngettext(singular, plural, count)


def money(amount: Decimal, currency: str) -> str:
    """``amount`` as money in the screen locale, e.g. ``1 234,50 ₽``."""
    from babel.numbers import format_currency

    return format_currency(amount, currency, locale=BABEL_LOCALES[_language])


def points(amount: Decimal) -> str:
    """Points with grouping and at most two decimals, e.g. ``1 234,5``."""
    pattern, locale = _points_format(_language)
    text: str = pattern.apply(amount, locale)
    return text


@cache
def _points_format(language: str) -> tuple[NumberPattern, Locale]:
    # Parsed once per language: the member panel formats five figures on every scan, and
    # format_decimal would look the locale up and parse the pattern again for each.
    from babel import Locale
    from babel.numbers import parse_pattern

    return parse_pattern("#,##0.##"), Locale.parse(BABEL_LOCALES[language])


def local(moment: datetime) -> datetime:
    """``moment`` on the till's own clock (the box's timezone); a naive one is taken as is.

    The till keeps and sends times in UTC; people read them, and the calendar day they fall
    on, in the store's time: a sale at 00:30 in Almaty is on the 1st, not on the 31st.
    """
    return moment.astimezone() if moment.tzinfo is not None else moment


def day(moment: date | datetime) -> str:
    """A date in the screen locale's short form (a datetime: its local day)."""
    from babel.dates import format_date

    value = local(moment).date() if isinstance(moment, datetime) else moment
    return format_date(value, format="short", locale=BABEL_LOCALES[_language])


def clock(moment: datetime) -> str:
    """Hours and minutes (24-hour clock in every supported locale)."""
    return local(moment).strftime("%H:%M")


def parse_amount(text: str) -> Decimal | None:
    """A typed amount (``120``, ``99,90``, ``99.9``) as Decimal, or None when it is not one."""
    cleaned = text.strip().replace(" ", "").replace("\u00a0", "").replace(",", ".")
    if not cleaned or cleaned.count(".") > 1:
        return None
    whole, _dot, cents = cleaned.partition(".")
    if not whole.isdigit() or not whole.isascii() or len(whole) > 7:
        return None
    if cents and (not cents.isdigit() or len(cents) > 2):
        return None
    value = Decimal(cleaned)
    return value if value > 0 else None
