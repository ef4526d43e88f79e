"""On PostgreSQL a write that keeps losing serialisation conflicts gets through in the end.

Nearly every write takes the member-change counter (``counters``), so overlapping writes
conflict there and all but one run again. A write unlucky enough to lose round after round
used to fail after its retries (a 500 under ``scale_out``, about one run in seven). After a
few lost rounds it now queues on the write gate and runs with no other write beside it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from processing.server import pg
from processing.server.pg import PgDatabase, PgStorage
from processing.server.storage import next_seq

THREADS = 8
WRITES = 15


@pytest.fixture
def storage(pg_dsn: str) -> Iterator[PgStorage]:
    opened = PgStorage(pg_dsn)
    try:
        yield opened
    finally:
        opened.close()


def _contended(db: PgDatabase) -> int:
    # The shape of a sale's write: a snapshot first, some work, then the shared counter.
    db.execute("SELECT value FROM counters WHERE name = 'catalog'").fetchone()
    time.sleep(0.003)
    return next_seq(db, "contention")


def test_writes_that_keep_losing_on_the_shared_counter_all_get_through(
    storage: PgStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Few retries, so that losing every one of them is likely for some write under this
    # contention unless the later rounds queue on the gate (checked by the ``failed`` list).
    monkeypatch.setattr(pg, "RETRIES", pg.LOCK_AFTER + 2)
    monkeypatch.setattr(pg, "BACKOFF_MAX", 0.002)
    taken: list[int] = []
    failed: list[BaseException] = []

    def sell() -> None:
        for _ in range(WRITES):
            try:
                taken.append(storage.transact(_contended))
            except BaseException as exc:  # counted and reported below
                failed.append(exc)

    threads = [threading.Thread(target=sell) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not failed, f"{len(failed)} writes failed: {failed[0]!r}"
    assert sorted(taken) == list(range(1, THREADS * WRITES + 1))  # each value taken once
