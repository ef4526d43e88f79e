"""``till devices``: test-print to a file printer decodes to every letter; test-scan on a pty."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import tty
from pathlib import Path

import pytest
from click.testing import CliRunner

from drivers.escpos_decode import decode_escpos
from drivers.receipt_texts import ALPHABETS
from terminal.cli import main


def write_config(tmp_path: Path, printer: str, scanner: str = "") -> Path:
    config = tmp_path / "config.toml"
    config.write_text(f"[printer]\n{printer}\n[scanner]\n{scanner}\n", encoding="utf-8")
    return config


@pytest.mark.parametrize("language", ["ru", "uk", "kk"])
def test_test_print_to_a_file_decodes_to_every_letter(tmp_path: Path, language: str) -> None:
    out = tmp_path / "receipts.bin"
    config = write_config(
        tmp_path, f'kind = "file"\npath = "{out}"\nprofile = "TM-T88V"\ncolumns = 42'
    )
    result = CliRunner().invoke(
        main, ["devices", "test-print", "--config", str(config), "--lang", language]
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"Printed a {language} test receipt to file {out}")
    decoded = decode_escpos(out.read_bytes(), "TM-T88V")
    letters = ALPHABETS[language] + ALPHABETS[language].lower()
    assert set(letters) <= set(decoded.text)
    assert decoded.qr_codes == ["TEST-CLAIM-0001"]
    assert "1 225,5" in decoded.text  # the bonus block's new balance


def test_test_print_without_a_printer_says_so(tmp_path: Path) -> None:
    config = write_config(tmp_path, 'kind = "none"')
    result = CliRunner().invoke(main, ["devices", "test-print", "--config", str(config)])
    assert result.exit_code == 1
    assert result.output.startswith("Not printed: no printer is configured")


def test_test_print_says_which_letters_went_as_images(tmp_path: Path) -> None:
    out = tmp_path / "receipts.bin"
    config = write_config(
        tmp_path, f'kind = "file"\npath = "{out}"\nprofile = "ZJ-5870"\ncolumns = 32'
    )
    result = CliRunner().invoke(
        main, ["devices", "test-print", "--config", str(config), "--lang", "uk"]
    )
    assert result.exit_code == 0, result.output
    assert "Profile ZJ-5870 has no code page for" in result.output
    line = next(line for line in result.output.splitlines() if "no code page" in line)
    # CP866 (the only Cyrillic page of ZJ-5870) has Є and Ї but not Ґ and І.
    assert all(letter in line for letter in "ҐґІі") and "Є" not in line
    assert decode_escpos(out.read_bytes(), "ZJ-5870").raster_images


def test_test_print_reports_an_unreachable_printer_in_one_line(tmp_path: Path) -> None:
    config = write_config(tmp_path, f'kind = "serial"\ndevice = "{tmp_path / "ttyNone"}"')
    result = CliRunner().invoke(main, ["devices", "test-print", "--config", str(config)])
    assert result.exit_code == 1
    assert result.output.strip().count("\n") == 0
    assert "cannot be opened" in result.output and "Traceback" not in result.output


def test_devices_lists_ports_by_default() -> None:
    result = CliRunner().invoke(main, ["devices"])
    assert result.exit_code == 0, result.output
    assert "Serial ports:" in result.output and "USB printers:" in result.output


def test_devices_takes_config_like_every_other_command(tmp_path: Path) -> None:
    out = tmp_path / "receipts.bin"
    config = write_config(tmp_path, f'kind = "file"\npath = "{out}"')
    listed = CliRunner().invoke(main, ["devices", "--config", str(config)])
    assert listed.exit_code == 0, listed.output
    assert "Serial ports:" in listed.output
    listed = CliRunner().invoke(main, ["devices", "list", "--config", str(config)])
    assert listed.exit_code == 0, listed.output
    # Given to the group, it is the file the subcommand uses.
    printed = CliRunner().invoke(main, ["devices", "--config", str(config), "test-print"])
    assert printed.exit_code == 0, printed.output
    assert out.stat().st_size > 0
    missing = CliRunner().invoke(main, ["devices", "--config", str(tmp_path / "none.toml")])
    assert missing.exit_code == 2 and "none.toml" in missing.output


def test_test_scan_shows_scans_with_symbology(tmp_path: Path) -> None:
    master, slave = os.openpty()
    tty.setraw(slave)
    config = write_config(
        tmp_path, 'kind = "none"', f'kind = "serial"\nport = "{os.ttyname(slave)}"'
    )
    done = threading.Event()

    def keep_scanning() -> None:
        # The port is flushed when the reader opens it, so repeat until the command is done.
        for _ in range(400):
            if done.wait(0.025):
                return
            os.write(master, b"]E04601234567893\r")

    writer = threading.Thread(target=keep_scanning, daemon=True)
    writer.start()
    try:
        result = CliRunner().invoke(
            main,
            ["devices", "test-scan", "--config", str(config), "--count", "2", "--seconds", "10"],
        )
    finally:
        done.set()
        writer.join(5)
        os.close(master)
        os.close(slave)
    assert result.exit_code == 0, result.output
    assert "]E0 EAN/UPC  '4601234567893'  (13 chars)" in result.output
    assert result.output.rstrip().endswith("2 scan(s).")


def _keyboard_test_scan(tmp_path: Path, *args: str) -> tuple[subprocess.Popen[str], int]:
    """``till devices test-scan`` for a keyboard scanner, its stdin a pty as a console's is."""
    config = write_config(tmp_path, 'kind = "none"', 'kind = "keyboard"\nkeyboard_max_gap_ms = 50')
    master, slave = os.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "terminal", "devices", "test-scan", "--config", str(config), *args],
        stdin=slave,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    os.close(slave)
    assert proc.stdout is not None
    first = proc.stdout.readline()  # cbreak mode is on once this is printed
    assert first.startswith("Scan into this terminal"), first + proc.stderr.read()
    return proc, master


def test_keyboard_test_scan_maps_a_cyrillic_burst_back(tmp_path: Path) -> None:
    proc, master = _keyboard_test_scan(tmp_path, "--count", "1", "--seconds", "20")
    try:
        # A wedge scanner under the Russian layout types SPRING-2026 as these keys, in a burst.
        os.write(master, "ЫЗКШТП-2026\r".encode())
        out, err = proc.communicate(timeout=30)
    finally:
        os.close(master)
    assert proc.returncode == 0, err
    assert "scan 'SPRING-2026'  (11 keys in" in out, out
    assert out.rstrip().endswith("1 scan(s).")


def test_keyboard_test_scan_tells_typing_from_a_scan(tmp_path: Path) -> None:
    proc, master = _keyboard_test_scan(tmp_path, "--seconds", "3")
    try:
        for key in "123456":
            os.write(master, key.encode())
            time.sleep(0.12)  # a person: slower than the 50 ms gap
        os.write(master, b"\r")
        out, err = proc.communicate(timeout=30)
    finally:
        os.close(master)
    assert proc.returncode == 0, err
    assert "typed, not a scan: '123456' (6 keys in" in out, out
    assert out.rstrip().endswith("0 scan(s).")


def test_keyboard_test_scan_needs_a_terminal(tmp_path: Path) -> None:
    config = write_config(tmp_path, 'kind = "none"', 'kind = "keyboard"')
    result = CliRunner().invoke(main, ["devices", "test-scan", "--config", str(config)])
    assert result.exit_code == 2
    assert "needs the till's own terminal" in result.output
