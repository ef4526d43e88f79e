"""Claim codes at the till: a check made without a customer, and collecting its points later.

One service of :class:`terminal.services.TillServices`; every method blocks and runs in a worker.

A check confirmed with nobody identified (``[till] claims``) is committed like every other:
the check row and a ``claim`` outbox record (``wire.ClaimRequest``, its code derived from the
check id) are written durably first, then sent at once; when the server cannot be reached the
record stays queued and the sync engine sends it. The receipt prints the claim code with what
it is worth at least: the server's figure, or offline the loyalty core's base-tier earn from
the cached program, marked provisional.

Collecting the points (scanning a receipt's code with a customer identified) needs the server:
nothing is queued, so a receipt can never be collected twice by two offline tills.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

from loyalty.claims import claim_code
from offline_cache.checks import CheckRecord, commit_check
from offline_cache.errors import NotFound
from offline_cache.members import MemberCache
from offline_cache.outbox import KIND_CLAIM, Outbox
from processing import wire
from processing.client import ProcessingClient
from processing.errors import ErrorCode, Offline, Rejected, ServerError
from terminal import offline_rules, receipts
from terminal.config import Settings
from terminal.errors import TillError
from terminal.i18n import N_, _
from terminal.sentences import rejected_sentence
from terminal.services.context import Clock, ReceiptPrinter, Session, SyncLink, TillStore
from terminal.views import ClaimView, MemberView, RedeemedClaim, SaleDraft, SaleResult
from terminal.wire_views import draft_details, wire_line

log = logging.getLogger(__name__)

CLAIM_VALID_DAYS = 30
"""How long the reference server keeps a claim open after the check was made. Only the offline
receipt uses it, to estimate the date; the server's ``expires_at`` wins whenever it answered."""


def masked_code(code: str) -> str:
    """A claim code as the audit log keeps it: whoever holds the code can collect the points."""
    return "…" + code[-4:]


class ClaimService:
    """Commit a check without a customer under a claim code; collect a claim for a member."""

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

    # ------------------------------------------------------------------ a check without a customer

    def commit_claim(self, draft: SaleDraft, *, print_receipt: bool = True) -> SaleResult:
        """Commit ``draft`` (no customer) as a claim, send it, print its receipt (unless
        ``print_receipt`` is False: the cash register prints the claim code itself).

        Raises TillError when claims are turned off (``[till] claims = false``).
        """
        if not self.settings.till.claims:
            raise TillError(_("Identify the customer first."))
        request = self._claim_request(draft)
        made_at, code = request.made_at, request.code
        with self.store.database() as db:
            estimate = offline_rules.claim_estimate(db, draft, made_at)
        local = ClaimView(
            code, estimate, made_at + timedelta(days=CLAIM_VALID_DAYS), provisional=True
        )
        details = draft_details(draft)
        details["claim"] = {
            "code": code,
            "earn_at_least": estimate,
            "expires_at": local.expires_at.isoformat(),
        }
        record = CheckRecord(
            check_id=draft.check_id,
            member_id=None,
            total=draft.total,
            # Nobody has earned anything yet: the points move when a member collects them.
            earned=Decimal(0),
            spent=Decimal(0),
            offline=False,
            payload=request.model_dump(mode="json"),
            shift_id=self.session.shift_id,
            cashier=self.session.cashier,
            details=details,
            claim=True,
        )
        with self.store.database() as db:
            commit_check(db, record, clock=self.clock)
        claim = self._send_claim(request, local)
        receipt = receipts.sale_receipt(
            self.settings,
            draft,
            earned=Decimal(0),
            spent=Decimal(0),
            balance_after=None,
            offline=False,
            cashier=self.session.cashier,
            issued_at=made_at,
            claim=receipts.claim_block(claim) if claim is not None else None,
        )
        if print_receipt:
            text, job = self.printer.queue(receipt, draft.check_id, "sale")
        else:
            text, job = self.printer.text(receipt), None
        return SaleResult(
            check_id=draft.check_id,
            earned=Decimal(0),
            spent=Decimal(0),
            balance_after=Decimal(0),
            offline=claim is not None and claim.provisional,
            receipt_text=text,
            print_job_id=job,
            confirmed=claim is not None and not claim.provisional,
            claim=claim,
            claim_refused=claim is None,
        )

    def _claim_request(self, draft: SaleDraft) -> wire.ClaimRequest:
        """The claim of ``draft``: the one already committed when this is a retry."""
        with self.store.database() as db:
            try:
                stored = Outbox(db, self.clock).get(draft.check_id)
            except NotFound:
                stored = None
        if stored is not None and stored.kind == KIND_CLAIM:
            return wire.ClaimRequest.model_validate(stored.payload)
        return wire.ClaimRequest(
            check_id=draft.check_id,
            code=claim_code(draft.check_id),
            lines=[wire_line(line) for line in draft.lines],
            made_at=self.clock(),
        )

    def _send_claim(self, request: wire.ClaimRequest, local: ClaimView) -> ClaimView | None:
        """The server's claim; ``local`` while it is queued; None when the server refused it.

        Sent by the sync engine's "deliver now" path: a claim refused for good is
        dead-lettered with a ``refused`` conflict, so the admin sees a receipt printed
        without its code; the receipt goes without it.
        """
        check_id = request.check_id
        outcome = self.sync.deliver_now(check_id)
        if outcome.state == "dead":
            log.warning("claim %s refused", check_id[:8])
            return None
        if outcome.state != "acknowledged" or outcome.response is None:
            log.info("claim %s queued: %s", check_id[:8], outcome.error)
            return local
        answer = wire.Claim.model_validate(outcome.response)
        return ClaimView(answer.code, answer.earn_at_least, answer.expires_at, provisional=False)

    # ------------------------------------------------------------------ collecting a claim

    def redeem_claim(self, code: str, member: MemberView | None, *, scanned: bool) -> RedeemedClaim:
        """Credit the check behind ``code`` to ``member``; online only, nothing is queued.

        Raises TillError with one sentence: no customer identified, the server unreachable, or
        the server's refusal (unknown code, already collected, expired, returned, blocked).
        """
        if member is None:
            raise TillError(_("Identify the customer first, then scan the receipt's claim code."))
        source = "scanned" if scanned else "typed"
        detail: dict[str, object] = {"code": masked_code(code), "member_id": member.member_id}

        def refused(reason: str) -> None:
            self.store.audit(
                "claim_refused",
                cashier=self.session.cashier,
                record_id=member.member_id,
                source=source,
                online=self.session.online,
                detail={**detail, "reason": reason},
            )

        try:
            answer = self.client.redeem_claim(code, member.member_id)
        except Rejected as error:
            refused(error.code)
            raise TillError(_refusal_sentence(error)) from error
        except (Offline, ServerError) as error:
            refused("offline")
            raise TillError(
                _(
                    "Collecting points from a receipt needs the connection;"
                    " keep the receipt and try again later."
                )
            ) from error
        check = answer.check
        with self.store.database() as db:
            MemberCache(db).take_server_balance(check.member_id, check.balance_after)
        if answer.already_collected:
            # This member collected it before (here or at another till): nothing was credited
            # now, and ``balance_after`` is today's balance.
            refused("already_collected")
            after = replace(member, available=check.balance_after)
            return RedeemedClaim(check.check_id, Decimal(0), after, already_collected=True)
        self.store.audit(
            "claim_redeemed",
            cashier=self.session.cashier,
            record_id=check.check_id,
            source=source,
            online=True,
            detail={**detail, "earned": check.earned},
        )
        return RedeemedClaim(check.check_id, check.earned, _after(member, check))


def _after(member: MemberView, check: wire.CheckResult) -> MemberView:
    """``member`` as the panel shows them once ``check`` was credited to them."""
    if check.frozen_until is None or check.earned <= 0:
        return replace(member, available=check.balance_after)
    # Deferred activation: the earned points are frozen first, so they show as frozen.
    until = check.frozen_until
    if member.frozen_until is not None:
        until = min(until, member.frozen_until)
    return replace(
        member,
        available=check.balance_after,
        frozen_total=member.frozen_total + check.earned,
        frozen_until=until,
    )


_CLAIM_REFUSALS = {
    ErrorCode.MEMBER_BLOCKED: N_("This member is blocked and cannot collect points."),
}
"""Refusals that read differently when collecting a receipt's points."""


def _refusal_sentence(error: Rejected) -> str:
    return rejected_sentence(error, _CLAIM_REFUSALS)
