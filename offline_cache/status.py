"""The sync status an admin reads (``till status`` and the admin screen)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlite_utils import Database

from offline_cache.clock import from_text
from offline_cache.outbox import Outbox
from offline_cache.snapshots import SyncState


@dataclass(frozen=True)
class SyncStatus:
    """Queue depth, oldest unsent age, last sync, conflicts and dead items."""

    unsent: int
    oldest_unsent_age: timedelta | None
    last_sync: datetime | None
    last_error: str | None
    open_conflicts: int
    dead: int


def sync_status(db: Database, now: datetime) -> SyncStatus:
    """Read the status from the database (read-only)."""
    outbox = Outbox(db)
    oldest = outbox.oldest_unsent_at()
    state = SyncState(db)
    last_sync = state.get("last_sync")
    conflicts = db.execute("SELECT count(*) FROM conflicts WHERE resolved_at IS NULL").fetchone()
    dead = db.execute("SELECT count(*) FROM outbox WHERE state = 'dead'").fetchone()
    return SyncStatus(
        unsent=outbox.unsent_count(),
        oldest_unsent_age=None if oldest is None else max(timedelta(0), now - oldest),
        last_sync=None if last_sync is None else from_text(last_sync),
        last_error=state.get("last_error"),
        open_conflicts=int(conflicts[0]),
        dead=int(dead[0]),
    )
