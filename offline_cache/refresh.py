"""Refreshing the caches from the server while online: program, member delta, catalog delta.

Each delta is followed page by page from the stored cursor; the cursor is saved with the rows
of its page in one transaction, so an interrupted refresh resumes where it stopped.
"""

from __future__ import annotations

from datetime import timedelta

from sqlite_utils import Database

from offline_cache.clock import Clock, utc_now
from offline_cache.members import MemberCache, MemberRow
from offline_cache.snapshots import CatalogCache, CatalogItem, ProgramCache, SyncState
from offline_cache.txn import write_transaction
from processing.client import ProcessingClient

MAX_PAGES = 10_000


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
    return str(snapshot.version)


def refresh_members(
    db: Database, client: ProcessingClient, page: int = 1000, clock: Clock = utc_now
) -> int:
    """Follow the member delta from the saved cursor; returns how many rows were stored."""
    state, cache, stored = SyncState(db), MemberCache(db), 0
    cursor = state.get("members_cursor") or ""
    for _ in range(MAX_PAGES):
        delta = client.members_delta(cursor, page)
        rows = [
            MemberRow(
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
            for item in delta.items
        ]
        with write_transaction(db):
            stored += cache.upsert_many(rows, clock())
            state.set("members_cursor", delta.cursor, clock())
        cursor = delta.cursor
        if not delta.has_more:
            break
    return stored


def refresh_catalog(
    db: Database, client: ProcessingClient, page: int = 1000, clock: Clock = utc_now
) -> int:
    """Follow the catalog delta from the saved cursor; returns how many products were stored."""
    state, cache, stored = SyncState(db), CatalogCache(db), 0
    cursor = state.get("catalog_cursor") or ""
    for _ in range(MAX_PAGES):
        delta = client.catalog_delta(cursor, page)
        items = [
            CatalogItem(barcode, p.sku, p.name, p.price, p.category, p.active)
            for p in delta.items
            for barcode in p.barcodes
        ]
        with write_transaction(db):
            stored += cache.upsert_many(items, clock())
            state.set("catalog_cursor", delta.cursor, clock())
        cursor = delta.cursor
        if not delta.has_more:
            break
    return stored


def refresh_all(db: Database, client: ProcessingClient, clock: Clock = utc_now) -> None:
    """Program, members and catalog, in that order. Raises processing errors."""
    refresh_program(db, client, clock)
    refresh_members(db, client, clock=clock)
    refresh_catalog(db, client, clock=clock)
