"""Members at the till: registration (online with an SMS code, queued when offline) and returns.

A mixin of :class:`terminal.services.TillServices`; every method blocks and runs in a worker.
Returns and offline registrations go through the outbox first, like every commit.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from offline_cache.checks import queue_record
from offline_cache.outbox import KIND_REGISTRATION, KIND_RETURN, Outbox
from processing import wire
from processing.errors import Offline, ProcessingError, Rejected, ServerError
from terminal import till_state
from terminal.i18n import _
from terminal.service_base import ServiceBase, TillError, rejected_sentence
from terminal.views import CheckRow, MemberView, ReturnView, SaleLine


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


class MemberServices(ServiceBase):
    """Register members and return checks."""

    # ------------------------------------------------------------------ registration

    def register_start(self, form: Registration) -> CodeStep:
        """Send the SMS code; offline, queue the registration for the sync instead."""
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
            sent = self.client.register(
                form.phone,
                consent=True,
                name=request.name,
                birthday=request.birthday,
                email=request.email,
                region=request.region,
                idempotency_key=str(uuid.uuid4()),
            )
        except Rejected as error:
            raise TillError(rejected_sentence(error)) from error
        except (Offline, ServerError):
            self.online = False
            return self._queue_registration(request)
        self.online = True
        return CodeStep(sent.code_id, sent.phone_masked, sent.existing_member, queued=False)

    def _queue_registration(self, request: wire.RegisterRequest) -> CodeStep:
        from loyalty.phones import mask_phone, normalize_phone

        record_id = str(uuid.uuid4())
        masked = mask_phone(normalize_phone(request.phone, request.region))
        with self.database() as db:
            queue_record(
                db,
                record_id,
                KIND_REGISTRATION,
                request.model_dump(mode="json"),
                action="registration_queued",
                cashier=self.cashier,
                online=False,
                detail={"phone": masked},
                clock=self.clock,
            )
        self.kick_sync()
        return CodeStep(None, masked, existing_member=False, queued=True)

    def register_confirm(self, code_id: str, code: str) -> MemberView:
        """Check the customer's code; returns the new (or found) member, identified."""
        from terminal.services import member_view

        try:
            result = self.client.confirm_registration(
                code_id, code, idempotency_key=str(uuid.uuid4())
            )
        except Rejected as error:
            raise TillError(rejected_sentence(error)) from error
        view = member_view(result)
        self._audit("registered", record_id=view.member_id, online=True, source="typed")
        return view

    # ------------------------------------------------------------------ returns

    def find_check(self, number: str) -> tuple[CheckRow, tuple[SaleLine, ...]]:
        """A check of this till by its printed number (first 8 characters) or full id."""
        from terminal.office_services import draft_from_details

        with self.database() as db:
            found = till_state.check_details(db, number.strip())
        if found is None:
            raise TillError(_("No such check on this till."))
        row, details = found
        return row, draft_from_details(row, details).lines

    def return_lines(self, check_id: str, quantities: dict[int, Decimal]) -> ReturnView:
        """Return ``quantities`` (line index → quantity) of a check; queued when offline."""
        lines = [wire.ReturnLine(index=i, quantity=q) for i, q in quantities.items() if q > 0]
        if not lines:
            raise TillError(_("Choose at least one line to return."))
        return_id = str(uuid.uuid4())
        request = wire.ReturnRequest(return_id=return_id, check_id=check_id, lines=lines)
        with self.database() as db:
            queue_record(
                db,
                return_id,
                KIND_RETURN,
                request.model_dump(mode="json"),
                action="return",
                cashier=self.cashier,
                online=self.online,
                detail={"check_id": check_id},
                clock=self.clock,
            )
        try:
            result = self.client.return_check(request, idempotency_key=return_id)
        except Rejected as error:
            with self.database() as db:
                Outbox(db, self.clock).mark_dead(return_id, f"{error.code}: {error.message}")
            raise TillError(rejected_sentence(error)) from error
        except ProcessingError:
            self.online = False
            self.kick_sync()
            return ReturnView(return_id, check_id, Decimal(0), Decimal(0), None, queued=True)
        with self.database() as db:
            Outbox(db, self.clock).mark_acknowledged(return_id, result.model_dump(mode="json"))
        self._audit(
            "return_applied",
            record_id=check_id,
            online=True,
            detail={
                "taken_back": str(result.points_taken_back),
                "given_back": str(result.points_given_back),
            },
        )
        return ReturnView(
            return_id,
            check_id,
            result.points_taken_back,
            result.points_given_back,
            result.balance_after,
            queued=False,
        )
