"""``till processing stores list`` and ``tills list|revoke|rotate-key``."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from processing.server.ops import tills as ops
from processing.server.ops.common import (
    DB_OPTION,
    OPERATOR_OPTION,
    now,
    operator_name,
    read_from,
    reason_text,
    write_to,
)


def _when(seconds: int | None) -> str:
    if seconds is None:
        return "-"
    return datetime.fromtimestamp(int(seconds), UTC).strftime("%Y-%m-%d %H:%M")


@click.group()
def stores() -> None:
    """The chain's stores."""


@stores.command("list")
@DB_OPTION
def list_stores(db_path: str) -> None:
    """Each store: timezone, tills with a key, revoked keys, its last check (UTC)."""
    with read_from(db_path) as db:
        rows = ops.stores(db)
    click.echo(f"{'store':<16} {'timezone':<22} {'tills':>5} {'revoked':>7}  last check (UTC)")
    for r in rows:
        zone = r.timezone or "(server default)"
        click.echo(
            f"{r.store_id:<16} {zone:<22} {r.active_tills:>5} {r.revoked_keys:>7}"
            f"  {_when(r.last_check_at)}"
        )


@click.group()
def tills() -> None:
    """The tills and their keys."""


@tills.command("list")
@click.option("--store", "store_id", default=None, help="only this store's tills")
@DB_OPTION
def list_tills(store_id: str | None, db_path: str) -> None:
    """Each till: its key's state, when it was issued or revoked, its last check (UTC)."""
    with read_from(db_path) as db:
        rows = ops.tills(db, store_id)
    click.echo(f"{'store':<16} {'till':<16} {'key':<8} {'issued':<17} {'revoked':<17} last check")
    for r in rows:
        state = "active" if r.active else "revoked"
        click.echo(
            f"{r.store_id:<16} {r.till_id:<16} {state:<8} {_when(r.created_at):<17}"
            f" {_when(r.revoked_at):<17} {_when(r.last_check_at)}"
        )


@tills.command()
@click.option("--store", "store_id", required=True)
@click.option("--till", "till_id", required=True)
@click.option("--reason", required=True, help="why (kept in the operator log)")
@OPERATOR_OPTION
@DB_OPTION
def revoke(store_id: str, till_id: str, reason: str, operator: str | None, db_path: str) -> None:
    """Revoke a till's key: every server process refuses it (401) from its next request."""
    who, why = operator_name(operator), reason_text(reason)
    with write_to(db_path, ops.TillError) as db:
        ops.revoke(db, store_id, till_id, now(), who, why)
    click.echo(f"Till {till_id} of store {store_id}: key revoked.")


@tills.command("rotate-key")
@click.option("--store", "store_id", required=True)
@click.option("--till", "till_id", required=True)
@click.option("--reason", default="key rotation", show_default=True)
@OPERATOR_OPTION
@DB_OPTION
def rotate_key(
    store_id: str, till_id: str, reason: str, operator: str | None, db_path: str
) -> None:
    """Give a till a new key (printed once); its old key is refused from now on."""
    who, why = operator_name(operator), reason_text(reason)
    with write_to(db_path, ops.TillError) as db:
        key = ops.rotate_key(db, store_id, till_id, now(), who, why)
    click.echo(key)
