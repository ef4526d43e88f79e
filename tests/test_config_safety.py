"""config.toml keys that guard money and secrets: plain http only to loopback, the shift cap."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from terminal.cli import main
from terminal.config import ConfigError, Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("TILL_"):
            monkeypatch.delenv(name)


def check(tmp_path: Path, text: str) -> tuple[int, list[str]]:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["config", "check", "--config", str(path)])
    return result.exit_code, result.output.strip().splitlines()


@pytest.mark.parametrize(
    "url",
    ["http://10.0.0.5:8765", "http://loyalty.example.com", "http://127.0.0.1.example.com:80"],
)
def test_plain_http_to_another_host_is_refused_in_one_line(tmp_path: Path, url: str) -> None:
    code, lines = check(tmp_path, f"[processing]\nurl = '{url}'\n")
    assert code == 2
    assert len(lines) == 1, lines
    assert "processing.url" in lines[0] and "processing.allow_insecure_http" in lines[0]
    assert "Traceback" not in lines[0]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8765",
        "http://127.0.0.2:8765",
        "http://localhost:8765",
        "http://[::1]:8765",
        "https://loyalty.example.com",
    ],
)
def test_loopback_and_https_need_nothing(tmp_path: Path, url: str) -> None:
    assert check(tmp_path, f"[processing]\nurl = '{url}'\n") == (0, ["config OK"])


def test_plain_http_is_allowed_when_the_config_says_so(tmp_path: Path) -> None:
    text = "[processing]\nurl = 'http://10.0.0.5:8765'\nallow_insecure_http = true\n"
    assert check(tmp_path, text) == (0, ["config OK"])


def test_an_environment_override_is_held_to_the_same_rule(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TILL_PROCESSING__URL", "http://10.0.0.5:8765")
    code, lines = check(tmp_path, "[processing]\n")
    assert code == 2 and lines[0].startswith("environment TILL_PROCESSING__URL")
    with pytest.raises(ConfigError):
        Settings()


def test_shift_cap_is_documented_and_bounded(tmp_path: Path) -> None:
    shipped = load_settings(ROOT / "config.toml")
    assert shipped.offline.per_shift_cap == Decimal(1500)
    assert shipped.processing.allow_insecure_http is False
    code, lines = check(tmp_path, "[offline]\nper_shift_cap = -1\n")
    assert code == 2 and "offline.per_shift_cap: -1 is out of range" in lines[0]
