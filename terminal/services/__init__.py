"""What the screens and the register bridge call: one plain service per concern.

==========================  ===================================================================
``services.sales``          identify, preview, **commit a sale**, void (:mod:`.sales`)
``services.claims``         a check without a customer; collecting a receipt's points
                            (:mod:`.claims`)
``services.members``        registration (online and queued), returns, the panel after a sale
                            (:mod:`.members`)
``services.office``         shift, status line, history and reprint, sync screen, caches
                            (:mod:`.office`)
==========================  ===================================================================

Each service is given what it needs (:mod:`.context`: the session, the store, the printer,
the sync) by the one composition root, :func:`terminal.composition.build_services`; they share
state only through those objects, never through a base class.
"""

from __future__ import annotations

from dataclasses import dataclass

from processing.client import ProcessingClient
from terminal.config import Settings
from terminal.connection import Connection
from terminal.services.claims import ClaimService
from terminal.services.context import (
    Clock,
    ReceiptPrinter,
    Session,
    SyncLink,
    TillError,
    TillStore,
    utc_now,
)
from terminal.services.members import MemberService
from terminal.services.office import OfficeService
from terminal.services.sales import SaleService, hold_key

__all__ = [
    "ClaimService",
    "Clock",
    "MemberService",
    "OfficeService",
    "ReceiptPrinter",
    "SaleService",
    "Session",
    "SyncLink",
    "TillError",
    "TillServices",
    "TillStore",
    "hold_key",
    "utc_now",
]


@dataclass(frozen=True)
class TillServices:
    """The till's services and the objects they share, as the composition root wired them."""

    settings: Settings
    """The configuration they were built from (an admin save builds new services)."""
    client: ProcessingClient
    """The processing client, shared with the sync worker (httpx is thread-safe)."""
    clock: Clock
    """Current time (injected so tests and snapshots are repeatable)."""
    session: Session
    """Cashier, shift and connection state: one object every service reads."""
    store: TillStore
    """The till database behind its lock."""
    printer: ReceiptPrinter
    sync: SyncLink
    sales: SaleService
    claims: ClaimService
    members: MemberService
    office: OfficeService

    @property
    def connection(self) -> Connection:
        """Whether the server answers (the app subscribes to its changes)."""
        return self.session.connection

    def close(self) -> None:
        """Release the network pool and the database (bounded; called on app exit)."""
        self.sales.close()
        self.client.close()
        self.store.close()
