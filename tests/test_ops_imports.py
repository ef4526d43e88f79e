"""Members and the catalog from CSV files: rows checked and numbered, phones normalised,
opening balances as lots, duplicates reported, a second run changing nothing; a till then
identifies an imported member and scans an imported product."""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path

from click.testing import CliRunner, Result

from processing import wire
from processing.client import ProcessingClient
from processing.server import ledger
from processing.server.cli import processing
from processing.server.testing import ManualClock, RunningServer

EXAMPLE = Path(__file__).resolve().parents[1] / "program.toml"

MEMBERS_1C = (
    "Телефон;ФИО;ДР;Почта;Карты;Баланс;Покупки;Статус\n"
    "8 (912) 555-01-01;Пётр Первый;31.05.1980;p@example.ru;2800000000017;1 234,50;20000;active\n"
    "+380 67 555 0102;Тарас;;;;100;0;earn_only\n"
    "8 912 555-01-01;Двойник;;;;5;0;active\n"  # line 4: the phone of line 2
    "12345;Кто-то;;;;0;0;active\n"  # line 5: not a phone
    "8 912 555-01-05;Без даты;1980-13-40;;;0;0;active\n"  # line 6: no such date
    "8 912 555-01-06;Чужая карта;;;2800000000017;0;0;active\n"  # line 7: line 2's card
    "8 912 555-01-07;Лишние копейки;;;;1,005;0;active\n"  # line 8: three decimals
    "8 912 555-01-08;Ирина;;;;;;blocked\n"
)
COLUMNS = [
    "--column",
    "phone=Телефон",
    "--column",
    "name=ФИО",
    "--column",
    "birthday=ДР",
    "--column",
    "email=Почта",
    "--column",
    "cards=Карты",
    "--column",
    "balance=Баланс",
    "--column",
    "lifetime_spend=Покупки",
    "--column",
    "state=Статус",
]


def run(*args: str) -> Result:
    return CliRunner().invoke(processing, list(args))


def _counts(db: Path) -> tuple[int, ...]:
    with sqlite3.connect(db) as conn:
        return tuple(
            conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
            for table in ("members", "cards", "lots", "movements", "operator_log", "counters")
        )


def test_members_import_reports_each_bad_row_and_a_second_run_changes_nothing(
    tmp_path: Path,
) -> None:
    db = tmp_path / "p.db"
    assert run("program", "load", str(EXAMPLE), "--db", str(db)).exit_code == 0
    source = tmp_path / "clients.csv"
    source.write_text(MEMBERS_1C, encoding="utf-8")
    first = run("members", "import", str(source), *COLUMNS, "--operator", "olga", "--db", str(db))
    assert first.exit_code == 1  # some rows were rejected
    assert first.stderr.splitlines() == [
        f"{source}: line 4: phone: the same as line 2's",
        f"{source}: line 5: phone: is not a RU phone number",
        f"{source}: line 6: birthday: is not a date like 2027-01-31 or 31.01.2027",
        f"{source}: line 7: cards: 2800000000017 is already line 2's",
        f"{source}: line 8: balance: has more than two decimals",
    ]
    assert first.stdout.startswith(
        "8 rows: 3 members added (opening balances 1334.50 points), 0 already members"
        " (unchanged), 5 rejected;"
    )
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT phone, name, birthday, state, lifetime_spend FROM members ORDER BY phone"
        ).fetchall()
        lots = conn.execute("SELECT amount, remaining, expires_at FROM lots").fetchall()
        card = conn.execute(
            "SELECT m.phone FROM cards c JOIN members m ON m.id = c.member_id"
            " WHERE c.number = '2800000000017'"
        ).fetchone()
    assert rows == [
        ("+380675550102", "Тарас", None, "earn_only", 0),
        ("+79125550101", "Пётр Первый", "1980-05-31", "active", 2_000_000),
        ("+79125550108", "Ирина", None, "blocked", 0),
    ]
    assert sorted(lot[0] for lot in lots) == [10_000, 123_450]
    assert all(lot[2] is not None for lot in lots)  # the program's 365 days from today
    assert card == ("+79125550101",)
    before = _counts(db)
    second = run("members", "import", str(source), *COLUMNS, "--operator", "olga", "--db", str(db))
    assert "0 members added" in second.stdout
    assert "3 already members (unchanged)" in second.stdout
    assert _counts(db) == before


def test_a_missing_column_is_one_line_naming_the_flag(tmp_path: Path) -> None:
    db = tmp_path / "p.db"
    assert run("program", "load", str(EXAMPLE), "--db", str(db)).exit_code == 0
    source = tmp_path / "clients.csv"
    source.write_text(MEMBERS_1C, encoding="utf-8")
    result = run("members", "import", str(source), "--db", str(db))
    assert result.exit_code == 1
    assert result.output.count("\n") == 1
    assert "has no column 'phone'" in result.output
    assert "--column FIELD=HEADER" in result.output


def test_an_imported_member_is_identified_and_earns_by_the_loaded_rules(
    server: RunningServer, client: ProcessingClient, clock: ManualClock, tmp_path: Path
) -> None:
    db = server.ctx.storage.location
    source = tmp_path / "clients.csv"
    source.write_text(
        "phone,name,cards,balance,lifetime_spend\n8 912 555 77 77,Новый,2800000000024,250,16000\n",
        encoding="utf-8",
    )
    assert run("members", "import", str(source), "--db", str(db)).exit_code == 0
    catalog = tmp_path / "catalog.csv"
    catalog.write_text(
        "sku;barcodes;name;category;price\n"
        "NEW-1;4600000000019 4600000000026;Сыр новый;dairy;500,00\n"
        "NEW-2;4600000000033;Сигареты;Tobacco;200\n"
        "NEW-3;4600000000019;Двойник;dairy;1\n",  # line 4: line 2's barcode
        encoding="utf-8",
    )
    imported = run("catalog", "import", str(catalog), "--db", str(db))
    assert imported.stderr == f"{catalog}: line 4: barcodes: 4600000000019 is already line 2's\n"
    assert imported.stdout.startswith(
        "3 rows: 2 products added, 0 updated, 0 unchanged, 1 rejected"
    )
    clock.advance(5)  # the opening balance is active from the import's moment
    by_card = client.identify("2800000000024", kind="card")
    by_phone = client.identify("+79125557777")
    assert by_card.member.id == by_phone.member.id
    assert by_phone.balance.available == Decimal("250.00")
    calc = client.calculate(
        wire.CheckRequest(
            check_id="imported-1",
            member_id=by_phone.member.id,
            lines=[
                wire.Line(
                    barcode="4600000000026",
                    name="Сыр",
                    category="unknown",  # the server takes the catalog's category
                    price=Decimal("500.00"),
                    quantity=Decimal("1"),
                    amount=Decimal("500.00"),
                ),
                wire.Line(
                    barcode="4600000000033",
                    name="Сигареты",
                    category="unknown",
                    price=Decimal("200.00"),
                    quantity=Decimal("1"),
                    amount=Decimal("200.00"),
                ),
            ],
            requested_spend=Decimal("0"),
        )
    )
    # Lifetime spend 16 000 is Silver (5 %); tobacco earns nothing: 5 % of 500.
    assert calc.earn == Decimal("25")
    delta = client.catalog_delta()
    assert {"NEW-1", "NEW-2"} <= {p.sku for p in delta.items}
    with server.ctx.storage.read() as conn:
        assert ledger.audit(conn) == []


def test_catalog_import_updates_what_changed_and_nothing_else(tmp_path: Path) -> None:
    db = tmp_path / "p.db"
    assert run("program", "load", str(EXAMPLE), "--db", str(db)).exit_code == 0
    catalog = tmp_path / "catalog.csv"
    catalog.write_text(
        "sku,barcodes,name,category,price\nA,4600000000019,Молоко,dairy,89.90\nB,,Хлеб,bread,45\n",
        encoding="utf-8",
    )
    assert run("catalog", "import", str(catalog), "--db", str(db)).exit_code == 0
    again = run("catalog", "import", str(catalog), "--db", str(db))
    assert again.stdout.startswith("2 rows: 0 products added, 0 updated, 2 unchanged, 0 rejected")
    catalog.write_text(
        "sku,barcodes,name,category,price\nA,4600000000019,Молоко,dairy,99.90\nB,,Хлеб,bread,45\n",
        encoding="utf-8",
    )
    changed = run("catalog", "import", str(catalog), "--db", str(db))
    assert changed.stdout.startswith("2 rows: 0 products added, 1 updated, 1 unchanged")
    with sqlite3.connect(db) as conn:
        prices = dict(conn.execute("SELECT sku, price FROM products"))
        seqs = dict(conn.execute("SELECT sku, seq FROM products"))
    assert prices == {"A": 9990, "B": 4500}
    assert seqs["A"] > seqs["B"]  # the changed product is newer for the tills' delta


def test_export_loads_into_another_server_as_it_is(tmp_path: Path) -> None:
    first, second = tmp_path / "a.db", tmp_path / "b.db"
    for db in (first, second):
        assert run("program", "load", str(EXAMPLE), "--db", str(db)).exit_code == 0
    source = tmp_path / "clients.csv"
    source.write_text(MEMBERS_1C, encoding="utf-8")
    run("members", "import", str(source), *COLUMNS, "--db", str(first))
    out = tmp_path / "export.csv"
    exported = run("members", "export", "--out", str(out), "--db", str(first))
    assert exported.output == f"3 members written to {out}.\n"
    again = run("members", "import", str(out), "--db", str(second))
    assert again.exit_code == 0, again.output
    assert "3 members added (opening balances 1334.50 points)" in again.stdout
    query = "SELECT phone, name, birthday, state, lifetime_spend FROM members ORDER BY phone"
    with sqlite3.connect(first) as a, sqlite3.connect(second) as b:
        assert a.execute(query).fetchall() == b.execute(query).fetchall()
        cards = "SELECT number FROM cards ORDER BY number"
        assert a.execute(cards).fetchall() == b.execute(cards).fetchall()
