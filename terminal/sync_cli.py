"""``till sync`` and ``till status``: the outbox, headless.

``till sync`` drains now and exits 0 when the queue is empty and nothing is dead; 1 with a
summary when items are dead; 2 when items are still waiting (server unreachable); 3 when the
configuration or the database cannot be used. ``till status`` prints online/offline, queue
depth, age of the oldest unsent item, last sync, open conflicts and dead items.
"""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

import click

from offline_cache.clock import utc_now
from offline_cache.db import open_database
from offline_cache.errors import CacheError
from offline_cache.link import ProcessingTransport
from offline_cache.outbox import Outbox
from offline_cache.status import SyncStatus, sync_status
from offline_cache.sync import SyncEngine
from processing.client import ClientSettings, ProcessingClient
from processing.errors import ProcessingError
from terminal.cli_support import settings_or_exit
from terminal.config import Settings
from terminal.sentences import sentence

EXIT_DEAD = 1
EXIT_UNSENT = 2
EXIT_UNUSABLE = 3

_config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="config.toml to use (default: TILL_CONFIG or ./config.toml).",
)


def _client(settings: Settings) -> ProcessingClient:
    key = settings.processing.resolved_api_key() or ""
    # Headless: a few patient attempts per call; the breaker still stops a dead server fast.
    return ProcessingClient(settings.processing.url, key, ClientSettings(attempts=3))


def _age(delta: timedelta | None) -> str:
    if delta is None:
        return "-"
    seconds = int(delta.total_seconds())
    hours, rest = divmod(seconds, 3600)
    return f"{hours}h{rest // 60:02d}m" if hours else f"{rest // 60}m{rest % 60:02d}s"


def _describe(status: SyncStatus) -> list[str]:
    last = status.last_sync.isoformat(timespec="seconds") if status.last_sync else "never"
    lines = [
        f"queue: {status.unsent} unsent (oldest {_age(status.oldest_unsent_age)})",
        f"last sync: {last}",
        f"conflicts: {status.open_conflicts}",
        f"dead: {status.dead}",
    ]
    if status.last_error:
        lines.append(f"last error: {status.last_error}")
    return lines


@click.command()
@_config_option
def sync(config_path: Path | None) -> None:
    """Send everything queued on this till to the processing server now."""
    settings = settings_or_exit(config_path, EXIT_UNUSABLE)
    db_path = Path(settings.offline.db_path)
    try:
        with _client(settings) as client:
            # A running till may be draining in the background: wait for it, then send.
            report = SyncEngine(db_path, ProcessingTransport(client)).drain(wait_busy=30.0)
        db = open_database(db_path)
        status = sync_status(db, utc_now())
        dead = [(record.id, record.dead_reason) for record in Outbox(db).dead()[:20]]
        db.close()
    except (CacheError, ProcessingError) as error:
        click.echo(f"till sync: {sentence(error)}", err=True)
        sys.exit(EXIT_UNUSABLE)
    click.echo(f"sent: {report.acknowledged} acknowledged, {len(report.dead)} refused")
    for line in _describe(status):
        click.echo(line)
    for record_id, reason in dead:
        click.echo(f"dead {record_id}: {reason}")
    if status.dead:
        sys.exit(EXIT_DEAD)
    if status.unsent:
        sys.exit(EXIT_UNSENT)


@click.command()
@_config_option
def status(config_path: Path | None) -> None:
    """Show whether the server answers, and the state of this till's outbox."""
    settings = settings_or_exit(config_path, EXIT_UNUSABLE)
    try:
        db = open_database(Path(settings.offline.db_path))
        current = sync_status(db, utc_now())
        db.close()
    except CacheError as error:
        click.echo(f"till status: {sentence(error)}", err=True)
        sys.exit(EXIT_UNUSABLE)
    quick = ClientSettings(connect_timeout=1.0, read_timeout=1.5, attempts=1)
    key = settings.processing.resolved_api_key() or ""
    with ProcessingClient(settings.processing.url, key, quick) as client:
        try:
            client.health()
            online = "online"
        except ProcessingError as error:
            online = f"offline ({sentence(error)})"
    click.echo(f"server: {online}")
    for line in _describe(current):
        click.echo(line)
