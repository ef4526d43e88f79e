"""``till processing jobs run``."""

from __future__ import annotations

from pathlib import Path

import click

from processing.amounts import from_minor
from processing.server.ops.common import DB_OPTION, now, open_storage


@click.group()
def jobs() -> None:
    """Scheduled work: run from cron or a systemd timer (safe to run twice at once)."""


@jobs.command("run")
@DB_OPTION
def run_jobs(db_path: Path) -> None:
    """Burn expired lots into the ledger and release holds past their expiry."""
    from processing.server.ops.jobs import run

    storage = open_storage(db_path)
    try:
        result = run(storage, now())
    finally:
        storage.close()
    click.echo(
        f"Burnt {result.lots_burnt} expired lots ({from_minor(result.points_burnt)} points) of"
        f" {result.members} members; released {result.holds_released} stale holds."
    )
