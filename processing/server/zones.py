"""Store timezones: the calendar the loyalty rules and customer-message dates follow.

Times are stored and sent as instants (Unix seconds, aware UTC datetimes); only the calendar
day changes with the store. Each store may have an IANA timezone in the ``stores`` table
(``till processing add-till --timezone``); a store without one uses the server's default
(``till processing serve --timezone``, UTC unless told otherwise), so a server nobody
configured behaves as before stores had timezones.

Raises :class:`UnknownTimezone` for a name that is not an IANA timezone.
"""

from __future__ import annotations

import logging
import os
from contextlib import suppress
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from processing.server.engine import Database

log = logging.getLogger("processing.server")

DEFAULT_NAME = "UTC"

_UTC_NAMES = frozenset(
    {"UTC", "Etc/UTC", "UCT", "Etc/UCT", "Universal", "Etc/Universal", "Zulu", "Etc/Zulu"}
)


class UnknownTimezone(ValueError):
    """Not the name of an IANA timezone (``reason`` is one sentence)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.reason = (
            f"Unknown timezone {name!r}: give an IANA name such as Europe/Moscow or Asia/Almaty."
        )
        super().__init__(self.reason)


def load(name: str) -> tzinfo:
    """The timezone called ``name`` (IANA, e.g. ``Asia/Almaty``); "UTC" needs no tz database.

    ZoneInfo caches its instances, so calling this per request costs a dict lookup."""
    if name == DEFAULT_NAME:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder such as "Europe"
        raise UnknownTimezone(name) from None


def name_of(zone: tzinfo) -> str:
    """The name ``zone`` was loaded by (``load(name_of(z))`` is ``z`` for a zone from
    :func:`load`)."""
    if isinstance(zone, ZoneInfo):
        return zone.key
    return DEFAULT_NAME if zone is UTC else str(zone)


def stored(name: object, default: tzinfo) -> tzinfo:
    """The zone of a ``stores.timezone`` value (None: no row, ``default``). A name the tz
    database no longer knows is logged and falls back to ``default``: a till must not be locked
    out of every call by a bad setting."""
    if name is None:
        return default
    try:
        return load(str(name))
    except UnknownTimezone:
        log.warning("store timezone %r is unknown; using %s", name, name_of(default))
        return default


def local_time(seconds: int, zone: tzinfo) -> datetime:
    """The instant ``seconds`` on ``zone``'s clock (the day rules and messages go by)."""
    return datetime.fromtimestamp(seconds, zone)


def set_store_timezone(db: Database, store_id: str, name: str, *, replace: bool = True) -> None:
    """Set the store's timezone (validated first: raises UnknownTimezone); ``replace`` False
    leaves a store that already has one as it is."""
    load(name)
    conflict = "DO UPDATE SET timezone = excluded.timezone" if replace else "DO NOTHING"
    db.execute(
        f"INSERT INTO stores (store_id, timezone) VALUES (?, ?) ON CONFLICT(store_id) {conflict}",
        [store_id, name],
    )


def store_timezone(db: Database, store_id: str) -> str | None:
    """The name of the store's own timezone, or None (it follows the server's default)."""
    row = db.execute("SELECT timezone FROM stores WHERE store_id = ?", [store_id]).fetchone()
    return None if row is None else str(row[0])


def machine_timezone() -> str | None:
    """This machine's IANA timezone when it can be read cheaply (``TZ``, the /etc/localtime
    link, /etc/timezone), or None; UTC counts as none (the server's default applies then)."""
    candidates: list[str] = []
    tz = os.environ.get("TZ", "").removeprefix(":")
    if tz:
        candidates.append(tz)
    try:
        target = str(Path("/etc/localtime").readlink())
    except OSError:
        target = ""
    if "zoneinfo/" in target:
        candidates.append(target.rsplit("zoneinfo/", 1)[1])
    with suppress(OSError, UnicodeDecodeError):
        candidates.append(Path("/etc/timezone").read_text(encoding="utf-8").strip())
    for name in candidates:
        if not name or name.startswith("/"):
            continue
        try:
            load(name)
        except UnknownTimezone:
            continue
        return None if name in _UTC_NAMES else name
    return None
