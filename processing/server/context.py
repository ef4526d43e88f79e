"""What every request handler needs: storage, the clock, the SMS gateway, the program.

The clock is injected (tests move time forward to expire holds and codes); the program is
read from the database and parsed once per version. ``timezone`` is the calendar of stores
that have none of their own (:mod:`processing.server.zones`).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo

from loyalty.program import Program
from processing.server.auth import KeyChecker
from processing.server.catalog_cache import CatalogCache
from processing.server.engine import Database, StorageEngine
from processing.server.previews import Previews
from processing.server.readlimit import ReadLimit
from processing.server.sms import DevSmsSink, SmsGateway
from processing.server.storage import get_setting
from processing.server.writelanes import WriteLanes

Clock = Callable[[], datetime]

HOLD_TTL_SECONDS = 600
"""How long a hold reserves points before it releases itself."""

QR_PRIVATE_KEY_SETTING = "qr_private_key"


def system_clock() -> datetime:
    return datetime.now(UTC)


class NoProgram(Exception):
    """The database has no program yet (run ``till processing seed``)."""


@dataclass
class ServerContext:
    """Shared state of one server process (thread-safe)."""

    storage: StorageEngine
    clock: Clock = system_clock
    sms: SmsGateway = field(default_factory=DevSmsSink)
    hold_ttl: int = HOLD_TTL_SECONDS
    keys: KeyChecker = field(default_factory=KeyChecker)
    timezone: tzinfo = UTC
    """The timezone of a store without one in the ``stores`` table."""
    previews: Previews = field(default_factory=Previews)
    """The calculations answered lately, for the holds that follow them."""
    catalog: CatalogCache = field(default_factory=CatalogCache)
    """The program days and catalog categories read lately, kept per catalog change."""
    reads: ReadLimit = field(default_factory=ReadLimit)
    """Each till's allowance of reads (identify, calculate, GETs): :mod:`readlimit`."""
    writes: WriteLanes = field(default_factory=WriteLanes)
    """Each till's writes in progress at once: :mod:`writelanes`."""
    in_flight: int = 0
    """Requests this process is serving right now (counted on its event loop's thread)."""
    _programs: dict[int, Program] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.keys.default_zone = self.timezone

    def now(self) -> int:
        """The clock as Unix seconds."""
        return int(self.clock().timestamp())

    def program(self, db: Database) -> Program:
        """The program in force now on the calendar of stores without their own timezone.
        Raises NoProgram when none is stored."""
        return self.program_at(db, self.now(), self.timezone)

    def program_at(self, db: Database, at: int, zone: tzinfo, epoch: int | None = None) -> Program:
        """The program version in force at ``at`` (Unix seconds) on the local day of ``zone``
        (the store's calendar): see :func:`version_in_force`. Raises NoProgram. ``epoch``:
        the catalog epoch already read in this snapshot of ``db``, if it was
        (:meth:`~processing.server.catalog_cache.CatalogCache.version`)."""
        day = datetime.fromtimestamp(at, zone).date().isoformat()
        version = self.catalog.version(db, day, version_in_force, epoch)
        return self.program_version(db, version)

    def program_version(self, db: Database, version: int) -> Program:
        """Stored version ``version``, parsed once per process."""
        cached = self._programs.get(version)
        if cached is not None:
            return cached
        body = db.execute("SELECT body FROM programs WHERE version = ?", [version]).fetchone()[0]
        program = Program.from_dict(json.loads(body))
        with self._lock:
            self._programs[version] = program
        return program

    def qr_private_key(self, db: Database) -> str | None:
        return get_setting(db, QR_PRIVATE_KEY_SETTING)


def store_program(
    db: Database, program: Program, now: int, effective_from: str | None = None
) -> None:
    """Save ``program`` as a new version (its ``version`` must be above the stored ones), in
    force from the local date ``effective_from`` (ISO; None: from the start)."""
    db.execute(
        "INSERT INTO programs (version, body, created_at, effective_from) VALUES (?, ?, ?, ?)",
        [program.version, json.dumps(program.to_dict()), now, effective_from],
    )


def version_in_force(db: Database, day: str) -> int:
    """The program version in force on local date ``day`` (ISO): of the versions in force by
    then, the one with the latest ``effective_from``, the newest of those on a tie (a version
    loaded later for the same day replaces the earlier). Before every version's date: the
    earliest one. Raises NoProgram when none is stored."""
    row = db.execute(
        "SELECT version FROM programs WHERE effective_from IS NULL OR effective_from <= ?"
        " ORDER BY COALESCE(effective_from, '') DESC, version DESC LIMIT 1",
        [day],
    ).fetchone()
    if row is None:
        row = db.execute(
            "SELECT version FROM programs ORDER BY effective_from, version LIMIT 1"
        ).fetchone()
    if row is None:
        raise NoProgram("No loyalty program is configured; run `till processing seed`.")
    return int(row[0])
