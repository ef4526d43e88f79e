"""config.toml: the shipped default is valid, and every kind of mistake gets one clear line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from terminal.cli import main
from terminal.config import ConfigError, load_settings
from terminal.pins import hash_pin, verify_pin

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("TILL_"):
            monkeypatch.delenv(name)


def check(path: Path) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["config", "check", "--config", str(path)])
    return result.exit_code, result.output


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_default_is_valid_and_documents_every_key() -> None:
    settings = load_settings(ROOT / "config.toml")
    assert settings.till.region == "RU"
    text = (ROOT / "config.toml").read_text(encoding="utf-8")
    for section_name, section in settings:
        assert f"[{section_name}]" in text
        for key in section.as_dict():
            assert key in text, f"config.toml does not document {section_name}.{key}"


def test_claims_are_on_by_default_and_can_be_turned_off(tmp_path: Path) -> None:
    assert load_settings(ROOT / "config.toml").till.claims is True
    assert load_settings(write(tmp_path, "[till]\nclaims = false\n")).till.claims is False


def test_ok_prints_config_ok() -> None:
    code, output = check(ROOT / "config.toml")
    assert (code, output.strip()) == (0, "config OK")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[scanner]\nbaudrate = 96000\n", "scanner.baudrate: 96000 is not a standard rate"),
        ("[printer]\nkind = 'laser'\n", "printer.kind: 'laser' is not one of"),
        ("[printer]\ncolumns = 40\n", "printer.columns: 40 is not one of"),
        ("[till]\nregion = 'US'\n", "till.region: 'US' is not one of"),
        ("[till]\nstore = 'x'\n", "till.store: unknown key"),
        ("[bogus]\nx = 1\n", "bogus: unknown key"),
        ("[scanner]\ngap_ms = 'fast'\n", "scanner.gap_ms: 'fast' is not a whole number"),
        ("[scanner]\ngap_ms = 0\n", "scanner.gap_ms: 0 is out of range"),
        ("[printer]\nport = 70000\n", "printer.port: 70000 is out of range"),
        ("[offline]\nper_check_cap = -5\n", "offline.per_check_cap: -5 is out of range"),
        (
            "[offline]\nspend_enabled = 'maybe'\n",
            "offline.spend_enabled: 'maybe' is not true or false",
        ),
        ("[till]\nclaims = 'maybe'\n", "till.claims: 'maybe' is not true or false"),
        ("[processing]\nurl = 'ftp://x'\n", "processing.url: 'ftp://x' is not an http"),
        ("till = 5\n", "till: must be a table"),
        ("[security]\nadmin_pin_hash = '1234'\n", "security.admin_pin_hash: is not a PIN hash"),
    ],
)
def test_each_bad_value_gets_one_line_and_exit_2(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    code, output = check(path)
    assert code == 2
    lines = output.strip().splitlines()
    assert len(lines) == 1, output
    assert lines[0].startswith(f"{path}: "), output
    assert expected in lines[0]
    assert "Traceback" not in output


def test_several_problems_give_several_lines(tmp_path: Path) -> None:
    path = write(tmp_path, "[scanner]\nbaudrate = 1\nsuffix = 'tab'\n[printer]\nkind = 3\n")
    code, output = check(path)
    assert code == 2
    assert len(output.strip().splitlines()) == 3


def test_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "[till]\nstore_id = 'a'\nlanguage = \n")
    code, output = check(path)
    assert code == 2
    assert output.startswith(f"{path}: TOML syntax error") and "line 3" in output


def test_missing_file(tmp_path: Path) -> None:
    code, output = check(tmp_path / "nope.toml")
    assert code == 2
    assert output.strip() == f"{tmp_path / 'nope.toml'}: file not found"


def test_directory_and_binary_files(tmp_path: Path) -> None:
    code, output = check(tmp_path)
    assert code == 2 and "is a directory" in output
    binary = tmp_path / "bin.toml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    code, output = check(binary)
    assert code == 2 and output.strip() == f"{binary}: is not UTF-8 text"


def test_environment_overrides_file_and_is_named_when_wrong(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, "[printer]\nkind = 'none'\n")
    monkeypatch.setenv("TILL_PRINTER__KIND", "file")
    assert load_settings(path).printer.kind == "file"
    monkeypatch.setenv("TILL_SCANNER__BAUDRATE", "96000")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert caught.value.problems == [
        "environment TILL_SCANNER__BAUDRATE: scanner.baudrate: 96000 is not a standard rate"
    ]


def test_till_config_env_names_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "[till]\nlanguage = 'en'\n")
    monkeypatch.setenv("TILL_CONFIG", str(path))
    assert load_settings().till.language == "en"


def test_api_key_never_printed_and_env_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, "[processing]\napi_key = 'sekret-123'\napi_key_env = 'MY_KEY'\n")
    settings = load_settings(path)
    assert "sekret-123" not in repr(settings)
    assert settings.processing.resolved_api_key() == "sekret-123"
    monkeypatch.setenv("MY_KEY", "from-env")
    assert settings.processing.resolved_api_key() == "from-env"


def test_run_refuses_a_bad_config_without_traceback(tmp_path: Path) -> None:
    path = write(tmp_path, "[scanner]\nbaudrate = 96000\n")
    result = subprocess.run(
        [sys.executable, "-m", "terminal", "run", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == f"{path}: scanner.baudrate: 96000 is not a standard rate"


def test_pin_hash_round_trip() -> None:
    stored = hash_pin("4821")
    # Only the scheme, a 16-byte salt and a 64-byte digest, in hex: no room for the PIN itself.
    # (Looking for "4821" in the text failed about once in 700 runs: hex digits spell it too.)
    scheme, salt, digest = stored.split("$")
    assert scheme == "scrypt" and len(salt) == 32 and len(digest) == 128
    assert set(salt + digest) <= set("0123456789abcdef")
    assert verify_pin("4821", stored)
    assert not verify_pin("4822", stored)
    assert not verify_pin("4821", "scrypt$zz$zz")
    with pytest.raises(ValueError):
        hash_pin("12")


def test_environment_numbers_for_fixed_choices(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every environment value is text; a number among fixed choices must still be understood.
    path = write(tmp_path, "")
    monkeypatch.setenv("TILL_PRINTER__COLUMNS", "42")
    monkeypatch.setenv("TILL_SCANNER__STOPBITS", "2")
    settings = load_settings(path)
    assert (settings.printer.columns, settings.scanner.stopbits) == (42, 2)
    monkeypatch.setenv("TILL_PRINTER__COLUMNS", "43")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert caught.value.problems == [
        "environment TILL_PRINTER__COLUMNS: printer.columns: "
        "'43' is not one of 32, 42, 48, 56 or 64"
    ]
