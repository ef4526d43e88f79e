"""The till database: file mode, durability pragmas, migrations, corrupt and newer files."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest

from offline_cache.db import open_database
from offline_cache.errors import CorruptDatabase, NewerSchema
from offline_cache.print_jobs import PrintJobs


def test_new_file_is_private_wal_and_full_sync(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "till.db"
    db = open_database(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert db.journal_mode == "wal"
    assert db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    db.execute("INSERT INTO sync_state (key, value, updated_at) VALUES ('a', 'b', 'c')")
    wal = Path(str(path) + "-wal")
    assert wal.exists() and stat.S_IMODE(os.stat(wal).st_mode) == 0o600
    for table in ("outbox", "checks", "audit_log", "members", "program", "catalog", "offers"):
        assert table in db.table_names()
    db.close()


def test_reopen_applies_nothing_twice_and_keeps_rows(tmp_path: Path) -> None:
    path = tmp_path / "till.db"
    db = open_database(path)
    PrintJobs(db).enqueue(b"x", "c1", "sale")
    db.close()
    again = open_database(path, integrity_check=True)
    assert again.execute("SELECT count(*) FROM _sqlite_migrations").fetchone()[0] == 1
    assert PrintJobs(again).pending_count() == 1


def test_garbage_file_is_refused_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "till.db"
    content = b"this is not a database at all" * 100
    path.write_bytes(content)
    with pytest.raises(CorruptDatabase) as caught:
        open_database(path)
    assert "damaged" in str(caught.value)
    assert path.read_bytes() == content


def test_damaged_pages_are_refused_by_the_integrity_check(tmp_path: Path) -> None:
    path = tmp_path / "till.db"
    db = open_database(path)
    jobs = PrintJobs(db)
    for n in range(300):
        jobs.enqueue(bytes(2000), f"c{n}", "sale")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    raw = bytearray(path.read_bytes())
    # Overwrite the middle pages (table b-tree pages) but keep the header intact.
    raw[8192:40960] = b"\xa5" * (40960 - 8192)
    path.write_bytes(bytes(raw))
    before = path.read_bytes()
    with pytest.raises(CorruptDatabase):
        open_database(path, integrity_check=True)
    assert path.read_bytes() == before


def test_newer_schema_is_refused_without_change(tmp_path: Path) -> None:
    path = tmp_path / "till.db"
    open_database(path).close()
    conn = sqlite3.connect(path)
    conn.execute(
        "INSERT INTO _sqlite_migrations (migration_set, name, applied_at)"
        " VALUES ('till', '9999_from_the_future', 'x')"
    )
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(NewerSchema) as caught:
        open_database(path)
    assert "9999_from_the_future" in str(caught.value)
    assert path.read_bytes() == before


def test_audit_log_and_outbox_content_cannot_be_rewritten(tmp_path: Path) -> None:
    db = open_database(tmp_path / "till.db")
    db.execute("INSERT INTO audit_log (at, action, online, detail) VALUES ('t', 'login', 1, '{}')")
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("UPDATE audit_log SET action = 'x'")
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("DELETE FROM audit_log")
