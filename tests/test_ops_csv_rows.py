"""The row checks both CSV imports share (processing.server.ops.csvfile): a repeated value is
rejected naming the earlier line, a code another product or member holds is rejected as theirs,
a row rejected for one field still counts as the first with its other values, and progress is
told every row once."""

from __future__ import annotations

from pathlib import Path

from processing.server.ops import csvfile
from processing.server.ops.catalog_import import import_catalog
from processing.server.ops.members_import import FIELDS, REQUIRED, import_members
from processing.server.storage import Storage

CATALOG_FIELDS = ("sku", "barcodes", "name", "category", "price")


def _rows(text: str, fields: tuple[str, ...], required: tuple[str, ...]) -> list[csvfile.Row]:
    mapping = csvfile.column_map(fields, [])
    return csvfile.rows_of_text(text, mapping, required, "file.csv")


def _rejected(result_rejected: list[csvfile.Rejected]) -> list[tuple[int, str]]:
    return [(r.line, r.problem) for r in result_rejected]


def test_catalog_rows_repeating_a_sku_or_taking_another_products_barcode_are_rejected(
    tmp_path: Path,
) -> None:
    storage = Storage(tmp_path / "p.db")
    required = ("sku", "name", "category", "price")
    first = _rows("sku,barcodes,name,category,price\nC,4600000000026,Сыр,dairy,300\n",
                  CATALOG_FIELDS, required)  # fmt: skip
    with storage.write() as db:
        import_catalog(db, first, now=0, operator="olga", source="first.csv")
    text = (
        "sku,barcodes,name,category,price\n"
        "A,4600000000019,Молоко,dairy,89.90\n"
        "A,4600000000057,Молоко 2,dairy,89.90\n"  # line 3: line 2's sku
        "B,4600000000026,Кефир,dairy,70\n"  # line 4: C's barcode
        "D,12,Хлеб,bread,45\n"  # line 5: not a barcode
        "E,4600000000064 4600000000019,Сок,drinks,120\n"  # line 6: line 2's barcode
        "B,4600000000071,Кефир,dairy,70\n"  # line 7: B again, its line 4 was rejected
        "C,4600000000026,Сыр,dairy,300\n"  # line 8: C with its own barcode, unchanged
    )
    told: list[int] = []
    with storage.write() as db:
        result = import_catalog(
            db, _rows(text, CATALOG_FIELDS, required), now=0, operator="olga",
            source="second.csv", progress=told.append,
        )  # fmt: skip
    with storage.read() as db:
        logged = db.execute(
            "SELECT action, subject, reason, details FROM operator_log ORDER BY id DESC"
        ).fetchone()
    storage.close()
    assert _rejected(result.rejected) == [
        (3, "sku: the same as line 2's"),
        (4, "barcodes: 4600000000026 is already another product's"),
        (5, "barcodes: a barcode must be 6 to 20 digits"),
        (6, "barcodes: 4600000000019 is already line 2's"),
    ]
    assert (result.rows, result.added, result.updated, result.unchanged) == (7, 2, 0, 1)
    assert sum(told) == 7
    assert tuple(logged) == (
        "catalog_import",
        "second.csv",
        "import",
        '{"rows": 7, "added": 2, "updated": 0, "unchanged": 1, "rejected": 4}',
    )


def test_member_rows_repeating_a_phone_or_taking_another_members_card_are_rejected(
    tmp_path: Path,
) -> None:
    storage = Storage(tmp_path / "p.db")
    with storage.write() as db:
        import_members(
            db, _rows("phone,cards\n89125550101,2800000000017\n", FIELDS, REQUIRED),
            region="RU", now=0, expires_at=None, home_store=None, operator="olga",
            source="first.csv",
        )  # fmt: skip
    text = (
        "phone,cards\n"
        "89125550102,2800000000017\n"  # line 2: the first file's member's card
        "89125550102,2800000000024\n"  # line 3: line 2's phone (line 2 was rejected)
        "89125550101,\n"  # line 4: a member already: unchanged
        "89125550103,2800000000031\n"
        "89125550104,2800000000031\n"  # line 6: line 5's card
    )
    with storage.write() as db:
        result = import_members(
            db, _rows(text, FIELDS, REQUIRED), region="RU", now=0, expires_at=None,
            home_store=None, operator="olga", source="second.csv",
        )  # fmt: skip
    with storage.read() as db:
        logged = db.execute(
            "SELECT action, subject, reason, details FROM operator_log ORDER BY id DESC"
        ).fetchone()
    storage.close()
    assert _rejected(result.rejected) == [
        (2, "cards: 2800000000017 is already another member's"),
        (3, "phone: the same as line 2's"),
        (6, "cards: 2800000000031 is already line 5's"),
    ]
    assert (result.rows, result.added, result.unchanged) == (5, 1, 1)
    assert tuple(logged) == (
        "members_import",
        "second.csv",
        "import",
        '{"rows": 5, "added": 1, "unchanged": 1, "rejected": 3, "points": 0}',
    )


def test_progress_is_told_every_thousand_rows_and_the_rest_at_the_end() -> None:
    rows = [csvfile.Row(n + 2, {"x": str(n)}) for n in range(2500)]
    told: list[int] = []
    rejected: list[csvfile.Rejected] = []

    def check(row: csvfile.Row) -> int:
        if row.get("x").endswith("7"):
            raise csvfile.RowError("x", "ends in 7")
        return int(row.get("x"))

    kept = list(csvfile.parsed(rows, check, rejected, told.append))
    assert told == [1000, 1000, 500]
    assert len(kept) == 2250 and len(rejected) == 250
    assert rejected[0] == csvfile.Rejected(9, "x: ends in 7")
