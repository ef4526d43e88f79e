"""The operator's commands, mounted under ``till processing`` by
:mod:`processing.server.cli` (each command module imports its work lazily)."""

from __future__ import annotations

import click

from processing.server.ops.cli_members import catalog, members
from processing.server.ops.cli_program import program
from processing.server.ops.cli_tills import stores, tills

COMMANDS: tuple[click.Command, ...] = (program, members, catalog, stores, tills)
"""The commands ``till processing`` adds, in the order of its help."""
