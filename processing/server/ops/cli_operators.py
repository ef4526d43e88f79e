"""``till processing operators add|list|revoke``: keys for the operator API."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from processing.server.ops.common import DB_OPTION, now, read_from, write_to


@click.group()
def operators() -> None:
    """Keys for the operator API (/v1/operator/…): never a till's key."""


@operators.command()
@click.argument("name")
@DB_OPTION
def add(name: str, db_path: Path) -> None:
    """Give operator NAME a new API key, printed once (their earlier keys are revoked); the
    name is kept with every change they make through the API."""
    from processing.server.ops import operators as ops

    with write_to(db_path, ops.OperatorError) as db:
        key = ops.add(db, name, now())
    click.echo(key)


@operators.command("list")
@DB_OPTION
def list_operators(db_path: Path) -> None:
    """Each operator: their key's state and when it was issued (UTC)."""
    from processing.server.ops import operators as ops

    with read_from(db_path) as db:
        rows = ops.listed(db)
    if not rows:
        click.echo("No operators; add one with: till processing operators add NAME")
    for r in rows:
        issued = datetime.fromtimestamp(r.created_at, UTC).strftime("%Y-%m-%d %H:%M")
        click.echo(f"{r.name:<24} {'active' if r.revoked_at is None else 'revoked':<8} {issued}")


@operators.command()
@click.argument("name")
@DB_OPTION
def revoke(name: str, db_path: Path) -> None:
    """Revoke operator NAME's key: every server process refuses it from its next request."""
    from processing.server.ops import operators as ops

    with write_to(db_path, ops.OperatorError) as db:
        ops.revoke(db, name, now())
    click.echo(f"Operator {name.strip()}: key revoked.")
