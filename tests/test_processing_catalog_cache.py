"""The program in force and the catalog's categories are cached per server process under the
catalog epoch: a change by any writer is seen by the very next request, on both engines."""

from __future__ import annotations

import dataclasses
import uuid
from decimal import Decimal

import pytest

from processing import wire
from processing.client import ProcessingClient
from processing.errors import Rejected
from processing.server import catalog_cache
from processing.server.context import store_program
from processing.server.testing import ManualClock, RunningServer

ANNA = "100001"  # base tier 3 %
MILK = "4600070000014"  # dairy in the seeded catalog; the program excludes tobacco


def _check(amount: str = "1000.00") -> wire.CheckRequest:
    line = wire.Line(
        barcode=MILK,
        name="Молоко",
        category="dairy",  # the till's word: the catalog's category wins
        price=Decimal(amount),
        quantity=Decimal("1"),
        amount=Decimal(amount),
    )
    return wire.CheckRequest(
        check_id=str(uuid.uuid4()), member_id=ANNA, lines=[line], requested_spend=Decimal(0)
    )


def _set_category(server: RunningServer, category: str) -> None:
    with server.ctx.storage.write() as db:
        db.execute(
            "UPDATE products SET category = ? WHERE sku = (SELECT sku FROM barcodes"
            " WHERE barcode = ?)",
            [category, MILK],
        )


def _epoch(server: RunningServer) -> int | None:
    with server.ctx.storage.read() as db:
        return catalog_cache.epoch(db)


def test_a_category_changed_in_the_catalog_counts_at_the_next_calculation(
    client: ProcessingClient, server: RunningServer
) -> None:
    assert client.calculate(_check()).earn == Decimal("30.00")
    assert client.calculate(_check()).earn == Decimal("30.00")  # from the cache now
    _set_category(server, "tobacco")
    assert client.calculate(_check()).earn == Decimal("0.00")
    _set_category(server, "dairy")
    assert client.calculate(_check()).earn == Decimal("30.00")


def test_a_hold_after_a_catalog_change_is_not_given_the_calculation_kept_for_it(
    client: ProcessingClient, server: RunningServer
) -> None:
    request = _check()
    calc = client.calculate(request)
    assert calc.earn == Decimal("30.00")
    _set_category(server, "tobacco")
    hold = wire.HoldRequest(**request.model_dump(), fingerprint=calc.fingerprint)
    with pytest.raises(Rejected) as stale:
        client.hold(hold, idempotency_key=f"h-{request.check_id}")
    assert stale.value.code == "stale_calculation"
    assert stale.value.details["calculation"]["earn"] == "0.00"


def test_a_program_loaded_is_in_force_at_the_next_request_and_on_its_day(
    client: ProcessingClient, server: RunningServer, clock: ManualClock
) -> None:
    before = client.calculate(_check())
    with server.ctx.storage.write() as db:
        current = server.ctx.program(db)
        tomorrow = clock().date().toordinal() + 1
        day = type(clock().date()).fromordinal(tomorrow).isoformat()
        store_program(db, dataclasses.replace(current, version=current.version + 1), 0)
        store_program(db, dataclasses.replace(current, version=current.version + 2), 0, day)
    assert client.calculate(_check()).program_version == before.program_version + 1
    clock.advance(86_400)
    assert client.calculate(_check()).program_version == before.program_version + 2


@pytest.mark.parametrize("table", ["programs", "products", "barcodes"])
def test_every_change_to_the_program_or_the_catalog_raises_the_epoch(
    server: RunningServer, table: str
) -> None:
    """Triggers raise it, so no writer can change the catalog behind the servers' caches."""
    changes = {
        "programs": [
            "INSERT INTO programs (version, body, created_at) SELECT version + 1000, body,"
            " created_at FROM programs WHERE version = (SELECT MAX(version) FROM programs)",
            "UPDATE programs SET created_at = created_at + 1 WHERE version > 1000",
            "DELETE FROM programs WHERE version > 1000",
        ],
        "products": [
            "INSERT INTO products (sku, name, category, price, active, seq)"
            " VALUES ('epoch-test', 'Проба', 'dairy', 100, 1, 0)",
            "UPDATE products SET price = 200 WHERE sku = 'epoch-test'",
            "DELETE FROM products WHERE sku = 'epoch-test'",
        ],
        "barcodes": [
            "INSERT INTO barcodes (barcode, sku) SELECT '2000000000008', sku FROM barcodes"
            f" WHERE barcode = '{MILK}'",
            "UPDATE barcodes SET sku = sku WHERE barcode = '2000000000008'",
            "DELETE FROM barcodes WHERE barcode = '2000000000008'",
        ],
    }[table]
    seen = [_epoch(server)]
    for change in changes:
        with server.ctx.storage.write() as db:
            db.execute(change)
        seen.append(_epoch(server))
    assert None not in seen and sorted(set(seen)) == seen, seen  # rose at every change


def test_a_till_sending_made_up_barcodes_cannot_grow_the_cache_past_its_bound(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A leaked key's checks may carry any barcodes: the unknown ones are kept (as unknown) up
    to the bound, then the cache starts again, and a known barcode still gets its category."""
    monkeypatch.setattr(catalog_cache, "MOST", 50)
    cache = catalog_cache.CatalogCache()
    with server.ctx.storage.read() as db:
        at = catalog_cache.epoch(db)
        assert at is not None
        for batch in range(20):
            made_up = [f"99{batch:03d}{n:05d}" for n in range(30)]
            assert cache.categories(db, [*made_up, MILK], at) == {MILK: "dairy"}
            assert len(cache._current(at)[1]) <= 50 + 31  # the bound, plus one check's keys


def test_a_hold_after_a_program_load_is_judged_under_the_new_program(
    client: ProcessingClient, server: RunningServer
) -> None:
    """The hold looks the program up under the epoch it read with the member's inputs, in the
    same transaction: a program loaded after the calculation makes the hold stale."""
    request = _check()
    calc = client.calculate(request)
    with server.ctx.storage.write() as db:
        current = server.ctx.program(db)
        store_program(db, dataclasses.replace(current, version=current.version + 1), 0)
    hold = wire.HoldRequest(**request.model_dump(), fingerprint=calc.fingerprint)
    with pytest.raises(Rejected) as stale:
        client.hold(hold, idempotency_key=f"h-{request.check_id}")
    assert stale.value.code == "stale_calculation"
    assert stale.value.details["calculation"]["program_version"] == calc.program_version + 1


class _Counting:
    """A database that counts its statements."""

    def __init__(self, db: object) -> None:
        self.db, self.statements = db, 0

    def execute(self, sql: str, parameters: object = None) -> object:
        self.statements += 1
        return self.db.execute(sql, parameters)  # type: ignore[attr-defined]


def test_the_program_under_an_epoch_already_read_costs_no_read(server: RunningServer) -> None:
    """A calculation reads the epoch with the member's inputs; the program's version is then
    looked up under it without reading it again (on PostgreSQL, a round trip a request)."""
    cache = catalog_cache.CatalogCache()
    with server.ctx.storage.read() as db:
        at = catalog_cache.epoch(db)
        assert at is not None
        counting = _Counting(db)
        first = cache.version(counting, "2026-12-07", lambda d, day: 7, at)  # type: ignore[arg-type]
        assert (first, counting.statements) == (7, 0)
        again = cache.version(counting, "2026-12-07", lambda d, day: 8)  # type: ignore[arg-type]
        assert (again, counting.statements) == (7, 1)  # the epoch read, then the kept version
