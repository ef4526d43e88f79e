"""The store owns its SQL: nothing under terminal/ runs a statement on the till database.

Every read and write of the till's SQLite file goes through :mod:`offline_cache`; a statement
written in the terminal would be a second truth about the schema, out of the store's tests.
"""

from __future__ import annotations

import re
from pathlib import Path

TERMINAL = Path(__file__).resolve().parent.parent / "terminal"

# Running SQL, by any of sqlite3's or sqlite_utils' doors, or SQL text itself.
SQL_CALL = re.compile(
    r"\.(execute|executemany|executescript)\(|\bdb\.query\(|\bjson_extract\b"
    r"|\b(SELECT|INSERT INTO|UPDATE \w+ SET|DELETE FROM)\b"
)


def sql_lines(root: Path) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if SQL_CALL.search(line):
                found.append(f"{path.relative_to(root.parent)}:{number}: {line.strip()}")
    return found


def test_the_terminal_runs_no_sql_of_its_own() -> None:
    assert sql_lines(TERMINAL) == []


def test_the_check_finds_sql_where_there_is_some(tmp_path: Path) -> None:
    module = tmp_path / "terminal" / "reads.py"
    module.parent.mkdir()
    module.write_text('rows = db.execute("SELECT 1").fetchall()\n', encoding="utf-8")
    assert sql_lines(module.parent) == [
        'terminal/reads.py:1: rows = db.execute("SELECT 1").fetchall()'
    ]
