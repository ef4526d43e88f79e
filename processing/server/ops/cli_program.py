"""``till processing program check|load|show|diff``: the program as a file."""

from __future__ import annotations

from pathlib import Path

import click

from loyalty.program import Program
from processing.server.ops import program_file, programs
from processing.server.ops.common import (
    DB_OPTION,
    earliest_today,
    now,
    parse_day,
    read_from,
    write_to,
)

CHECK_FAILED = 2
"""Exit status of ``program check`` (and ``load``) for a file with problems."""


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"Cannot read {path}: {exc}") from None


def _report(path: Path, problems: list[str]) -> None:
    for line in problems:
        click.echo(f"{path}: {line}", err=True)
    raise SystemExit(CHECK_FAILED)


@click.group()
def program() -> None:
    """The loyalty program as a TOML file: check, load as a new version, show, diff."""


@program.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def check(file: Path) -> None:
    """Check a program file: one line per problem with its key, exit 2 when any."""
    try:
        program_file.parse(_read(file))
    except program_file.ProgramFileError as exc:
        _report(file, exc.problems)
    click.echo(f"{file}: the program is valid.")


@program.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--from",
    "from_day",
    default=None,
    help="first local date (YYYY-MM-DD) of the new version in each store's calendar;"
    " default: today",
)
@DB_OPTION
def load(file: Path, from_day: str | None, db_path: str) -> None:
    """Install a program file as a new version, in force from a local date of the stores."""
    text = _read(file)
    at = now()
    # A file's problems are lines and exit 2 (as `check` prints them), not one Error: line.
    try:
        with write_to(db_path, programs.VersionError, must_exist=False) as db:
            today = earliest_today(db, at)
            start = today if from_day is None else parse_day(from_day, "--from")
            loaded = programs.load(db, text, start, today, at)
    except program_file.ProgramFileError as exc:
        _report(file, exc.problems)
    since = loaded.effective_from or "the start"
    click.echo(f"Program version {loaded.version} loaded, in force from {since}.")


def _header(version: programs.Version) -> str:
    since = version.effective_from or "the start"
    return (
        f"Program version {version.version}, in force from {since} in each store's calendar.\n"
        "Load a changed copy with: till processing program load FILE --from YYYY-MM-DD"
    )


@program.command()
@click.option("--version", "number", type=int, default=None, help="default: the newest")
@DB_OPTION
def show(number: int | None, db_path: str) -> None:
    """Print a version as a program file that loads back unchanged."""
    with read_from(db_path, programs.VersionError) as db:
        version = programs.get(db, number)
    click.echo(program_file.dump(version.program, _header(version)), nl=False)


def _side(text: str, db_path: str) -> Program:
    """A version number from the database, or a program file."""
    if text.isdigit():
        with read_from(db_path, programs.VersionError) as db:
            return programs.get(db, int(text)).program
    path = Path(text)
    try:
        return program_file.parse(_read(path))
    except program_file.ProgramFileError as exc:
        _report(path, exc.problems)
        raise  # unreachable: _report exits


@program.command()
@click.argument("a")
@click.argument("b")
@DB_OPTION
def diff(a: str, b: str, db_path: str) -> None:
    """What changes from A to B (each a version number or a program file)."""
    lines = program_file.diff(_side(a, db_path), _side(b, db_path))
    if not lines:
        click.echo("The rules are the same.")
    for line in lines:
        click.echo(line)
