"""The back office of the till: shift, status, history and reprint, sync, caches, printer.

One service of :class:`terminal.services.TillServices`; every method blocks and runs in a worker.
"""

from __future__ import annotations

import logging
import uuid
from decimal import Decimal

from offline_cache import conflicts, shifts
from offline_cache.db import open_database
from offline_cache.errors import ShiftCloseRefused, SyncBusy
from offline_cache.outbox import Outbox
from offline_cache.snapshots import CatalogCache
from processing.breaker import BreakerState
from processing.client import ProcessingClient
from terminal import receipts, till_state
from terminal.config import Settings
from terminal.i18n import _
from terminal.services.context import Clock, ReceiptPrinter, Session, SyncLink, TillError, TillStore
from terminal.views import CheckRow, SaleLine, ShiftReport, SyncView
from terminal.wire_views import draft_from_details

log = logging.getLogger(__name__)

SEND_NOW_WAIT_SECONDS = 30.0
"""How long "send now" waits for a drain already running (the background loop, ``till sync``)."""


class OfficeService:
    """Shift, status, history, reprint, sync and cache refresh."""

    def __init__(
        self,
        settings: Settings,
        client: ProcessingClient,
        store: TillStore,
        session: Session,
        printer: ReceiptPrinter,
        sync: SyncLink,
        *,
        clock: Clock,
    ) -> None:
        self.settings = settings
        self.client = client
        self.store = store
        self.session = session
        self.printer = printer
        self.sync = sync
        self.clock = clock

    # ------------------------------------------------------------------ shift

    def start_shift(self, cashier: str) -> None:
        """Attribute what follows to ``cashier`` and open a shift if none is open."""
        self.session.cashier = cashier
        with self.store.database() as db:
            shift_id = shifts.current_shift(db)
            if shift_id is None:
                shift_id = str(uuid.uuid4())
                shifts.open_shift(db, shift_id, cashier, self.clock)
            self.session.shift_id = shift_id
        self.store.audit(
            "login",
            cashier=self.session.cashier,
            record_id=self.session.shift_id,
            online=self.session.online,
        )

    def shift_report(self) -> ShiftReport:
        """Totals of the open shift."""
        assert self.session.shift_id is not None
        with self.store.database() as db:
            return till_state.shift_report(db, self.session.shift_id)

    def close_shift(self, manager: str | None = None) -> None:
        """Close the shift; refused while items are unsent unless a manager overrides."""
        assert self.session.shift_id is not None and self.session.cashier is not None
        with self.store.database() as db:
            try:
                shifts.close_shift(
                    db,
                    self.session.shift_id,
                    self.session.cashier,
                    online=self.session.online,
                    manager=manager,
                    clock=self.clock,
                )
            except ShiftCloseRefused as error:
                raise TillError(
                    _("{count} items are not sent yet; sync first or ask a manager.").format(
                        count=error.pending
                    )
                ) from error
        self.session.shift_id = None

    def print_text(self, text: str, kind: str) -> int | None:
        """Queue plain text (the shift report) for the printer.

        It goes through the receipts' renderer, so Ukrainian and Kazakh letters get the code
        page (or the image) the profile needs, exactly as on a receipt.
        """
        if self.settings.printer.kind == "none":
            return None
        from drivers.receipt_layout import Line, wrap
        from drivers.render import render_blocks
        from drivers.text_normalise import normalise_text

        p = self.settings.printer
        language = self.settings.till.receipt_language
        rows = [
            part
            for row in normalise_text(text, language).splitlines()
            for part in ([row] if len(row) <= p.columns else wrap(row, p.columns, 99))
        ]
        data = render_blocks(
            tuple(Line(row) for row in rows),
            language,
            p.profile,
            p.columns,
            p.codepage,
            qr="off",
        ).data
        return self.printer.queue_bytes(data, kind)

    # ------------------------------------------------------------------ status

    def sync_view(self) -> SyncView:
        """Queue depth and connection state for the status line and the sync screen."""
        with self.store.database() as db:
            return till_state.sync_view(db, self.session.online)

    def printer_state(self) -> str:
        """One word for the status line: none, ok, or how many receipts wait."""
        if self.settings.printer.kind == "none":
            return _("none")
        with self.store.database() as db:
            waiting = till_state.printer_pending(db)
        return _("ok") if waiting == 0 else _("{count} waiting").format(count=waiting)

    # ------------------------------------------------------------------ catalog

    def product_line(self, barcode: str) -> SaleLine:
        """The check line of a scanned product, from the cached catalog."""
        with self.store.database() as db:
            item = CatalogCache(db).by_barcode(barcode)
        if item is None:
            raise TillError(_("This product is not in the catalog; type its price instead."))
        return SaleLine(
            name=item.name,
            price=item.price,
            quantity=Decimal(1),
            amount=item.price,
            barcode=item.barcode,
            category=item.category,
        )

    # ------------------------------------------------------------------ history and reprint

    def history(self, limit: int = 30) -> list[CheckRow]:
        """Recent checks of this till, newest first."""
        with self.store.database() as db:
            return till_state.recent_checks(db, limit)

    def reprint(self, check_id: str) -> str:
        """Queue a reprint of a committed check (marked as a copy); returns its text."""
        with self.store.database() as db:
            found = till_state.check_details(db, check_id)
            if found is None:
                raise TillError(_("No such check on this till."))
            row, details = found
            claim = till_state.claim_of(db, row.check_id, details)
        draft = draft_from_details(row, details)
        receipt = receipts.sale_receipt(
            self.settings,
            draft,
            earned=row.earned,
            spent=row.spent,
            balance_after=None,
            offline=row.offline,
            cashier=row.cashier,
            issued_at=row.created_at,
            kind="reprint",
            claim=receipts.claim_block(claim) if claim is not None else None,
        )
        text, _job = self.printer.queue(receipt, row.check_id, "reprint")
        self.store.audit(
            "reprint",
            cashier=self.session.cashier,
            record_id=row.check_id,
            online=self.session.online,
        )
        return text

    # ------------------------------------------------------------------ sync and caches

    def sync_now(self) -> SyncView:
        """Drain the outbox now (the sync screen's retry); returns the new state."""
        if not self.sync.running:
            raise TillError(_("Sync is not running on this till."))
        if not self.session.online or self.client.breaker.state is not BreakerState.CLOSED:
            # Asked to send now: check the server at once rather than wait out the breaker.
            self.client.probe()
        try:
            # The background loop may be draining right now: wait for it rather than fail.
            report = self.sync.engine.drain(wait_busy=SEND_NOW_WAIT_SECONDS)
        except SyncBusy as error:
            raise TillError(_("Another sync is still running; try again in a moment.")) from error
        if report.error:
            log.info("sync stopped: %s", report.error)
        return self.sync_view()

    def requeue_dead(self) -> int:
        """Give every dead record another chance (after the admin fixed the cause)."""
        with self.store.database() as db:
            outbox = Outbox(db, self.clock)
            dead = outbox.dead()
            for record in dead:
                outbox.requeue_dead(record.id)
        self.sync.kick()
        return len(dead)

    def open_conflicts(self) -> list[conflicts.Conflict]:
        """Conflicts for the admin not yet marked seen, newest first."""
        with self.store.database() as db:
            return conflicts.open_conflicts(db)

    def resolve_conflict(self, conflict_id: int, manager: str) -> None:
        """A manager marked a conflict seen (audited as ``conflict_resolved``)."""
        with self.store.database() as db:
            conflicts.resolve_conflict(
                db,
                conflict_id,
                cashier=self.session.cashier,
                override_by=manager,
                online=self.session.online,
                clock=self.clock,
            )

    def refresh_caches(self) -> None:
        """Refresh the program, member, catalog caches on a connection of this worker's own."""
        from offline_cache.refresh import refresh_all

        db = open_database(self.settings.offline.db_path)
        try:
            refresh_all(db, self.client, self.clock)
        finally:
            db.close()
