"""Files holding keys, codes or personal data are the till user's alone (mode 0600).

The till database (members' phones, the outbox) with its -wal and -shm, till.log, and the
config.toml the admin screen writes (it may hold the API key) with its .bak.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from offline_cache.db import open_database
from terminal.config_writer import save_config
from terminal.launch import log_file_handler


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture(autouse=True)
def _usual_umask() -> Iterator[None]:
    # The umask most boxes run with: without care, new files come out 0644.
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def test_till_database_and_its_wal_and_shm_are_private(tmp_path: Path) -> None:
    path = tmp_path / "till.sqlite3"
    db = open_database(path)
    db.execute("INSERT INTO sync_state (key, value, updated_at) VALUES ('a', 'b', 'c')")
    for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        assert mode(name) == 0o600, name
    db.close()


def test_a_database_an_older_till_left_readable_is_made_private(tmp_path: Path) -> None:
    path = tmp_path / "till.sqlite3"
    open_database(path).close()
    os.chmod(path, 0o644)
    db = open_database(path)
    assert mode(path) == 0o600
    db.close()


def test_till_log_is_private(tmp_path: Path) -> None:
    path = tmp_path / "till.log"
    handler = log_file_handler(path)
    try:
        assert mode(path) == 0o600
    finally:
        handler.close()
    os.chmod(path, 0o644)  # a log left by an older till
    log_file_handler(path).close()
    assert mode(path) == 0o600


def test_config_saved_by_the_admin_screen_and_its_backup_are_private(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[processing]\nurl = "http://127.0.0.1:8765"\n', encoding="utf-8")
    os.chmod(path, 0o644)
    backup = tmp_path / "config.toml.bak"
    backup.write_text("old\n", encoding="utf-8")
    os.chmod(backup, 0o644)
    save_config(path, {"processing": {"api_key": "secret-key"}})
    assert "secret-key" in path.read_text(encoding="utf-8")
    assert mode(path) == 0o600
    assert mode(backup) == 0o600
    assert "secret-key" not in backup.read_text(encoding="utf-8")
    save_config(path, {"processing": {"api_key": "another"}})
    assert mode(path) == 0o600 and mode(backup) == 0o600
    assert "secret-key" in backup.read_text(encoding="utf-8")
