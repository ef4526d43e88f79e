"""The ``till`` command line.

Subcommands living in other modules are mounted lazily, so ``till --help`` and ``till run`` do
not pay for importing the server framework, the printer library or the sync engine.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys

import click

from terminal.cli_support import settings_or_exit
from terminal.config import Settings, config_path
from terminal.pins import hash_pin

CONFIG_OPTION = click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=True),
    default=None,
    help="config file (default: $TILL_CONFIG or ./config.toml)",
)


class LazyGroup(click.Group):
    """A click group whose subcommands are imported only when named (click's documented recipe)."""

    def __init__(self, *args: object, lazy: dict[str, str] | None = None, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.lazy = lazy or {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self.lazy])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy:
            module_name, attr = self.lazy[cmd_name].split(":")
            command = getattr(importlib.import_module(module_name), attr)
            if not isinstance(command, click.Command):
                raise TypeError(f"{self.lazy[cmd_name]} is not a click command")
            return command
        return super().get_command(ctx, cmd_name)


LAZY_COMMANDS: dict[str, str] = {}
"""Subcommands defined elsewhere, added below only once their module exists."""

for _name, _target in {
    "processing": "processing.server.cli:processing",
    "devices": "terminal.devices_cli:devices",
    "sync": "terminal.sync_cli:sync",
    "status": "terminal.sync_cli:status",
    "bridge": "terminal.bridge_cli:bridge",
}.items():
    if importlib.util.find_spec(_target.split(":")[0]) is not None:
        LAZY_COMMANDS[_name] = _target


@click.group(
    cls=LazyGroup,
    lazy=LAZY_COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"]},
)
def main() -> None:
    """till — the cashier-side loyalty terminal."""


@main.group()
def config() -> None:
    """Check the configuration and write PIN hashes for it."""


@config.command("check")
@CONFIG_OPTION
def config_check(config_file: str | None) -> None:
    """Validate config.toml (and TILL_* overrides): `config OK` or one line per problem."""
    settings_or_exit(config_file)
    click.echo("config OK")


@config.command("hash-pin")
@click.option("--pin", prompt=True, hide_input=True, confirmation_prompt=True)
def config_hash_pin(pin: str) -> None:
    """Print a hash of a manager PIN for [security] admin_pin_hash."""
    try:
        click.echo(hash_pin(pin))
    except ValueError as exc:
        click.echo(f"PIN not accepted: {exc}", err=True)
        sys.exit(2)


@main.command()
@CONFIG_OPTION
def run(config_file: str | None) -> None:
    """Start the till from config.toml (path from --config or TILL_CONFIG)."""
    from terminal.launch import run_till

    settings = settings_or_exit(config_file)
    sys.exit(run_till(settings, config_path(config_file)))


@main.command()
def demo() -> None:
    """Run the whole till on this machine: server, demo members, scanner, printer, UI."""
    import os

    from terminal.demo import drop_owned_environment
    from terminal.launch import run_demo

    # The demo takes languages and theme from config.toml when there is one; everything
    # else (server, key, database, devices) is its own, whatever TILL_* variables say.
    ignored = drop_owned_environment(os.environ)
    base = settings_or_exit(None) if config_path(None).exists() else Settings()
    sys.exit(run_demo(base, ignored=ignored))
