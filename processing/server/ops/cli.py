"""The operator's commands, mounted under ``till processing`` by
:mod:`processing.server.cli` (each command module imports its work lazily)."""

from __future__ import annotations

import functools
import sqlite3
from typing import Any

import click
import psycopg

from processing.server.ops.cli_books import audit, conflicts, report
from processing.server.ops.cli_coupons import coupons
from processing.server.ops.cli_jobs import jobs
from processing.server.ops.cli_members import catalog, members
from processing.server.ops.cli_offers import offers
from processing.server.ops.cli_operators import operators
from processing.server.ops.cli_program import program
from processing.server.ops.cli_tills import stores, tills


def _guarded(command: click.Command) -> click.Command:
    """``command`` (and its subcommands) with database errors as one line, not a traceback
    (a locked, full or damaged file)."""
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _guarded(sub)
    callback = command.callback
    if callback is not None:

        @functools.wraps(callback)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            try:
                return callback(*args, **kwargs)
            except (sqlite3.Error, psycopg.Error) as exc:
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise click.ClickException(f"The database refused: {first}.") from None

        command.callback = guarded
    return command


COMMANDS: tuple[click.Command, ...] = tuple(
    _guarded(c)
    for c in (
        program,
        members,
        catalog,
        offers,
        coupons,
        stores,
        tills,
        operators,
        audit,
        report,
        conflicts,
        jobs,
    )
)
"""The commands ``till processing`` adds, in the order of its help."""
