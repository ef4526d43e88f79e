"""The ``till`` command line: one program, subcommands mounted lazily so ``--help`` stays fast."""

from __future__ import annotations

import sys

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """till — the cashier-side loyalty terminal."""


@main.command()
def demo() -> None:
    """Run the whole till on this machine: server, demo members, scanner, printer, UI."""
    click.echo("till demo is not built yet: the terminal UI is still in progress.", err=True)
    sys.exit(1)
