"""members_import_200k's floor does the same rows as the product: both imports of a small
generated file leave the same members, cards and opening balances."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from benchmarks import bench_operator as bench

_MEMBERS = (
    "SELECT m.phone, m.name, m.birthday, m.email, m.state, m.lifetime_spend, c.number,"
    " COALESCE(SUM(l.amount), 0) FROM members m JOIN cards c ON c.member_id = m.id"
    " LEFT JOIN lots l ON l.member_id = m.id GROUP BY m.id ORDER BY m.phone"
)


def test_the_floor_imports_what_the_product_imports(tmp_path: Path) -> None:
    csv_path = tmp_path / "members.csv"
    bench.write_file(csv_path, rows=300)
    product, floor = tmp_path / "product.db", tmp_path / "floor.db"
    bench._fresh_database(product)
    bench._fresh_database(floor)
    bench.product_import(csv_path, product)
    bench.bare_import(csv_path, floor)
    with sqlite3.connect(product) as p, sqlite3.connect(floor) as f:
        imported = p.execute(_MEMBERS).fetchall()
        assert len(imported) == 300
        assert imported == f.execute(_MEMBERS).fetchall()
        movements = "SELECT SUM(points), COUNT(*) FROM movements WHERE kind = 'adjust'"
        assert p.execute(movements).fetchone() == f.execute(movements).fetchone()
