"""The UI's gettext catalogs are complete and compiled; money and amounts follow the locale."""

from __future__ import annotations

from decimal import Decimal

import pytest

from terminal import i18n
from terminal.locale_build import main as locale_build


def test_catalogs_match_the_code_and_are_compiled() -> None:
    assert locale_build(["--check"]) == 0


@pytest.mark.parametrize(
    ("language", "expected"),
    [("ru", "Итого"), ("uk", "Разом"), ("kk", "Барлығы"), ("en", "Total")],
)
def test_each_language_translates(language: str, expected: str) -> None:
    try:
        i18n.use(language)
        assert i18n._("Total") == expected
    finally:
        i18n.use("en")


def test_money_is_formatted_by_babel_for_the_screen_locale() -> None:
    try:
        i18n.use("ru")
        assert i18n.money(Decimal("1234.5"), "RUB") == "1\xa0234,50\xa0₽"
        i18n.use("kk")
        assert i18n.money(Decimal("10"), "KZT").endswith("₸")
    finally:
        i18n.use("en")


@pytest.mark.parametrize(
    ("text", "amount"),
    [("120", Decimal(120)), ("99,90", Decimal("99.90")), ("99.9", Decimal("99.9"))],
)
def test_typed_amounts(text: str, amount: Decimal) -> None:
    assert i18n.parse_amount(text) == amount


@pytest.mark.parametrize("text", ["", "0", "1.234", "+79161234567", "12a", "12345678"])
def test_not_amounts(text: str) -> None:
    assert i18n.parse_amount(text) is None
