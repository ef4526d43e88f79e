"""The operator's side: ``members_import_200k``.

A chain switching to till brings its members from 1C or its old vendor as a CSV: the issue
asks for 200 000 rows "in well under a minute". The figure is the wall-clock seconds of
``till processing members import`` (the real command, in this process through click) on a
generated 200 000-row file (phone in the national formats people type, name, birthday, e-mail,
a card, an opening balance, lifetime spend, state) into a fresh server database with the
example program loaded: reading and parsing the file, normalising every phone for the region,
the duplicate checks, the bulk inserts of members, cards, opening lots and their ledger
movements, the operator log, one commit.

The floor is the same rows put into the same tables of a database with the same schema and
pragmas by bare ``sqlite3`` ``executemany`` in one transaction, each phone normalised by
``phonenumbers`` (parse and E.164 format): the work any import must do, minus the product's
checks (phone validity, dates, amounts, e-mail, states, duplicates within the file and against
the members already there) and its bookkeeping objects. The ratio says what those checks cost.

Target: value ≤ 60 s (the issue's "well under a minute") and ratio ≤ 3. Most of the
difference is the phone checks: libphonenumber's validity test (``is_valid_number``) and
possible-length test cost about as much again as the parse the floor does too (profiled at
50 000 rows); the first run on the shared 2-core box measured 26.6 s against a 10.7 s floor
(ratio 2.49), so the ratio target leaves a little room for that box's noise and none for a
slower path. One import is one
run: p50/p99 do not apply (a second import of the same file is a different job — it changes
nothing — so there is nothing to repeat); the figure is a single wall-clock measurement.
"""

from __future__ import annotations

import csv
import random
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import phonenumbers
from click.testing import CliRunner

from benchmarks.result import ROOT, Result, scratch
from processing.server.cli import processing
from processing.server.storage import Storage

ROWS = 200_000
MAX_SECONDS = 60.0
MAX_RATIO = 3.0
_HEADER = ["phone", "name", "birthday", "email", "cards", "balance", "lifetime_spend", "state"]
_NAMES = ("Анна Смирнова", "Иван Петров", "Айгерим Нурланова", "Олександр Шевченко", "Ольга")


def _phone(n: int, rng: random.Random) -> str:
    digits = f"916{n:07d}"
    style = rng.randrange(3)
    if style == 0:
        return f"8 {digits[:3]} {digits[3:6]}-{digits[6:8]}-{digits[8:]}"
    if style == 1:
        return f"+7 ({digits[:3]}) {digits[3:6]} {digits[6:8]} {digits[8:]}"
    return f"7{digits}"


def write_file(path: Path, rows: int = ROWS) -> None:
    """``rows`` distinct members as a 1C-like export (';'-separated, decimal commas)."""
    rng = random.Random(10)
    with path.open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle, delimiter=";")
        out.writerow(_HEADER)
        for n in range(rows):
            out.writerow(
                [
                    _phone(n, rng),
                    _NAMES[n % len(_NAMES)],
                    f"{1 + n % 28:02d}.{1 + n % 12:02d}.{1950 + n % 55}",
                    f"m{n}@example.org" if n % 3 == 0 else "",
                    f"{2_000_000_000_000 + n}",
                    f"{rng.randrange(0, 500_000) / 100:.2f}".replace(".", ","),
                    f"{rng.randrange(0, 5_000_000) / 100:.2f}".replace(".", ","),
                    "active" if n % 50 else "earn_only",
                ]
            )


def _fresh_database(path: Path) -> None:
    """A migrated server database with the example program loaded (untimed)."""
    Storage(path).close()
    loaded = CliRunner().invoke(
        processing, ["program", "load", str(ROOT / "program.toml"), "--db", str(path)]
    )
    if loaded.exit_code != 0:
        raise RuntimeError(loaded.output)


def product_import(csv_path: Path, db_path: Path) -> float:
    """Seconds of ``till processing members import`` of ``csv_path``."""
    started = time.perf_counter()
    result = CliRunner().invoke(
        processing,
        ["members", "import", str(csv_path), "--operator", "bench", "--db", str(db_path)],
    )
    elapsed = time.perf_counter() - started
    if result.exit_code != 0:
        raise RuntimeError(result.output[-2000:])
    return elapsed


def bare_import(csv_path: Path, db_path: Path) -> float:
    """Seconds of the floor: the same rows by bare sqlite3 executemany, phones by phonenumbers."""
    started = time.perf_counter()
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute("PRAGMA synchronous=FULL")  # as the server's own connections
    now = int(time.time())
    members: list[tuple[object, ...]] = []
    cards: list[tuple[str, str]] = []
    lots: list[tuple[object, ...]] = []
    moves: list[tuple[object, ...]] = []
    with csv_path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, delimiter=";")
        next(reader)
        for n, (phone, name, birthday, email, card, balance, lifetime, state) in enumerate(
            reader, 1
        ):
            number = phonenumbers.parse(phone, "RU")
            e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
            member_id = str(100000 + n)
            day = f"{birthday[6:]}-{birthday[3:5]}-{birthday[:2]}"
            spend = int(lifetime.replace(",", ""))
            members.append((member_id, e164, name, day, email or None, state, spend, now, n))
            cards.append((card, member_id))
            points = int(balance.replace(",", ""))
            if points:
                lots.append((len(lots) + 1, member_id, points, now))
                moves.append((member_id, points, len(lots), now))
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(
        "INSERT INTO members (id, phone, name, birthday, email, state, lifetime_spend,"
        " created_at, seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        members,
    )
    conn.executemany("INSERT INTO cards (number, member_id) VALUES (?, ?)", cards)
    conn.executemany(
        "INSERT INTO lots (id, member_id, amount, remaining, active_from, created_at)"
        " VALUES (?1, ?2, ?3, ?3, ?4, ?4)",
        lots,
    )
    conn.executemany(
        "INSERT INTO movements (member_id, kind, points, lot_id, created_at)"
        " VALUES (?, 'adjust', ?, ?, ?)",
        moves,
    )
    conn.execute("COMMIT")
    conn.close()
    return time.perf_counter() - started


def bench_members_import_200k() -> Result:
    """Seconds to import 200 000 members through the product vs the bare-sqlite3 floor."""
    with scratch() as tmp:
        base = Path(tmp)
        csv_path = base / "members.csv"
        write_file(csv_path)
        product_db, floor_db = base / "product.db", base / "floor.db"
        _fresh_database(product_db)
        _fresh_database(floor_db)
        floor = bare_import(csv_path, floor_db)
        value = product_import(csv_path, product_db)
        with sqlite3.connect(product_db) as conn:
            imported = conn.execute("SELECT COUNT(*) FROM members").fetchone()[0]
    broken = imported < ROWS  # the demo-free database holds exactly the imported members
    ratio = value / floor
    score = max(value / MAX_SECONDS, ratio / MAX_RATIO)
    return Result(
        "members_import_200k",
        round(value, 3),
        "s",
        round(floor, 3),
        ratio,
        f"value <= {MAX_SECONDS:.0f} s and ratio <= {MAX_RATIO} to bare sqlite3 executemany"
        " with phonenumbers; one run (p50/p99 not applicable)",
        score <= 1 and not broken,
        {"rows": ROWS, "members": imported, "p50": None, "p99": None},
        score,
        broken,
    )


BENCHMARKS: dict[str, Callable[[], Result]] = {"members_import_200k": bench_members_import_200k}
