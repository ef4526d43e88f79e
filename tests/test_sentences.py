"""One sentence map: every adapter error and every protocol code has a translated sentence."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path
from typing import Any

import pytest
from babel.messages.pofile import read_po

import drivers
import loyalty
import offline_cache
import processing
from drivers.errors import DeviceError
from loyalty.errors import InvalidPhone, LoyaltyError
from offline_cache.errors import CacheError, CorruptDatabase
from processing.errors import ErrorCode, Offline, ProcessingError, Rejected
from terminal import i18n, sentences
from terminal.app import TillApp
from terminal.i18n import LANGUAGES
from terminal.pins import hash_pin
from terminal.printing import PRINT_FAILED
from terminal.screens.admin import AdminScreen
from tests.support.ui import app_for, drive, message, press, till_settings

PIN = "4321"
CATALOGS = Path(i18n.LOCALE_DIR)


def _adapter_errors() -> set[type[BaseException]]:
    """Every exception class the adapters and the core define (the server's half excluded)."""
    for package in (drivers, loyalty, offline_cache, processing):
        for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if not module.name.startswith("processing.server"):
                importlib.import_module(module.name)
    found: set[type[BaseException]] = set()
    todo: list[type[BaseException]] = [ProcessingError, CacheError, DeviceError, LoyaltyError]
    while todo:
        cls = todo.pop()
        if cls.__module__.startswith("processing.server"):
            continue
        found.add(cls)
        todo += cls.__subclasses__()
    return found


def test_every_adapter_error_has_its_own_sentence() -> None:
    # A refusal is worded by its code (the next test), not by its type.
    errors = _adapter_errors() - {Rejected}
    missing = {cls.__qualname__ for cls in errors if cls not in sentences.TYPES}
    assert not missing, f"add these to terminal/sentences.py TYPES: {sorted(missing)}"


def test_every_protocol_code_has_a_sentence() -> None:
    assert set(ErrorCode) == set(sentences.REJECTIONS)


def _templates() -> set[str]:
    return {
        *sentences.REJECTIONS.values(),
        *sentences.TYPES.values(),
        sentences.UNKNOWN_REJECTION,
        sentences.GENERIC,
        PRINT_FAILED,
    }


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_sentence_is_in_every_catalog(language: str) -> None:
    with (CATALOGS / language / "LC_MESSAGES" / "till.po").open("rb") as po:
        catalog = read_po(po, locale=language)
    absent = sorted(t for t in _templates() if catalog.get(t) is None)
    # English is the msgid itself; the others must say it in their own words.
    untranslated = sorted(
        t for t in _templates() if language != "en" and catalog.get(t) and not catalog.get(t).string
    )
    assert not absent and not untranslated, (absent, untranslated)


def test_sentences_fill_their_fields_and_speak_the_screen_language() -> None:
    try:
        i18n.use("ru")
        damaged = sentences.sentence(CorruptDatabase("/var/till/till.sqlite3", "not a database"))
        assert "/var/till/till.sqlite3" in damaged and "повреждена" in damaged
        assert sentences.sentence(InvalidPhone("'12' is too short")) == _ru(
            "This is not a valid phone number."
        )
        unknown = sentences.sentence(Rejected("brand_new_code", "New server words"))
        assert "brand_new_code" in unknown and "New server words" not in unknown
        assert sentences.sentence(Rejected("member_blocked", "Blocked")) == _ru(
            "This member is blocked: no points on this sale."
        )
    finally:
        i18n.use("en")


def _ru(msgid: str) -> str:
    with (CATALOGS / "ru" / "LC_MESSAGES" / "till.po").open("rb") as po:
        found: Any = read_po(po, locale="ru").get(msgid)
    assert found is not None and found.string
    return str(found.string)


def test_the_admin_connection_test_speaks_russian(tmp_path: Path) -> None:
    # Nothing listens on port 9: the connection test fails the way a dead server does.
    settings = till_settings(
        tmp_path,
        "http://127.0.0.1:9",
        "key",
        till={"language": "ru"},
        security={"admin_pin_hash": hash_pin(PIN)},
    )
    app = app_for(settings, cashier=None)
    out: dict[str, str] = {}

    async def scenario(app: TillApp, pilot: Any) -> None:
        await press(pilot, "f12", *PIN, "enter")
        assert isinstance(app.screen, AdminScreen) and app.screen.unlocked
        await press(pilot, "f5")
        out["message"] = message(app)

    try:
        drive(app, scenario)
    finally:
        i18n.use("en")
    offline = Offline("The processing server cannot be reached.")
    assert out["message"] == _ru(sentences.TYPES[type(offline)]), out["message"]
