"""What every part of the services facade shares: settings, client, the locked database.

The facade (:class:`terminal.services.TillServices`) is assembled from one mixin per concern
(sale, members, back office); each relies only on what :class:`ServiceBase` provides.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlite_utils import Database

from loyalty.receipt import Receipt
from offline_cache.audit import AuditLog
from offline_cache.print_jobs import PrintJobs
from processing.client import ProcessingClient
from processing.errors import Rejected
from terminal.cashiers import Cashiers, cashiers_path
from terminal.config import Settings
from terminal.errors import TillError
from terminal.i18n import N_, _

Clock = Callable[[], datetime]
"""Returns the current time, aware; injected so tests and snapshots are repeatable."""

__all__ = ["Clock", "ServiceBase", "TillError", "rejected_sentence", "utc_now"]


def utc_now() -> datetime:
    """The system clock in UTC."""
    return datetime.now(UTC)


class ServiceBase:
    """Settings, the processing client, the till database behind a lock, who is working."""

    def __init__(
        self,
        settings: Settings,
        client: ProcessingClient,
        db: Database,
        *,
        clock: Clock = utc_now,
    ) -> None:
        self.settings = settings
        """The configuration (replaced after an admin save)."""
        self.client = client
        """The processing client, shared with the sync worker (httpx is thread-safe)."""
        self.clock = clock
        """Current time."""
        self._db = db
        # One connection shared by the workers; SQLite work is short, so a lock is enough.
        self._lock = threading.RLock()
        self._budget_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="identify")
        self.cashiers = Cashiers(cashiers_path(settings.offline.db_path))
        """Who may log in at this till."""
        self.cashier: str | None = None
        """The logged-in cashier; every audit line names them."""
        self.shift_id: str | None = None
        """The open shift."""
        self.online = True
        """What the last server call said; the status line shows it."""
        self.kick_sync: Callable[[], None] = lambda: None
        """Wake the background sync (set by whoever started it)."""

    @contextmanager
    def database(self) -> Iterator[Database]:
        """The till database, locked for the caller's block."""
        with self._lock:
            yield self._db

    def close(self) -> None:
        """Release the network pool and the database (bounded; called on app exit)."""
        self._budget_pool.shutdown(wait=False, cancel_futures=True)
        self.client.close()
        with self._lock:
            self._db.close()

    def _queue_print(self, receipt: Receipt, check_id: str, kind: str) -> tuple[str, int | None]:
        """The receipt's preview text, and its print job (None when no printer is set up)."""
        from terminal import receipts

        text = receipts.receipt_text(self.settings, receipt)
        if self.settings.printer.kind == "none":
            return text, None
        data = receipts.receipt_bytes(self.settings, receipt)
        with self.database() as db:
            job = PrintJobs(db, self.clock).enqueue(data, check_id, kind)
        return text, job

    def _audit(
        self,
        action: str,
        *,
        record_id: str | None,
        source: str | None = None,
        online: bool,
        detail: dict[str, object] | None = None,
        override_by: str | None = None,
    ) -> None:
        with self.database() as db:
            AuditLog(db, self.clock).append(
                action,
                cashier=self.cashier,
                online=online,
                source=source,
                record_id=record_id,
                detail=detail,
                override_by=override_by,
            )


_REJECTION_SENTENCES = {
    "unknown_member": N_("No member has this phone or card; F5 registers a new one."),
    "member_blocked": N_("This member is blocked: no points on this sale."),
    "spend_not_allowed": N_("This member may not spend points now."),
    "insufficient_points": N_("The member does not have that many points."),
    "code_required": N_("This spend needs the code from the customer's SMS."),
    "code_invalid": N_("The SMS code is wrong; ask the customer again."),
    "code_expired": N_("The SMS code has expired; send a new one."),
    "code_locked": N_("Too many wrong codes; the sale can go on without spending points."),
    "code_resend_too_soon": N_("A code was just sent; wait a minute before sending another."),
    "code_phone_limit": N_("This phone has had too many codes this hour; try again later."),
    "code_till_limit": N_("This till has sent too many codes; try again in a minute."),
    "stale_calculation": N_("The check changed; press Enter to recalculate."),
    "hold_expired": N_("The hold expired; press Enter to recalculate."),
    "invalid_phone": N_("This is not a valid phone number."),
    "invalid_token": N_("This QR code is not valid or has expired; ask for a fresh one."),
    "return_exceeds_check": N_("That is more than the check had left to return."),
    "unknown_check": N_("No such check on the server."),
    "consent_required": N_("The customer's consent is required to register."),
    "claim_unknown": N_("This claim code is not known; check the digits on the receipt."),
    "claim_redeemed": N_("The points of this receipt were already collected."),
    "claim_expired": N_("This claim code has expired; its points can no longer be collected."),
    "claim_returned": N_(
        "The goods on this receipt were returned; there are no points to collect."
    ),
}


def rejected_sentence(error: Rejected) -> str:
    """The cashier's sentence for a refusal (the server's own when the code is unknown)."""
    sentence = _REJECTION_SENTENCES.get(error.code)
    return _(sentence) if sentence else error.message
