"""Receipt rendering: golden bytes per profile and language, decoded back to every letter."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.errors import DeviceConfigError
from drivers.escpos_decode import decode_escpos
from drivers.receipt_layout import pair, wrap
from drivers.receipt_texts import ALPHABETS
from drivers.render import (
    printable_characters,
    render_receipt,
    render_receipt_detailed,
)
from drivers.sample_receipt import sample_receipt
from loyalty.receipt import BonusBlock, Receipt, ReceiptLine, StoreHeader, Totals

GOLDEN = Path(__file__).parent / "golden" / "drivers"
NOW = datetime(2026, 11, 22, 14, 5)
PROFILES = {"default": 42, "TM-T88V": 42, "POS-5890": 32, "ZJ-5870": 32}
LANGUAGES = ("ru", "uk", "kk", "en")


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("profile", list(PROFILES))
def test_golden_bytes(profile: str, language: str, capsys: pytest.CaptureFixture[str]) -> None:
    data = render_receipt(sample_receipt(language, NOW), profile, PROFILES[profile])  # type: ignore[arg-type]
    path = GOLDEN / f"{profile}-{language}.bin"
    if os.environ.get("TILL_UPDATE_GOLDEN") == "1":
        path.write_bytes(data)
    expected = path.read_bytes()
    if data != expected:
        # Show the difference as text, which is what a reviewer can read.
        assert decode_escpos(data, profile).text == decode_escpos(expected, profile).text
    assert data == expected
    # stdout belongs to the UI: python-escpos must not have printed anything.
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("profile", list(PROFILES))
def test_every_letter_is_printed_as_text_or_as_an_image(profile: str, language: str) -> None:
    rendered = render_receipt_detailed(sample_receipt(language, NOW), profile, PROFILES[profile])  # type: ignore[arg-type]
    decoded = decode_escpos(rendered.data, profile)
    letters = set(ALPHABETS[language]) | set(ALPHABETS[language].lower())
    unprintable = {
        ch for ch in letters if ord(ch) > 127 and ch not in printable_characters(profile)
    }
    in_text = letters & set(decoded.text)
    in_images = letters & set("".join(rendered.image_lines))
    assert in_text | in_images == letters
    # Letters the profile has no code page for never reach the text (no '?'), only images...
    assert not unprintable & in_text
    assert unprintable <= in_images
    # ... and every image line is in the bytes as one raster image.
    qr_and_barcode_images = len(decoded.raster_images) - len(rendered.image_lines)
    assert qr_and_barcode_images == (0 if rendered.native_qr else 2)
    assert "?" not in decoded.text  # the sample has no "?": none was substituted


def test_expected_fallbacks_per_profile() -> None:
    """Spell out which profile needs images for which language (the capabilities say why)."""

    def images(profile: str, language: str) -> bool:
        receipt = sample_receipt(language, NOW)  # type: ignore[arg-type]
        return bool(render_receipt_detailed(receipt, profile, PROFILES[profile]).image_lines)

    # default and TM-T88V have CP1125/CP1251 and RK1048 (with till's kz1048 fix): all text.
    for profile in ("default", "TM-T88V"):
        assert not any(images(profile, lang) for lang in LANGUAGES)
    # POS-5890 has CP1251 (Ukrainian fits) but no RK1048; ZJ-5870 has only CP866.
    assert not images("POS-5890", "uk") and images("POS-5890", "kk")
    assert images("ZJ-5870", "uk") and images("ZJ-5870", "kk") and not images("ZJ-5870", "ru")


def test_kazakh_goes_to_rk1048_slot_53_on_epson() -> None:
    data = render_receipt(sample_receipt("kk", NOW), "TM-T88V", 42)
    assert b"\x1bt\x35" in data  # ESC t 53
    text = decode_escpos(data, "TM-T88V").text
    assert all(letter in text for letter in "ӘҒҚҢӨҰҮҺІәғқңөұүһі")


def test_receipt_starts_with_init_and_code_page() -> None:
    data = render_receipt(sample_receipt("ru", NOW), "TM-T88V", 42)
    assert data.startswith(b"\x1b@\x1bt\x11")  # INIT, then ESC t 17 (CP866)


def test_code_page_is_sent_again_after_a_font_switch() -> None:
    # 42 columns on a 58 mm POS-5890 needs font B (ESC M 1), which resets ESC t on the printer.
    data = render_receipt(sample_receipt("ru", NOW), "POS-5890", 42)
    # (POS-5890 lists CP866 in slots 17 and 59; python-escpos uses the last one.)
    assert data.startswith(b"\x1b@\x1bM\x01\x1bt\x3b")
    assert max(len(line) for line in decode_escpos(data, "POS-5890").lines) == 42


def test_configured_code_page_is_used_and_checked() -> None:
    data = render_receipt(sample_receipt("ru", NOW), "TM-T88V", 42, codepage="CP1251")
    assert data.startswith(b"\x1b@\x1bt\x2e")  # ESC t 46
    assert decode_escpos(data, "TM-T88V").codepages == ["CP1251"]
    with pytest.raises(DeviceConfigError, match="CP1125"):
        render_receipt(sample_receipt("ru", NOW), "ZJ-5870", 32, codepage="CP1125")
    with pytest.raises(DeviceConfigError, match="columns"):
        render_receipt(sample_receipt("ru", NOW), "ZJ-5870", 48)


@pytest.mark.parametrize("columns", [32, 42, 48])
def test_lines_fit_the_width_and_numbers_align_right(columns: int) -> None:
    receipt = Receipt(
        language="ru",
        currency="RUB",
        store=StoreHeader("Магазин «У дома» на углу длинной-предлинной улицы имени кого-то"),
        check_number="42",
        issued_at=NOW,
        lines=(ReceiptLine("Х" * 200, Decimal(3), Decimal("1000000.5"), Decimal("3000001.50")),),
        totals=Totals(Decimal("3000001.50")),
        bonus=BonusBlock("+7 *** ***-45-67", Decimal(0), Decimal(30), Decimal(0), Decimal(30)),
    )
    text = decode_escpos(render_receipt(receipt, "TM-T20II", columns), "TM-T20II").text
    lines = [line for line in text.split("\n") if line.strip()]
    assert max(len(line) for line in lines) <= columns
    assert any(line.endswith("3 000 001,50") and len(line) == columns for line in lines)
    assert any(line.endswith("...") for line in lines)  # the 200-letter name was truncated
    assert "\u00a0" not in text and "₽" not in text


def test_importing_drivers_does_not_import_escpos_pil_or_qrcode() -> None:
    code = (
        "import sys, drivers.render, drivers.receipt_layout, drivers.escpos_decode,"
        " drivers.factory, drivers.print_worker, drivers.serial_scanner, drivers.keyboard_wedge;"
        "print(sorted(m for m in ('escpos', 'PIL', 'qrcode') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]"


def test_capabilities_file_and_pickle_dir_are_set_on_first_use(tmp_path: Path) -> None:
    code = (
        "import os, drivers.escpos_env as e; e.escpos_capabilities();"
        "print(os.environ['ESCPOS_CAPABILITIES_FILE']);"
        "print(os.environ['ESCPOS_CAPABILITIES_PICKLE_DIR']);"
        "import logging; print(len(logging.getLogger().handlers))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("ESCPOS_")}
    env["XDG_CACHE_HOME"] = str(tmp_path)
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env
    )
    capabilities, pickle_dir, root_handlers = result.stdout.split()
    assert root_handlers == "0"  # escpos's logging.basicConfig() was undone
    assert capabilities.endswith("drivers/capabilities.json")
    assert pickle_dir.startswith(str(tmp_path))
    assert any(Path(pickle_dir).glob("*.capabilities.pickle"))


def test_qr_mode_native_image_or_off() -> None:
    receipt = sample_receipt("ru", NOW, qr_content="https://m.example/42")
    native = decode_escpos(render_receipt(receipt, "TM-T88V", 42, qr="auto"), "TM-T88V")
    image = decode_escpos(render_receipt(receipt, "TM-T88V", 42, qr="image"), "TM-T88V")
    off = decode_escpos(render_receipt(receipt, "TM-T88V", 42, qr="off"), "TM-T88V")
    assert native.qr_codes == ["https://m.example/42"] and not native.raster_images
    assert image.qr_codes == [] and len(image.raster_images) == 1
    assert off.qr_codes == [] and not off.raster_images
    # An image QR costs far more bytes: the reason native is preferred.
    assert len(image.raster_images[0][2]) > 10 * len("https://m.example/42")


def test_python_escpos_prints_nothing_to_stdout_even_on_first_import() -> None:
    # Images, image QR and a software barcode are the paths where python-escpos prints.
    code = (
        "from datetime import datetime; from drivers.render import render_receipt;"
        "from drivers.sample_receipt import sample_receipt;"
        "[render_receipt(sample_receipt(l, datetime(2026, 1, 1)), p, 32)"
        " for p in ('ZJ-5870', 'POS-5890', 'default') for l in ('kk', 'uk')]"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout == ""


@given(
    left=st.text(alphabet="абв гдеёжз ABC 123", max_size=120),
    right=st.text(alphabet="0123456789 ,.-", max_size=30),
    width=st.sampled_from([32, 42, 48]),
)
def test_pair_and_wrap_never_exceed_the_width(left: str, right: str, width: int) -> None:
    lines = pair(left, right, width)
    assert all(len(line) <= width for line in lines)
    assert lines[-1].endswith(right)  # numbers stay right-aligned at the edge
    assert all(len(line) <= width for line in wrap(left, width))


def test_a_profile_without_paper_width_fails_clearly_instead_of_printing_to_stdout(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from drivers.errors import RenderError

    # "simple" has only CP437 and no paper width: Cyrillic would need an image it cannot place.
    with pytest.raises(RenderError, match="does not give its paper width"):
        render_receipt(sample_receipt("ru", NOW), "simple", 32)
    # RP326 has no width either, but prints Russian, QR and barcode natively.
    text = decode_escpos(render_receipt(sample_receipt("ru", NOW), "RP326", 42), "RP326").text
    assert set(ALPHABETS["ru"]) <= set(text)
    assert capsys.readouterr().out == ""
