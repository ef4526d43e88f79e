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
from processing.server.engine import Database, StorageEngine
from processing.server.sms import DevSmsSink, SmsGateway
from processing.server.storage import get_setting

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
    _program: tuple[int, Program] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.keys.default_zone = self.timezone

    def now(self) -> int:
        """The clock as Unix seconds."""
        return int(self.clock().timestamp())

    def program(self, db: Database) -> Program:
        """The current program (highest version). Raises NoProgram when none is stored."""
        row = db.execute("SELECT MAX(version) FROM programs").fetchone()
        if row is None or row[0] is None:
            raise NoProgram("No loyalty program is configured; run `till processing seed`.")
        version = int(row[0])
        cached = self._program
        if cached is not None and cached[0] == version:
            return cached[1]
        body = db.execute("SELECT body FROM programs WHERE version = ?", [version]).fetchone()[0]
        program = Program.from_dict(json.loads(body))
        with self._lock:
            self._program = (version, program)
        return program

    def qr_private_key(self, db: Database) -> str | None:
        return get_setting(db, QR_PRIVATE_KEY_SETTING)


def store_program(db: Database, program: Program, now: int) -> None:
    """Save ``program`` as a new version (its ``version`` must be above the stored ones)."""
    db.execute(
        "INSERT INTO programs (version, body, created_at) VALUES (?, ?, ?)",
        [program.version, json.dumps(program.to_dict()), now],
    )
