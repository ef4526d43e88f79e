"""What every ``till`` subcommand shares: loading the config or exiting with its problem lines."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from terminal.config import ConfigError, Settings, load_settings

EXIT_CONFIG = 2
"""Exit status for a config that cannot be used (``till config check`` and most commands)."""


def settings_or_exit(config_file: str | Path | None, exit_code: int = EXIT_CONFIG) -> Settings:
    """The validated settings, or one line per problem on stderr and exit ``exit_code``."""
    try:
        return load_settings(config_file)
    except ConfigError as exc:
        for line in exc.problems:
            click.echo(line, err=True)
        sys.exit(exit_code)
