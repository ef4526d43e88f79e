"""Members at the till: registration (an SMS code, or queued when offline) and returns.

One service of :class:`terminal.services.TillServices`; every method blocks and runs in a worker.
Returns and registrations go through the outbox first, like every commit, and are sent by the
sync engine's one deliver-now path (:meth:`terminal.services.context.SyncLink.deliver_now`):
delivered at once when the server answers, left queued for the background sync when not.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from loyalty.errors import InvalidPhone
from loyalty.phones import mask_phone, normalize_phone
from offline_cache import registrations
from offline_cache.checks import queue_record
from offline_cache.errors import NotFound
from offline_cache.outbox import KIND_REGISTRATION, KIND_RETURN, Outbox
from offline_cache.registrations import PendingRegistration
from processing import wire
from processing.client import ProcessingClient
from processing.errors import ErrorCode, ProcessingError, Rejected
from terminal import member_progress, till_state
from terminal.config import Settings
from terminal.i18n import N_, _
from terminal.sentences import rejected_sentence, sentence
from terminal.services.context import Clock, Session, SyncLink, TillError, TillStore
from terminal.views import CheckRow, MemberView, ReturnView, SaleLine
from terminal.wire_views import draft_from_details, member_view


@dataclass(frozen=True)
class Registration:
    """What the cashier typed on the registration screen."""

    phone: str
    consent: bool
    name: str | None = None
    birthday: date | None = None
    email: str | None = None


@dataclass(frozen=True)
class CodeStep:
    """Registration started: an SMS code went out (``code_id``), or it was queued offline."""

    code_id: str | None
    phone_masked: str
    existing_member: bool
    queued: bool
    pending: PendingRegistration | None = None
    """Set when the phone's registration was queued offline and delivered since: its code."""


class MemberService:
    """Register members and return checks."""

    def __init__(
        self,
        settings: Settings,
        client: ProcessingClient,
        store: TillStore,
        session: Session,
        sync: SyncLink,
        *,
        clock: Clock,
    ) -> None:
        self.settings = settings
        self.client = client
        self.store = store
        self.session = session
        self.sync = sync
        self.clock = clock

    # ------------------------------------------------------------------ panel figures

    def member_after_sale(
        self, member: MemberView, paid: Decimal, balance_after: Decimal, spent: Decimal
    ) -> MemberView:
        """The panel's member once a sale is done: balance, expiring points, tier and progress
        after it."""
        return member_progress.after_sale(
            member, self.store.cached_program(), paid, balance_after, spent
        )

    # ------------------------------------------------------------------ registration

    def register_start(self, form: Registration) -> CodeStep:
        """Commit the registration and send it (the server texts a code); offline it stays
        queued for the sync. A refused registration is dead-lettered and told in one sentence.
        """
        pending = self.pending_for_phone(form.phone)
        if pending is not None:
            # Queued offline and delivered since: the customer confirms that registration.
            return CodeStep(
                pending.code_id,
                pending.phone_masked,
                pending.existing_member,
                queued=False,
                pending=pending,
            )
        if not form.consent:
            raise TillError(_("The customer's consent is required to register."))
        request = wire.RegisterRequest(
            phone=form.phone,
            region=self.settings.till.region,
            consent=True,
            name=form.name or None,
            birthday=form.birthday,
            email=form.email or None,
        )
        try:
            masked = mask_phone(normalize_phone(request.phone, request.region))
        except InvalidPhone as error:
            raise TillError(sentence(error)) from error
        # Committed first, like every write, then sent by the sync engine's deliver-now path:
        # offline it simply stays queued, and the same record is delivered later.
        record_id = str(uuid.uuid4())
        with self.store.database() as db:
            queue_record(
                db,
                record_id,
                KIND_REGISTRATION,
                request.model_dump(mode="json"),
                action="registration_queued",
                cashier=self.session.cashier,
                online=self.session.online,
                detail={"phone": masked},
                clock=self.clock,
            )
        outcome = self.sync.deliver_now(record_id)
        if outcome.state == "dead":
            raise TillError(rejected_sentence(_refusal(outcome.response)))
        if outcome.state != "acknowledged" or outcome.response is None:
            return CodeStep(None, masked, existing_member=False, queued=True)
        sent = wire.CodeSent.model_validate(outcome.response)
        return CodeStep(sent.code_id, sent.phone_masked, sent.existing_member, queued=False)

    def register_confirm(self, code_id: str, code: str) -> MemberView:
        """Check the customer's code; returns the new (or found) member, identified."""
        try:
            result = self.client.confirm_registration(
                code_id, code, idempotency_key=str(uuid.uuid4())
            )
        except Rejected as error:
            raise TillError(rejected_sentence(error)) from error
        view = member_view(result)
        with self.store.database() as db:
            # The registration record this code was sent for is done: no longer pending.
            for pending in registrations.pending_registrations(db):
                if pending.code_id == code_id:
                    registrations.mark_confirmed(
                        db,
                        pending.record_id,
                        view.member_id,
                        cashier=self.session.cashier,
                        clock=self.clock,
                    )
        self.store.audit(
            "registered",
            cashier=self.session.cashier,
            record_id=view.member_id,
            online=True,
            source="typed",
        )
        return view

    # ------------------------------------------------------------------ queued offline

    def pending_registrations(self) -> list[PendingRegistration]:
        """Offline registrations delivered since, waiting for the customer's code."""
        with self.store.database() as db:
            return registrations.pending_registrations(db)

    def pending_for_phone(self, text: str) -> PendingRegistration | None:
        """The pending registration of the phone ``text``, or None (also for a non-phone)."""
        try:
            phone = normalize_phone(text, self.settings.till.region)
        except InvalidPhone:
            return None
        with self.store.database() as db:
            found = registrations.pending_registrations(db, phone)
        return found[0] if found else None

    def ready_pending(self, record_id: str) -> PendingRegistration:
        """The pending registration, with a new code sent when the last one has expired."""
        pending = self._pending(record_id)
        if pending.expires_at is not None and pending.expires_at <= self.clock():
            return self.resend_pending(record_id)
        return pending

    def resend_pending(self, record_id: str) -> PendingRegistration:
        """Ask the server for a new code for a pending registration (same queued form)."""
        with self.store.database() as db:
            payload = registrations.registration_payload(db, record_id)
        form = wire.RegisterRequest.model_validate(payload)
        try:
            sent = self.client.register(
                form.phone,
                consent=form.consent,
                name=form.name,
                birthday=form.birthday,
                email=form.email,
                region=form.region,
                idempotency_key=str(uuid.uuid4()),
            )
        except Rejected as error:
            raise TillError(_pending_sentence(error)) from error
        except ProcessingError as error:
            raise TillError(_(_OFFLINE_CONFIRM)) from error
        with self.store.database() as db:
            registrations.note_code_resent(
                db,
                record_id,
                sent.code_id,
                sent.expires_at,
                cashier=self.session.cashier,
                clock=self.clock,
            )
        return self._pending(record_id)

    def confirm_pending(self, record_id: str, code: str) -> MemberView:
        """Check the customer's code for a registration queued offline; the member, identified.

        A wrong code keeps the registration pending; an expired or unknown code gets a new
        one sent (the sentence says so).
        """
        pending = self._pending(record_id)
        # The same code typed again after a lost answer replays the server's first answer.
        key = hashlib.sha256(f"{record_id}:{pending.code_id}:{code}".encode()).hexdigest()
        try:
            result = self.client.confirm_registration(pending.code_id, code, idempotency_key=key)
        except Rejected as error:
            if error.code in {ErrorCode.CODE_EXPIRED, ErrorCode.UNKNOWN_CODE}:
                fresh = self.resend_pending(record_id)
                raise TillError(
                    _("The code has expired; a new code was sent to {phone}.").format(
                        phone=fresh.phone_masked
                    )
                ) from error
            raise TillError(_pending_sentence(error)) from error
        except ProcessingError as error:
            raise TillError(_(_OFFLINE_CONFIRM)) from error
        view = member_view(result)
        with self.store.database() as db:
            registrations.mark_confirmed(
                db, record_id, view.member_id, cashier=self.session.cashier, clock=self.clock
            )
        return view

    def _pending(self, record_id: str) -> PendingRegistration:
        try:
            with self.store.database() as db:
                return registrations.pending_registration(db, record_id)
        except NotFound as error:
            raise TillError(_("This registration is no longer waiting for a code.")) from error

    # ------------------------------------------------------------------ returns

    def find_check(self, number: str) -> tuple[CheckRow, tuple[SaleLine, ...]]:
        """A check of this till by its printed number (first 8 characters) or full id."""
        with self.store.database() as db:
            found = till_state.check_details(db, number.strip())
        if found is None:
            raise TillError(_("No such check on this till."))
        row, details = found
        return row, draft_from_details(row, details).lines

    def return_lines(
        self, check_id: str, quantities: dict[int, Decimal], *, return_id: str | None = None
    ) -> ReturnView:
        """Return ``quantities`` (line index → quantity) of a check; queued when offline.

        ``return_id`` (the bridge: derived from the register's refund receipt) makes a retried
        return the same return for the server; by default every call is a new one.
        """
        lines = [wire.ReturnLine(index=i, quantity=q) for i, q in quantities.items() if q > 0]
        if not lines:
            raise TillError(_("Choose at least one line to return."))
        return_id = return_id or str(uuid.uuid4())
        request = wire.ReturnRequest(return_id=return_id, check_id=check_id, lines=lines)
        with self.store.database() as db:
            queue_record(
                db,
                return_id,
                KIND_RETURN,
                request.model_dump(mode="json"),
                action="return",
                cashier=self.session.cashier,
                online=self.session.online,
                detail={"check_id": check_id},
                clock=self.clock,
            )
            # The check itself is still queued (sold offline, or a claim not sent yet): sent
            # now, the return would reach the server before its check and be refused.
            check_queued = Outbox(db, self.clock).is_unsent(check_id)
        if check_queued:
            self.sync.kick()
            return ReturnView(return_id, check_id, Decimal(0), Decimal(0), None, queued=True)
        outcome = self.sync.deliver_now(return_id)
        if outcome.state == "dead":
            # Dead-lettered with a ``refused`` conflict: the register refunded the money, so
            # the admin sees the points that were not taken back, not only the cashier.
            raise TillError(rejected_sentence(_refusal(outcome.response)))
        if outcome.state != "acknowledged" or outcome.response is None:
            return ReturnView(return_id, check_id, Decimal(0), Decimal(0), None, queued=True)
        result = wire.ReturnResult.model_validate(outcome.response)
        no_member = not result.member_id  # a check without a customer, not collected yet
        self.store.audit(
            "return_applied",
            cashier=self.session.cashier,
            record_id=check_id,
            online=True,
            detail={
                "taken_back": str(result.points_taken_back),
                "given_back": str(result.points_given_back),
                **({"no_member": True} if no_member else {}),
                **({"shortfall": str(result.shortfall)} if result.shortfall else {}),
            },
        )
        return ReturnView(
            return_id,
            check_id,
            result.points_taken_back,
            result.points_given_back,
            None if no_member else result.balance_after,
            queued=False,
            no_member=no_member,
            shortfall=result.shortfall,
        )


def _refusal(response: dict[str, Any] | None) -> Rejected:
    """The server's refusal again, from the answer the sync engine stored with the record."""
    body = response or {}
    return Rejected(
        str(body.get("code", "rejected")), str(body.get("message", "")), body.get("details")
    )


_OFFLINE_CONFIRM = N_("The server is not reachable; confirm the code once it is back.")


_PENDING_REFUSALS = {
    ErrorCode.CODE_LOCKED: N_("Too many wrong codes; ask for a new code later."),
}
"""Refusals that read differently for a registration queued offline."""


def _pending_sentence(error: Rejected) -> str:
    """The sentence for a refused code of a queued registration (as online, locked aside)."""
    return rejected_sentence(error, _PENDING_REFUSALS)
