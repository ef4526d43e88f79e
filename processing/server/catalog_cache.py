"""The program version in force and the catalog's categories, read once per catalog change.

Every calculation needs the program version in force on the store's day and the category of
each line's barcode or sku. Both change only when an operator loads a program or a catalog,
yet reading them was two queries on every identify, calculate and hold. Here they are kept per
process under ``counters.catalog``, which triggers raise with every change to ``programs``,
``products`` and ``barcodes`` (migration 0012): one primary-key read of that counter tells
whether what is kept still holds, and a change made by any writer on any node is seen by the
next request.

What is kept is always read in the same snapshot as the counter it is kept under, so it is
never newer or older than its epoch. A database without the counter (an older schema opened by
a test at a revision of its own) gets no caching at all.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from processing.server.engine import Database

EPOCH_SQL = "SELECT value FROM counters WHERE name = 'catalog'"

MOST = 100_000
"""Barcodes and skus kept before the cache starts again (a big chain's catalog is larger than
what its tills sell in a day; a miss costs one indexed query)."""


_UNKNOWN = "\x00unknown"
"""Not looked up yet (None is kept for a key the catalog does not have)."""


def epoch(db: Database) -> int | None:
    """The catalog's epoch in ``db``'s snapshot (None: no counter, no caching)."""
    row = db.execute(EPOCH_SQL).fetchone()
    return None if row is None else int(row[0])


def read_categories(db: Database, keys: Sequence[str]) -> dict[str, str]:
    """The catalog's category of each of ``keys`` that is a barcode or a sku of it."""
    if not keys:
        return {}
    marks = ",".join("?" for _ in keys)
    found: dict[str, str] = {}
    for key, category in db.execute(
        f"SELECT b.barcode, p.category FROM barcodes b JOIN products p ON p.sku = b.sku"
        f" WHERE b.barcode IN ({marks})"
        f" UNION ALL SELECT sku, category FROM products WHERE sku IN ({marks})",
        [*keys, *keys],
    ).fetchall():
        found[str(key)] = str(category)
    return found


class CatalogCache:
    """One server process's cache of one database's program days and categories
    (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._epoch: int | None = None
        self._versions: dict[str, int] = {}
        self._categories: dict[str, str | None] = {}

    def _current(self, at: int) -> tuple[dict[str, int], dict[str, str | None]]:
        """The maps kept under epoch ``at`` (emptied first if they were kept under another)."""
        with self._lock:
            if self._epoch != at:
                self._epoch = at
                self._versions = {}
                self._categories = {}
            return self._versions, self._categories

    def version(
        self,
        db: Database,
        day: str,
        read: Callable[[Database, str], int],
        known: int | None = None,
    ) -> int:
        """The program version in force on ``day`` (``read(db, day)`` on a miss). ``known``:
        the epoch as already read in this same snapshot of ``db`` (one read fewer)."""
        at = epoch(db) if known is None else known
        if at is None:
            return read(db, day)
        versions, _ = self._current(at)
        found = versions.get(day)
        if found is None:
            found = versions[day] = read(db, day)
        return found

    def categories(self, db: Database, keys: Sequence[str], at: int | None) -> dict[str, str]:
        """The categories of ``keys`` (as :func:`read_categories`) under epoch ``at``, read in
        this same snapshot of ``db``."""
        if at is None:
            return read_categories(db, keys)
        _, kept = self._current(at)
        out: dict[str, str] = {}
        missing: list[str] = []
        for key in keys:
            category = kept.get(key, _UNKNOWN)
            if category is _UNKNOWN:
                missing.append(key)
            elif category is not None:
                out[key] = category
        if missing:
            found = read_categories(db, missing)
            if len(kept) + len(missing) > MOST:
                kept.clear()
            for key in missing:
                category = found.get(key)
                kept[key] = category
                if category is not None:
                    out[key] = category
        return out
