"""Products from a CSV (sku, barcodes, name, category, price): added, or updated where they
changed; each changed product is marked so tills get it with their next catalog delta.

Running the same file again changes nothing. A row repeating an earlier row's sku or barcode,
a barcode of another product, or a bad value is rejected with its line number.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from processing.server.engine import Database
from processing.server.ops.csvfile import (
    FirstLines,
    Imported,
    Row,
    RowError,
    amount,
    codes,
    log_import,
    minor,
    parsed,
)
from processing.server.storage import next_seq

FIELDS = ("sku", "barcodes", "name", "category", "price")
REQUIRED = ("sku", "name", "category", "price")


@dataclass
class CatalogResult(Imported):
    updated: int = 0
    """Products already there that the file changed."""


@dataclass(frozen=True)
class _Product:
    sku: str
    name: str
    category: str
    price: int
    barcodes: tuple[str, ...]


def _parse(row: Row) -> _Product:
    sku = row.get("sku")
    if not sku or len(sku) > 64:
        raise RowError("sku", "must be 1 to 64 characters")
    name, category = row.get("name"), row.get("category").lower()
    if not name:
        raise RowError("name", "is empty")
    if not category:
        raise RowError("category", "is empty")
    barcodes = codes(row.get("barcodes"), "barcodes", "a barcode")
    return _Product(sku, name, category, minor(amount(row.get("price"), "price")), barcodes)


def import_catalog(
    db: Database,
    rows: Sequence[Row],
    *,
    now: int,
    operator: str,
    source: str,
    progress: Callable[[int], None] = lambda _n: None,
) -> CatalogResult:
    """Add or update the products of ``rows`` (call inside one write transaction)."""
    result = CatalogResult(rows=len(rows))
    stored = {
        str(r[0]): (str(r[1]), str(r[2]), int(r[3]))
        for r in db.execute("SELECT sku, name, category, price FROM products")
    }
    owner = {str(r[0]): str(r[1]) for r in db.execute("SELECT barcode, sku FROM barcodes")}
    skus, barcodes = FirstLines("sku"), FirstLines("barcodes")
    inserts: list[tuple[object, ...]] = []
    updates: list[tuple[object, ...]] = []
    barcode_rows: list[tuple[str, str]] = []

    def check(row: Row) -> _Product:
        product = _parse(row)
        skus.check_one(product.sku)
        barcodes.check_each(
            product.barcodes,
            lambda b: owner.get(b, product.sku) != product.sku,
            "another product's",
        )
        skus.note([product.sku], row.line)
        barcodes.note(product.barcodes, row.line)
        return product

    for product in parsed(rows, check, result.rejected, progress):
        fresh = [b for b in product.barcodes if b not in owner]
        barcode_rows += [(b, product.sku) for b in fresh]
        values = (product.name, product.category, product.price)
        if product.sku not in stored:
            inserts.append((product.sku, *values))
            result.added += 1
        elif stored[product.sku] != values or fresh:
            updates.append((*values, product.sku))
            result.updated += 1
        else:
            result.unchanged += 1
    # Every added or changed product takes the next catalog mark (tills fetch by it).
    db.conn.executemany(
        "INSERT INTO products (sku, name, category, price, active, seq) VALUES (?, ?, ?, ?, 1, 0)",
        inserts,
    )
    db.conn.executemany(
        "UPDATE products SET name = ?, category = ?, price = ?, active = 1 WHERE sku = ?", updates
    )
    db.conn.executemany("INSERT INTO barcodes (barcode, sku) VALUES (?, ?)", barcode_rows)
    changed = [p[0] for p in inserts] + [u[3] for u in updates]
    if changed:
        start = next_seq(db, "products")
        db.conn.executemany(
            "UPDATE products SET seq = ? WHERE sku = ?",
            [(start + i, sku) for i, sku in enumerate(changed)],
        )
        db.execute(
            "UPDATE counters SET value = ? WHERE name = 'products'", [start + len(changed) - 1]
        )
    if not (result.added or result.updated):
        return result  # the same file again: nothing changed, nothing to log
    counts = {
        "rows": result.rows,
        "added": result.added,
        "updated": result.updated,
        "unchanged": result.unchanged,
        "rejected": len(result.rejected),
    }
    log_import(db, now, operator, "catalog_import", source, counts)
    return result
