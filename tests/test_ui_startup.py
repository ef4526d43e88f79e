"""Start-up: the first frame comes before the adapters; their failure is one sentence."""

from __future__ import annotations

import asyncio
from pathlib import Path

from terminal.config import Settings
from terminal.launch import build_till_app
from terminal.screens.login import LoginScreen
from tests.support.ui import settle


def settings_for(tmp_path: Path, theme: str) -> Settings:
    return Settings(
        till={"theme": theme, "language": "en"},
        processing={"url": "http://127.0.0.1:9", "api_key": "unused"},
        offline={"db_path": str(tmp_path / "till.sqlite3")},
    )


def test_a_corrupt_database_is_one_sentence_on_the_login_screen(tmp_path: Path) -> None:
    (tmp_path / "till.sqlite3").write_bytes(b"this is not a database at all" * 10)
    app = build_till_app(settings_for(tmp_path, "ansi-dark"), None)
    seen: dict[str, str] = {}

    async def scenario() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            assert isinstance(app.screen, LoginScreen) and app.is_running
            seen["message"] = str(app.screen.query_one("#message").render())
            seen["theme"] = app.theme

    asyncio.run(scenario())
    assert "till.sqlite3" in seen["message"] and "Traceback" not in seen["message"]
    assert "\n" not in seen["message"]
    assert seen["theme"] == "ansi-dark"


def test_an_unknown_theme_falls_back_instead_of_crashing(tmp_path: Path) -> None:
    app = build_till_app(settings_for(tmp_path, "no-such-theme"), None)
    seen: dict[str, str] = {}

    async def scenario() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            seen["theme"] = app.theme

    asyncio.run(scenario())
    assert seen["theme"] == "textual-dark"
