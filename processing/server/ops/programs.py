"""Program versions in the server database: load a file as a new version from a local date,
read any version back.

Versions are never changed or deleted: a check keeps the number of the version it was
calculated with, and a check made offline is calculated, whenever it arrives, with the version
in force on its day in its store's calendar
(:func:`processing.server.context.version_in_force`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import date

from loyalty.program import Program
from loyalty.qrtoken import generate_keypair, public_key_of
from processing.server.context import QR_PRIVATE_KEY_SETTING, store_program
from processing.server.engine import Database
from processing.server.ops.program_file import parse
from processing.server.storage import get_setting, set_setting


class VersionError(Exception):
    """A version that does not exist, or a load the server refuses; one sentence."""


@dataclass(frozen=True)
class Version:
    """One stored version: its number, first local day (None: from the start), when loaded."""

    version: int
    effective_from: str | None
    created_at: int
    program: Program


def versions(db: Database) -> list[Version]:
    """Every stored version, oldest first."""
    rows = db.execute(
        "SELECT version, effective_from, created_at, body FROM programs ORDER BY version"
    ).fetchall()
    return [Version(int(r[0]), r[1], int(r[2]), Program.from_dict(json.loads(r[3]))) for r in rows]


def get(db: Database, version: int | None = None) -> Version:
    """Version ``version`` (None: the newest). Raises VersionError."""
    if version is None:
        row = db.execute("SELECT MAX(version) FROM programs").fetchone()
        if row[0] is None:
            raise VersionError("The database has no program yet; load one with `program load`.")
        version = int(row[0])
    row = db.execute(
        "SELECT version, effective_from, created_at, body FROM programs WHERE version = ?",
        [version],
    ).fetchone()
    if row is None:
        raise VersionError(f"There is no program version {version}.")
    return Version(int(row[0]), row[1], int(row[2]), Program.from_dict(json.loads(row[3])))


def load(db: Database, text: str, effective_from: date, today: date, now: int) -> Version:
    """Store the program file ``text`` as the next version, in force from the local date
    ``effective_from`` in each store's calendar. The first version is in force from the start.

    A date before ``today`` is refused: checks of those days are already calculated (a check
    made offline then still arrives and keeps the rules it was made under). Raises
    :class:`~processing.server.ops.program_file.ProgramFileError` for a bad file and
    VersionError for a refused date."""
    if effective_from < today:
        raise VersionError(
            f"--from {effective_from.isoformat()} is in the past; a version starts today"
            f" ({today.isoformat()}) or later."
        )
    row = db.execute("SELECT MAX(version) FROM programs").fetchone()
    first = row[0] is None
    number = 1 if first else int(row[0]) + 1
    private = get_setting(db, QR_PRIVATE_KEY_SETTING)
    if private is None:  # a database started from a program file, without `seed`
        private = generate_keypair()[0]
        set_setting(db, QR_PRIVATE_KEY_SETTING, private)
    program = parse(text, number, public_key_of(private))
    program = replace(program, version=number)
    day = None if first else effective_from.isoformat()
    store_program(db, program, now, day)
    return Version(number, day, now, program)
