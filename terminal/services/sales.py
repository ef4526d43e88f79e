"""Where a sale is committed: identify, preview, commit, void (the sale screen and the bridge).

Every method blocks (network, disk) and is called from a worker thread, never from the UI
thread. Failures a cashier can act on raise :class:`TillError` with one translated sentence;
the app's single worker-error handler shows it. The composition root
(:mod:`terminal.composition`) builds this service with the session, store, client and printer.

A sale commits (:meth:`SaleService.commit_sale`) as: hold on the server → check +
``hold_confirm`` outbox record written durably → receipt print job → confirm → outbox record
acknowledged. A sale without a customer commits as a claim (:mod:`terminal.services.claims`).
If the server is lost after the hold, the confirmation stays in the outbox and the sync engine
sends it; nothing is lost or doubled (the server deduplicates by the check's UUID).
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import replace
from datetime import datetime
from decimal import Decimal

from sqlite_utils import Database

from loyalty.identifiers import IdKind, classify
from offline_cache import offline
from offline_cache.checks import CheckRecord, commit_check, queue_record
from offline_cache.errors import CacheError, ManagerPinRequired, OfflineRefused
from offline_cache.members import MemberCache
from offline_cache.offline import authorize_offline_spend
from offline_cache.outbox import KIND_HOLD_CANCEL
from processing import wire
from processing.client import ProcessingClient
from processing.errors import Offline, Rejected, ServerError
from terminal import member_progress, offline_rules, receipts
from terminal.config import Settings
from terminal.errors import TillError
from terminal.estimate import online_estimate
from terminal.i18n import _
from terminal.sentences import rejected_sentence, sentence
from terminal.services.claims import ClaimService
from terminal.services.context import Clock, ReceiptPrinter, Session, SyncLink, TillStore
from terminal.views import MemberView, Preview, PreviewLine, SaleDraft, SaleResult
from terminal.wire_views import check_request, draft_details, member_view, wire_line

__all__ = ["SaleService", "hold_key"]

log = logging.getLogger(__name__)


def hold_key(request: wire.HoldRequest) -> str:
    """The hold's Idempotency-Key: the check id and a digest of the whole request.

    The same body sent again (a network retry, or Enter pressed again after the answer was
    lost) is the same key, so the server answers it from its store; a corrected hold (after
    ``stale_calculation`` or a wrong code) is another body and so a fresh key. A key from the
    check id alone made the corrected hold an ``idempotency_conflict`` for ever.
    """
    body = request.model_dump_json().encode()
    return f"{request.check_id}-hold-{hashlib.sha256(body).hexdigest()[:32]}"


class SaleService:
    """Identify, preview, commit and void a sale (without a customer: a claim)."""

    def __init__(
        self,
        settings: Settings,
        client: ProcessingClient,
        store: TillStore,
        session: Session,
        printer: ReceiptPrinter,
        claims: ClaimService,
        sync: SyncLink,
        *,
        clock: Clock,
    ) -> None:
        self.settings = settings
        self.client = client
        self.store = store
        self.session = session
        self.printer = printer
        self.claims = claims
        self.sync = sync
        self.clock = clock
        # Identify waits at most the offline budget; the call goes on in this pool's thread.
        self._budget_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="identify")

    def close(self) -> None:
        """Stop waiting for identify calls still running (bounded; on app exit)."""
        self._budget_pool.shutdown(wait=False, cancel_futures=True)

    # ------------------------------------------------------------------ identify

    def identify(self, text: str, *, scanned: bool) -> MemberView:
        """Find the member a phone, QR token or card identifies; online within the budget.

        Falls back to the member cache when the server is unreachable or slower than the
        offline budget. Raises TillError when the text identifies nobody.
        """
        found = classify(text, self.settings.till.region)
        kinds = {IdKind.PHONE: "phone", IdKind.MEMBER_QR: "qr", IdKind.CARD: "card"}
        if found.kind not in kinds:
            raise TillError(_("This is not a phone number, member QR or loyalty card."))
        entry: wire.EntryMode = "scanned" if scanned else "typed"
        if not self.session.online:
            # A dead server costs the cashier one wait, not one per scan: the background
            # prober (and any other answer) brings the till back online.
            return self._identify_cached(text, entry)
        budget = float(self.settings.processing.offline_budget)
        future = self._budget_pool.submit(
            self.client.identify,
            found.value,
            kind=kinds[found.kind],  # type: ignore[arg-type]
            entry=entry,
            region=self.settings.till.region,
            expiring_within_days=self.settings.offline.expiring_within_days,
        )
        try:
            result = future.result(timeout=budget)
        except Rejected as error:
            raise TillError(rejected_sentence(error)) from error
        except FutureTimeout:
            # The call goes on in its thread; the cashier does not wait for it, and neither
            # does the next scan: offline until an answer or the prober says otherwise.
            log.info("identify offline: no answer within %s s", budget)
            self.client.gave_up_waiting()
            return self._identify_cached(text, entry)
        except (Offline, ServerError) as error:
            log.info("identify offline: %s", error)
            return self._identify_cached(text, entry)
        rate = None
        if result.member.birthday_window:
            program = self.store.cached_program()
            rate = member_progress.birthday_rate(program, result.member.tier.rate_percent)
        return member_view(result, rate)

    def note_identified(self, member: MemberView) -> None:
        """Audit an identification (called after the panel has been told, to keep it fast)."""
        self.store.audit(
            "identify",
            cashier=self.session.cashier,
            record_id=member.member_id,
            source=member.entry,
            online=member.online,
        )

    def _identify_cached(self, text: str, entry: str) -> MemberView:
        with self.store.database() as db:
            try:
                view = offline_rules.identify_cached(
                    db, text, self.settings.till.region, self.clock(), entry
                )
            except offline_rules.OfflineRefusal as error:
                # The refusal is worded already, unless it passes on the cache's own reason.
                cause = error.__cause__
                worded = sentence(cause) if isinstance(cause, CacheError) else str(error)
                raise TillError(worded) from error
        return view

    # ------------------------------------------------------------------ preview

    def preview(self, draft: SaleDraft) -> Preview:
        """Earn, spend limit and amount to pay for ``draft``; offline under the offline rules."""
        if draft.member is None or not draft.lines:
            raise TillError(_("Identify the customer and enter an amount first."))
        if draft.member.online:
            try:
                calc = self.client.calculate(check_request(draft))
            except (Offline, ServerError):
                pass  # the server is lost (the connection state says so): preview offline
            except Rejected as error:
                raise TillError(rejected_sentence(error)) from error
            else:
                return Preview(
                    check_id=calc.check_id,
                    total=calc.total,
                    earn=calc.earn,
                    spend=calc.spend,
                    max_spend=calc.max_spend,
                    to_pay=calc.to_pay,
                    code_required=calc.code_required,
                    fingerprint=calc.fingerprint,
                    online=True,
                    message=calc.message.text,
                    lines=tuple(
                        PreviewLine(line.earn, line.spend, line.max_spend)
                        for line in sorted(calc.lines, key=lambda line: line.index)
                    ),
                )
        with self.store.database() as db:
            return offline_rules.offline_preview(
                db, self.settings, draft, self.clock(), self.session.shift_id
            )

    def estimate(self, draft: SaleDraft) -> Preview | None:
        """The till's estimate of an online ``draft`` (:mod:`terminal.estimate`); no network."""
        if draft.member is None or not draft.lines:
            return None
        with self.store.database() as db:
            return online_estimate(db, draft, self.clock())

    def request_spend_code(self, draft: SaleDraft) -> str:
        """Send the member an SMS code for this spend; returns the code id."""
        assert draft.member is not None
        try:
            sent = self.client.request_spend_code(
                draft.member.member_id, draft.spend, idempotency_key=str(uuid.uuid4())
            )
        except Rejected as error:
            raise TillError(rejected_sentence(error)) from error
        return sent.code_id

    # ------------------------------------------------------------------ commit

    def commit_sale(
        self, draft: SaleDraft, preview: Preview | None, *, print_receipt: bool = True
    ) -> SaleResult:
        """Commit the check the cashier confirmed; returns what was earned, spent and printed.

        A check without a customer (and no ``preview``) becomes a claim: see
        :meth:`~terminal.services.claims.ClaimService.commit_claim`. ``print_receipt`` False
        (the cash register's bridge prints the bonus lines itself): no print job is queued.
        """
        if draft.member is None:
            return self.claims.commit_claim(draft, print_receipt=print_receipt)
        if preview is None:
            raise TillError(_("Enter the amount first."))
        if not preview.online:
            return self._commit_offline(draft, preview, print_receipt=print_receipt)
        request = wire.HoldRequest(
            **check_request(draft).model_dump(), fingerprint=preview.fingerprint
        )
        try:
            hold = self.client.hold(request, idempotency_key=hold_key(request))
        except (Offline, ServerError) as error:
            raise TillError(
                _("The server was lost before the sale was held; press Enter to recalculate.")
            ) from error
        except Rejected as error:
            raise TillError(rejected_sentence(error)) from error
        calc = hold.calculation
        record = CheckRecord(
            check_id=draft.check_id,
            member_id=draft.member.member_id,
            total=calc.total,
            earned=calc.earn,
            spent=calc.spend,
            offline=False,
            payload={"check_id": draft.check_id, "hold_id": hold.hold_id},
            shift_id=self.session.shift_id,
            cashier=self.session.cashier,
            details=draft_details(draft),
        )
        try:
            with self.store.database() as db:
                commit_check(db, record, source=draft.member.entry, clock=self.clock)
        except BaseException:
            # Nothing was committed here, so the server must not keep the points reserved.
            self._release_hold(draft.check_id)
            raise
        confirmed = self._confirm(draft.check_id)
        balance_after = (
            confirmed.balance_after
            if confirmed is not None
            else draft.member.available - calc.spend
        )
        self._remember_balance(draft.member.member_id, balance_after, confirmed is not None)
        text, job = self._print(
            draft,
            calc.earn,
            calc.spend,
            balance_after,
            offline=False,
            frozen_until=confirmed.frozen_until if confirmed is not None else None,
            queue=print_receipt,
        )
        return SaleResult(
            check_id=draft.check_id,
            earned=calc.earn,
            spent=calc.spend,
            balance_after=balance_after,
            offline=False,
            receipt_text=text,
            print_job_id=job,
            confirmed=confirmed is not None,
        )

    def _remember_balance(self, member_id: str, balance: Decimal, confirmed: bool) -> None:
        """Put the balance after an online sale into the member cache at once: if the server
        drops before the next refresh, the same points must not be spent again offline.

        The server's figure (confirmed) replaces the cached one; the till's own estimate (the
        confirmation still queued) only ever lowers it.
        """
        with self.store.database() as db:
            cache = MemberCache(db)
            if confirmed:
                cache.take_server_balance(member_id, balance)
            else:
                cache.lower_available(member_id, balance)

    def _confirm(self, check_id: str) -> wire.CheckResult | None:
        """The server's confirmation, or None when it is left to the sync (in the outbox).

        Sent by the sync engine's one "deliver now" path: a lost server or a late
        ``hold_expired`` leaves it pending for the background sync; a refusal for good
        dead-letters it (with a conflict for the admin) and the receipt keeps the hold's figures.
        """
        outcome = self.sync.deliver_now(check_id)
        if outcome.state != "acknowledged" or outcome.response is None:
            log.warning("confirm of %s left to the sync: %s", check_id[:8], outcome.state)
            return None
        return wire.CheckResult.model_validate(outcome.response)

    def _commit_offline(
        self, draft: SaleDraft, preview: Preview, *, print_receipt: bool = True
    ) -> SaleResult:
        assert draft.member is not None
        with self.store.database() as db:
            # The till's monotonic time: a clock moved back cannot reopen a used day.
            now = offline.advance_clock(db, self.clock())
            # Decided again under the same lock as the commit, so two sales cannot both use the
            # last of a bound, and a preview the program does not allow is never committed.
            decision = offline_rules.offline_decision(
                db, self.settings, replace(draft, spend=preview.spend), now, self.session.shift_id
            )
            self._authorize(db, draft, preview.spend, now)
            if decision.spend != preview.spend:
                raise TillError(
                    _("The program does not allow this spend offline; press Enter to recalculate.")
                )
            if decision.code_required and draft.override_by is None:
                # The customer's SMS code cannot be checked offline: a manager vouches instead,
                # and the server is told who did.
                raise ManagerPinRequired(
                    "Offline, a spend the program asks a code for needs a manager's PIN.",
                    preview.spend,
                )
            check = wire.OfflineCheck(
                check_id=draft.check_id,
                member_id=draft.member.member_id,
                lines=[wire_line(line) for line in draft.lines],
                spent_offline=preview.spend,
                provisional_earn=decision.earn,
                made_at=self.clock(),
                coupons=list(draft.coupons),
                manager_override=(
                    wire.ManagerOverride(
                        cashier_id=draft.override_by,
                        reason="offline spend above the code threshold",
                    )
                    if draft.override_by is not None and preview.spend > 0
                    else None
                ),
            )
            record = CheckRecord(
                check_id=draft.check_id,
                member_id=draft.member.member_id,
                total=preview.total,
                earned=decision.earn,
                spent=preview.spend,
                offline=True,
                provisional=True,
                payload=check.model_dump(mode="json"),
                shift_id=self.session.shift_id,
                cashier=self.session.cashier,
                details=draft_details(draft),
            )
            commit_check(
                db,
                record,
                source=draft.member.entry,
                override_by=draft.override_by,
                clock=lambda: now,
            )
        balance_after = draft.member.available - preview.spend
        text, job = self._print(
            draft, decision.earn, preview.spend, balance_after, offline=True, queue=print_receipt
        )
        return SaleResult(
            check_id=draft.check_id,
            earned=decision.earn,
            spent=preview.spend,
            balance_after=balance_after,
            offline=True,
            receipt_text=text,
            print_job_id=job,
            confirmed=False,
        )

    def _authorize(self, db: Database, draft: SaleDraft, points: Decimal, now: datetime) -> None:
        """The offline bounds for ``points``; ManagerPinRequired goes up to the screen, a bound
        that refuses becomes its translated sentence."""
        assert draft.member is not None
        try:
            authorize_offline_spend(
                db,
                draft.member.member_id,
                points,
                offline_rules.policy(self.settings),
                now,
                manager=draft.override_by,
                shift_id=self.session.shift_id,
            )
        except ManagerPinRequired:
            raise
        except OfflineRefused as error:
            raise TillError(offline_rules.refusal_sentence(error)) from error

    def void(self, draft: SaleDraft) -> None:
        """Drop a check before it was confirmed; only the audit log remembers it.

        A hold exists only inside :meth:`commit_sale`, which releases it itself when the
        local commit fails, so a void never leaves points reserved (and never queues a cancel
        that the server would refuse as an unknown check).
        """
        self.store.audit(
            "check_voided",
            cashier=self.session.cashier,
            record_id=draft.check_id,
            online=self.session.online,
            detail={"lines": len(draft.lines), "total": str(draft.total)},
        )

    def _release_hold(self, check_id: str) -> None:
        """Cancel a hold whose check could not be committed locally (queued when offline)."""
        key = str(uuid.uuid5(uuid.NAMESPACE_URL, f"cancel:{check_id}"))
        with self.store.database() as db:
            queue_record(
                db,
                key,
                KIND_HOLD_CANCEL,
                {"check_id": check_id},
                action="hold_released",
                cashier=self.session.cashier,
                online=self.session.online,
                clock=self.clock,
            )
        self.sync.deliver_now(key)  # left pending, the background sync cancels it

    # ------------------------------------------------------------------ printing

    def _print(
        self,
        draft: SaleDraft,
        earned: Decimal,
        spent: Decimal,
        after: Decimal,
        *,
        offline: bool,
        frozen_until: datetime | None = None,
        queue: bool = True,
    ) -> tuple[str, int | None]:
        progress = None
        if draft.member is not None:  # the tier line as the sale leaves it
            progress = member_progress.after_sale(
                draft.member, self.store.cached_program(), draft.total - spent, after, spent
            )
        receipt = receipts.sale_receipt(
            self.settings,
            draft,
            earned=earned,
            spent=spent,
            balance_after=after,
            offline=offline,
            frozen_until=frozen_until,
            cashier=self.session.cashier,
            issued_at=self.clock(),
            progress=progress,
        )
        if not queue:
            return self.printer.text(receipt), None
        return self.printer.queue(receipt, draft.check_id, "sale")
