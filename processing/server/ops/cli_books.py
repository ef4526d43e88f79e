"""``till processing audit``, ``report liability|movements``, ``conflicts list|resolve``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from processing.server.ops.common import DB_OPTION, open_storage


@click.command()
@DB_OPTION
def audit(db_path: Path) -> None:
    """Check the ledger's invariants; print every break, exit 1 when there is one."""
    from processing.server.ops import audit as books

    storage = open_storage(db_path)
    try:
        with storage.read() as db:
            result = books.run(db)
    finally:
        storage.close()
    for line in result.breaks:
        click.echo(line)
    if result.breaks:
        click.echo(f"{len(result.breaks)} breaks in the ledger.", err=True)
        sys.exit(1)
    click.echo(
        f"The ledger is sound: {result.members} members, {result.lots} lots,"
        f" {result.movements} movements, {result.checks} checks."
    )
