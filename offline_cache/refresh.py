"""Refreshing the caches from the server while online: program, member delta, catalog delta.

Each delta is followed page by page from the stored cursor; the cursor is saved with the rows
of its page in one transaction, so an interrupted refresh resumes where it stopped.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

from sqlite_utils import Database

from offline_cache.clock import Clock, utc_now
from offline_cache.members import MemberCache, MemberRow
from offline_cache.offline import take_server_time
from offline_cache.snapshots import CatalogCache, CatalogItem, ProgramCache, SyncState
from offline_cache.txn import write_transaction
from processing import wire
from processing.client import ProcessingClient
from processing.errors import ErrorCode, Rejected

MAX_PAGES = 10_000
MOST_WAIT_S = 2.0
"""The longest pause after a page refused ``too_many_requests``, whatever ``Retry-After`` says
(a hostile answer must not park the refresh, and the till's exit waits for this thread)."""
MOST_REFUSALS = 10
"""Refusals in a row after which the refresh gives up until its next run (cursor kept)."""

_Item = TypeVar("_Item", covariant=True)


def refresh_program(db: Database, client: ProcessingClient, clock: Clock = utc_now) -> str:
    """Store the server's program snapshot; returns its version. Raises processing errors."""
    snapshot = client.program_snapshot()
    ProgramCache(db).store(
        str(snapshot.version),
        snapshot.program,
        snapshot.qr_public_key,
        timedelta(seconds=snapshot.qr_token_ttl_seconds),
        clock(),
    )
    # The server's clock is the one the till trusts: it resets the offline high-water mark.
    take_server_time(db, snapshot.issued_at)
    return str(snapshot.version)


class _Page(Protocol[_Item]):
    """One page of a delta: its items, the cursor after it, and whether more follow."""

    @property
    def items(self) -> Sequence[_Item]: ...

    @property
    def cursor(self) -> str: ...

    @property
    def has_more(self) -> bool: ...


def _follow(
    db: Database,
    cursor_key: str,
    fetch: Callable[[str], _Page[_Item]],
    store: Callable[[Sequence[_Item], datetime], int],
    clock: Clock,
    sleep: Callable[[float], None],
) -> int:
    """Fetch pages from the cursor saved under ``cursor_key``, storing each page and its
    cursor in one transaction; returns how many rows were stored.

    A page refused by the server's per-till read limit is asked again after its
    ``Retry-After``: a first download of a big chain's members is hundreds of pages, more than
    the limit's burst, and must not stop until the next refresh minutes later."""
    state, stored, refusals = SyncState(db), 0, 0
    cursor = state.get(cursor_key) or ""
    for _ in range(MAX_PAGES):
        try:
            delta = fetch(cursor)
        except Rejected as refused:
            refusals += 1
            if refused.code != ErrorCode.TOO_MANY_REQUESTS or refusals > MOST_REFUSALS:
                raise
            sleep(_wait(refused))
            continue
        refusals = 0
        with write_transaction(db):
            stored += store(delta.items, clock())
            state.set(cursor_key, delta.cursor, clock())
        cursor = delta.cursor
        if not delta.has_more:
            break
    return stored


def _wait(refused: Rejected) -> float:
    """Seconds to wait before asking again: the answer's ``retry_after_seconds``, within
    1..MOST_WAIT_S (the answer is the server's, so a missing or odd value waits 1 s)."""
    wait = refused.details.get("retry_after_seconds")
    if isinstance(wait, bool) or not isinstance(wait, int):
        return 1.0
    return float(min(max(wait, 1), MOST_WAIT_S))


def _member_row(item: wire.MemberCacheRow) -> MemberRow:
    return MemberRow(
        member_id=item.id,
        phone=item.phone,
        state=item.state,
        available=item.available,
        balance_at=item.balance_at,
        card_numbers=tuple(item.card_numbers),
        details={
            "phone_masked": item.phone_masked,
            "name": item.name,
            "lifetime_spend": str(item.lifetime_spend),
            "birthday": None if item.birthday is None else item.birthday.isoformat(),
        },
    )


def refresh_members(
    db: Database,
    client: ProcessingClient,
    page: int = 1000,
    clock: Clock = utc_now,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Follow the member delta from the saved cursor; returns how many rows were stored."""
    cache = MemberCache(db)
    return _follow(
        db,
        "members_cursor",
        lambda cursor: client.members_delta(cursor, page),
        lambda items, now: cache.upsert_many([_member_row(item) for item in items], now),
        clock,
        sleep,
    )


def refresh_catalog(
    db: Database,
    client: ProcessingClient,
    page: int = 1000,
    clock: Clock = utc_now,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Follow the catalog delta from the saved cursor; returns how many products were stored."""
    cache = CatalogCache(db)
    return _follow(
        db,
        "catalog_cursor",
        lambda cursor: client.catalog_delta(cursor, page),
        lambda items, now: cache.upsert_many(
            [
                CatalogItem(barcode, p.sku, p.name, p.price, p.category, p.active)
                for p in items
                for barcode in p.barcodes
            ],
            now,
        ),
        clock,
        sleep,
    )


def refresh_all(db: Database, client: ProcessingClient, clock: Clock = utc_now) -> None:
    """Program, members and catalog, in that order. Raises processing errors."""
    refresh_program(db, client, clock)
    refresh_members(db, client, clock=clock)
    refresh_catalog(db, client, clock=clock)
