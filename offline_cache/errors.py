"""Errors raised by ``offline_cache``: one hierarchy, one clear sentence each.

::

    CacheError                      anything the till's own database refuses
    ├── CorruptDatabase             the file is not a readable SQLite database
    ├── NewerSchema                 the file was written by a newer till
    ├── NotFound                    a row asked for by id does not exist
    ├── DuplicateRecord             the same client UUID was committed twice with other content
    ├── MemberNotCached             offline identify found nobody in the member cache
    ├── IdentifierRefused           offline identify refused the text (bad QR, not an identifier)
    ├── ProgramNotCached            no program snapshot yet, so nothing can be decided offline
    ├── ChainBroken                 the outbox hash chain shows a gap or an edit
    ├── OfflineRefused              an offline decision is outside the configured bounds
    │   └── ManagerPinRequired      allowed, but only with a manager's PIN
    ├── ShiftCloseRefused           items are still waiting to be sent
    └── SyncBusy                    another drain is already running (this or another process)

The message (``str(error)``) is one sentence a cashier or admin can read; details for the log
travel in attributes, never personal data in clear.
"""

from __future__ import annotations

from pathlib import Path


class CacheError(Exception):
    """Base class of every error raised by ``offline_cache``."""


class CorruptDatabase(CacheError):
    """The database file cannot be read as SQLite; it is left untouched for inspection."""

    def __init__(self, path: Path | str, detail: str) -> None:
        self.path = Path(path)
        self.detail = detail
        super().__init__(
            f"The till database {self.path} is damaged and was left untouched ({detail}); "
            "restore it or move it aside."
        )


class NewerSchema(CacheError):
    """The database was migrated by a newer version of till than this one."""

    def __init__(self, path: Path | str, unknown: list[str]) -> None:
        self.path = Path(path)
        self.unknown = unknown
        super().__init__(
            f"The till database {self.path} was written by a newer version of till "
            f"(unknown migrations: {', '.join(unknown)}); upgrade till to open it."
        )


class NotFound(CacheError):
    """A row looked up by its id does not exist."""

    def __init__(self, what: str, key: object) -> None:
        self.what = what
        self.key = key
        super().__init__(f"No {what} with id {key} in the till database.")


class DuplicateRecord(CacheError):
    """A client UUID was committed again with different content (a bug, never a retry)."""

    def __init__(self, record_id: str) -> None:
        self.record_id = record_id
        super().__init__(f"Record {record_id} was already committed with different content.")


class MemberNotCached(CacheError):
    """Nobody in the member cache matches the identifier."""

    def __init__(self) -> None:
        super().__init__(
            "This customer is not in the till's offline member list; try again when online."
        )


class IdentifierRefused(CacheError):
    """The text is not a usable member identifier offline; ``reason`` is a machine code."""

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason
        super().__init__(message)


class ProgramNotCached(CacheError):
    """No program snapshot has been downloaded yet."""

    def __init__(self) -> None:
        super().__init__(
            "The till has no copy of the loyalty program yet; connect to the server once."
        )


class ChainBroken(CacheError):
    """The outbox hash chain does not verify: a record is missing or was edited."""

    def __init__(self, seq: int, detail: str) -> None:
        self.seq = seq
        self.detail = detail
        super().__init__(f"The offline record chain is broken at record {seq}: {detail}.")


class OfflineRefused(CacheError):
    """An offline decision (usually a spend) is outside the configured offline bounds."""

    def __init__(self, message: str, limit: object = None, bound: str = "") -> None:
        self.limit = limit
        self.bound = bound
        """Which bound refused: a ``SpendLimit.bound`` name (empty when not one)."""
        super().__init__(message)


class ManagerPinRequired(OfflineRefused):
    """The offline spend is within bounds but above the threshold that needs a manager."""


class ShiftCloseRefused(CacheError):
    """The shift cannot close while the outbox still holds unsent items."""

    def __init__(self, pending: int) -> None:
        self.pending = pending
        super().__init__(
            f"The shift cannot be closed: {pending} item(s) are still waiting to be sent; "
            "sync first or ask a manager to override."
        )


class SyncBusy(CacheError):
    """Another drain holds the sync lease."""

    def __init__(self, owner: str) -> None:
        self.owner = owner
        super().__init__("Another sync is already running on this till; try again shortly.")
