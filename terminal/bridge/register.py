"""The register's receipts at this till: cart → identify → calculate → finish, cancel, refund.

One object, :class:`RegisterBridge`, over the till's services (the same ones the sale screen
calls, so online and offline behave exactly as there). Calls are serialised by one lock: a till
serves one register, and a second register calling while the first has a receipt open is
refused (``register_busy``), never interleaved. Every method blocks (network, disk) and runs
in the web server's worker threads, never on the UI thread.

The till's check id of a receipt is derived from the store, the till and the register's receipt
id, so a retried finish — even after a restart of the till — is the same check for the outbox
and for the server, which deduplicate it.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal

from offline_cache.audit import AuditLog
from offline_cache.errors import CacheError
from terminal.bridge import finishing, models
from terminal.bridge.state import Receipt, Refusal, check_state, sale_line
from terminal.bridge.views import BridgedCart
from terminal.errors import TillError
from terminal.i18n import _
from terminal.services import TillServices
from terminal.views import MemberView, SaleDraft

log = logging.getLogger(__name__)

ZERO = Decimal(0)
NAMESPACE = uuid.UUID("6f1c7c52-8a55-4b7e-9a43-1f0d3c2b9e10")
"""uuid5 namespace of the check ids the bridge derives from register receipt ids."""
CALLS_KEPT = 2000
"""How many answers are kept for call-id replays (oldest dropped first)."""


class RegisterBridge:
    """The register's side of the till: every method answers a :class:`models.CheckState`."""

    def __init__(
        self,
        services: TillServices,
        *,
        wake_printer: Callable[[], None] = lambda: None,
        on_change: Callable[[BridgedCart], object] = lambda cart: None,
    ) -> None:
        self.services = services
        """The till's services (shared with the screens)."""
        self.wake_printer = wake_printer
        """Tell the print worker a receipt was queued."""
        self.on_change = on_change
        """Tell the sale screen the receipt changed (posts a message; must not block)."""
        self._lock = threading.RLock()
        self._receipts: OrderedDict[str, Receipt] = OrderedDict()
        self._calls: OrderedDict[tuple[str, str], tuple[str, int, bytes]] = OrderedDict()

    # ------------------------------------------------------------------ replay

    def replayed(self, receipt_id: str, call_id: str, fingerprint: str) -> tuple[int, bytes] | None:
        """The answer already given to this call, or None for a call not seen before.

        Raises Refusal when the call id was used for a different request.
        """
        with self._lock:
            seen = self._calls.get((receipt_id, call_id))
        if seen is None:
            return None
        if seen[0] != fingerprint:
            raise Refusal(
                409, "call_id_reused", _("This call id was already used for another request.")
            )
        return seen[1], seen[2]

    def remember(
        self, receipt_id: str, call_id: str, fingerprint: str, status: int, body: bytes
    ) -> None:
        """Keep the answer for a retry of the same call."""
        with self._lock:
            self._calls[(receipt_id, call_id)] = (fingerprint, status, body)
            while len(self._calls) > CALLS_KEPT:
                self._calls.popitem(last=False)

    @property
    def lock(self) -> threading.RLock:
        """Held for a whole call, so replays and calls never interleave."""
        return self._lock

    # ------------------------------------------------------------------ calls

    def put_cart(self, register: str, receipt_id: str, cart: models.Cart) -> models.CheckState:
        """Take the register's cart; identify when it carries an identifier; calculate."""
        with self._lock:
            self._refuse_other_register(register)
            receipt = self._receipts.get(receipt_id)
            if receipt is not None and receipt.status != "open":
                raise Refusal(
                    409,
                    "receipt_closed",
                    _("This receipt is already finished; start a new receipt."),
                )
            if receipt is None:
                self._drop_abandoned(register)
                receipt = Receipt(receipt_id, register, self._check_id(receipt_id))
                self._receipts[receipt_id] = receipt
            receipt.messages = []
            changed = receipt.cart is None or receipt.cart.lines != cart.lines
            receipt.cart = cart
            ordered = sorted(cart.lines, key=lambda line: line.line)
            receipt.numbers = tuple(line.line for line in ordered)
            if cart.identifier is not None and cart.identifier.value != receipt.identified_by:
                self._identify(receipt, cart.identifier)
                changed = True
            if changed or receipt.preview is None:
                self._calculate(receipt)
                receipt.cashier_done = False
            self._changed(receipt)
            return check_state(receipt)

    def state(self, receipt_id: str) -> models.CheckState:
        """The loyalty state of a receipt."""
        with self._lock:
            return check_state(self._receipt(receipt_id))

    def spend(
        self, register: str, receipt_id: str, request: models.SpendRequest
    ) -> models.CheckState:
        """Pay with points (an amount, or the most allowed) and recalculate."""
        with self._lock:
            receipt = self._open(register, receipt_id)
            if receipt.member is None:
                raise Refusal(409, "no_member", _("Identify the customer first."))
            receipt.messages = []
            receipt.wish = "max" if request.max else request.amount
            self._calculate(receipt)
            self._changed(receipt)
            return check_state(receipt)

    def finish(
        self, register: str, receipt_id: str, request: models.FinishRequest
    ) -> models.CheckState:
        """The fiscal receipt is printed: commit the loyalty part (hold → confirm, or the
        outbox offline) and answer the bonus lines."""
        with self._lock:
            receipt = self._open(register, receipt_id)
            receipt.messages = []
            claims = self.services.settings.till.claims
            if receipt.member is None and receipt.draft is not None and claims:
                receipt.finish = self._commit_claim(receipt.draft, request)
            elif receipt.member is None or receipt.draft is None or receipt.preview is None:
                receipt.finish = finishing.bare_result(self.services, request)
            else:
                receipt.finish = self._commit(receipt, request)
            receipt.status = "finished"
            self._note(
                receipt,
                "bridge_finished",
                fiscal_number=request.fiscal_number,
                lines=list(receipt.numbers),  # a refund after a restart names lines by them
            )
            self._changed(receipt)
            return check_state(receipt)

    def cancel(self, register: str, receipt_id: str) -> models.CheckState:
        """The register dropped the receipt before fiscalising it: nothing is taken."""
        with self._lock:
            receipt = self._receipt(receipt_id)
            if receipt.register_id != register:
                raise self._busy()
            if receipt.status == "cancelled":
                return check_state(receipt)
            if receipt.status != "open":
                raise Refusal(
                    409,
                    "receipt_closed",
                    _("This receipt is already finished; refund it instead."),
                )
            if receipt.draft is not None:
                self.services.sales.void(receipt.draft)
            receipt.status = "cancelled"
            self._changed(receipt)
            return check_state(receipt)

    def refund(
        self, register: str, refund_id: str, request: models.RefundRequest
    ) -> models.CheckState:
        """Return lines of an earlier receipt: the points earned on them are taken back and the
        points spent on them given back, pro rata (queued when offline)."""
        with self._lock:
            self._refuse_other_register(register)
            done = self._receipts.get(refund_id)
            if done is not None and done.refund is not None:
                return check_state(done)
            original = self._receipts.get(request.original_receipt_id)
            check_id = self._check_id(request.original_receipt_id)
            numbers = original.numbers if original is not None else ()
            if original is None or original.status not in {"finished"}:
                numbers = self._numbers_on_till(check_id)
            quantities: dict[int, Decimal] = {}
            for line in request.lines:
                if line.line not in numbers:
                    raise Refusal(
                        422,
                        "unknown_line",
                        _("Line {line} is not on the original receipt.").format(line=line.line),
                    )
                index = numbers.index(line.line)
                quantities[index] = quantities.get(index, ZERO) + line.quantity
            return_id = str(uuid.uuid5(NAMESPACE, f"refund:{self._till()}:{refund_id}"))
            try:
                result = self.services.members.return_lines(
                    check_id, quantities, return_id=return_id
                )
            except TillError as error:
                raise Refusal(409, "refund_refused", str(error)) from error
            receipt = Receipt(refund_id, register, return_id, status="refunded")
            receipt.refund = models.RefundResult(
                refund_receipt_id=refund_id,
                original_receipt_id=request.original_receipt_id,
                points_taken_back=result.taken_back,
                points_given_back=result.given_back,
                balance_after=result.balance_after,
                queued=result.queued,
            )
            self._receipts[refund_id] = receipt
            return check_state(receipt)

    # ------------------------------------------------------------------ the cashier's side

    def cashier_identified(self, receipt_id: str, member: MemberView) -> None:
        """The cashier identified the customer on the sale screen (scan, phone, registration)."""
        with self._lock:
            receipt = self._receipts.get(receipt_id)
            if receipt is None or receipt.status != "open":
                return
            receipt.messages = []
            receipt.member = member
            self._calculate(receipt)
            self._changed(receipt)

    def cashier_spend(self, receipt_id: str, spend: Decimal) -> None:
        """The cashier chose the spend on the sale screen (F2, F3, F4)."""
        with self._lock:
            receipt = self._receipts.get(receipt_id)
            if receipt is None or receipt.status != "open" or receipt.member is None:
                return
            receipt.messages = []
            receipt.wish = spend
            self._calculate(receipt)
            self._changed(receipt)

    def hand_back(self, receipt_id: str) -> None:
        """The cashier is done with the receipt (Enter on the sale screen)."""
        with self._lock:
            receipt = self._receipts.get(receipt_id)
            if receipt is None or receipt.status != "open":
                return
            receipt.cashier_done = True
            self._changed(receipt)

    def _changed(self, receipt: Receipt) -> None:
        try:
            self.on_change(
                BridgedCart(
                    receipt_id=receipt.receipt_id,
                    register_id=receipt.register_id,
                    status=receipt.status,
                    draft=receipt.draft,
                    preview=receipt.preview,
                    cashier_done=receipt.cashier_done,
                    control=self,
                )
            )
        except Exception:  # the screen being gone must never fail a register's call
            log.exception("telling the sale screen about %s failed", receipt.receipt_id)

    # ------------------------------------------------------------------ steps

    def _identify(self, receipt: Receipt, identifier: models.Identifier) -> None:
        try:
            member = self.services.sales.identify(identifier.value, scanned=identifier.scanned)
        except TillError as error:
            receipt.messages.append(str(error))
            return
        receipt.member = member
        receipt.identified_by = identifier.value
        self.services.sales.note_identified(member)

    def _calculate(self, receipt: Receipt) -> None:
        """Preview the cart as the sale screen does, then bound the spend the register wants
        by the lines it lets points pay for."""
        assert receipt.cart is not None
        ordered = sorted(receipt.cart.lines, key=lambda line: line.line)
        draft = SaleDraft(receipt.check_id, receipt.member, tuple(map(sale_line, ordered)))
        receipt.draft, receipt.preview = draft, None
        if receipt.member is None:
            return
        try:
            base = self.services.sales.preview(draft)
            bound = base.max_spend  # the lines carry the register's flags (sale_line)
            wish = receipt.wish
            target = bound if wish == "max" else min(wish or ZERO, bound)
            if isinstance(wish, Decimal) and wish > bound:
                receipt.messages.append(
                    _("At most {points} points can pay this check.").format(points=bound)
                )
            preview = base
            if target > 0:
                draft = replace(draft, spend=target)
                preview = self.services.sales.preview(draft)
                if preview.code_required:
                    # A register cannot ask for the customer's SMS code: spend the most that
                    # needs none (the program's threshold), and say why.
                    receipt.messages.append(_("This spend needs the code from the customer's SMS."))
                    below = min(target, self._code_threshold())
                    draft = replace(draft, spend=below)
                    preview = self.services.sales.preview(draft) if below > 0 else base
                    if preview.code_required:
                        draft, preview = replace(draft, spend=ZERO), base
        except TillError as error:
            receipt.messages.append(str(error))
            return
        receipt.draft, receipt.preview = draft, preview

    def _commit(self, receipt: Receipt, request: models.FinishRequest) -> models.FinishResult:
        assert receipt.draft is not None and receipt.preview is not None
        draft, preview = receipt.draft, receipt.preview
        try:
            try:
                result = self.services.sales.commit_sale(
                    draft, preview, print_receipt=request.print
                )
            except TillError:
                if self.services.connection.online or not preview.online:
                    raise
                # The server was lost before the hold, as on the sale screen: calculate again,
                # offline this time, and commit if the register's discounts still stand.
                offline = self.services.sales.preview(draft)
                if offline.spend != preview.spend:
                    self._calculate(receipt)
                    raise Refusal(
                        409,
                        "spend_changed",
                        _(
                            "The server is not reachable and the points cannot be spent "
                            "offline; take the discount off and finish again."
                        ),
                    ) from None
                receipt.preview = preview = offline
                result = self.services.sales.commit_sale(
                    draft, preview, print_receipt=request.print
                )
        except TillError as error:
            raise Refusal(409, "finish_refused", str(error)) from error
        except CacheError as error:
            log.warning("bridge finish of %s refused offline: %s", receipt.check_id, error)
            raise Refusal(
                409,
                "finish_refused",
                _(
                    "The points cannot be spent offline without a manager; take the discount "
                    "off and finish again."
                ),
            ) from error
        if request.print and result.print_job_id is not None:
            self.wake_printer()
        return finishing.sale_result(self.services, draft, result, request)

    def _commit_claim(self, draft: SaleDraft, request: models.FinishRequest) -> models.FinishResult:
        """No customer: the check's points wait under a claim code, as on the sale screen;
        the register prints the code (and its QR) for the customer to collect them later."""

        try:
            result = self.services.sales.commit_sale(draft, None, print_receipt=request.print)
        except TillError as error:
            raise Refusal(409, "finish_refused", str(error)) from error
        if request.print and result.print_job_id is not None:
            self.wake_printer()
        return finishing.claim_result(self.services, result, request)

    # ------------------------------------------------------------------ helpers

    def _code_threshold(self) -> Decimal:
        """The most points a check may take without an SMS code (cached program; 0 unknown)."""
        program = self.services.store.cached_program()
        if program is None:
            return ZERO
        threshold = program.spend.code_threshold
        return threshold if threshold is not None else ZERO

    def _receipt(self, receipt_id: str) -> Receipt:
        receipt = self._receipts.get(receipt_id)
        if receipt is None:
            raise Refusal(404, "unknown_receipt", _("No such receipt on this till."))
        return receipt

    def _open(self, register: str, receipt_id: str) -> Receipt:
        receipt = self._receipt(receipt_id)
        if receipt.register_id != register:
            raise self._busy()
        if receipt.status != "open":
            raise Refusal(
                409, "receipt_closed", _("This receipt is already finished; start a new receipt.")
            )
        return receipt

    def _refuse_other_register(self, register: str) -> None:
        if any(r.status == "open" and r.register_id != register for r in self._receipts.values()):
            raise self._busy()

    @staticmethod
    def _busy() -> Refusal:
        return Refusal(
            409,
            "register_busy",
            _("Another cash register has a receipt open on this till; finish or cancel it first."),
        )

    def _drop_abandoned(self, register: str) -> None:
        """A register that starts a new receipt has given up its open one: void it."""
        for receipt in self._receipts.values():
            if receipt.status == "open" and receipt.register_id == register:
                if receipt.draft is not None:
                    self.services.sales.void(receipt.draft)
                receipt.status = "cancelled"
                self._changed(receipt)
        while len(self._receipts) > CALLS_KEPT:
            self._receipts.popitem(last=False)

    def _numbers_on_till(self, check_id: str) -> tuple[int, ...]:
        """Line numbers of a check this process no longer remembers (the till restarted): as
        the finish's audit line recorded them, else 1..N in the order the till stored them."""
        try:
            _row, lines = self.services.members.find_check(check_id)
        except TillError as error:
            raise Refusal(
                404, "unknown_receipt", _("The original receipt was not finished on this till.")
            ) from error
        with self.services.store.database() as db:
            entries = AuditLog(db, self.services.clock).for_record(check_id)
        for entry in reversed(entries):
            numbers = entry.detail.get("lines") if entry.action == "bridge_finished" else None
            if isinstance(numbers, list) and len(numbers) == len(lines):
                return tuple(int(n) for n in numbers)
        return tuple(range(1, len(lines) + 1))

    def _till(self) -> str:
        till = self.services.settings.till
        return f"{till.store_id}:{till.till_id}"

    def _check_id(self, receipt_id: str) -> str:
        return str(uuid.uuid5(NAMESPACE, f"check:{self._till()}:{receipt_id}"))

    def _note(self, receipt: Receipt, action: str, **detail: object) -> None:
        self.services.store.audit(
            action,
            cashier=self.services.session.cashier,
            online=self.services.session.online,
            source="bridge",
            record_id=receipt.check_id,
            detail={
                "receipt_id": receipt.receipt_id,
                "register": receipt.register_id,
                **({"register_cashier": receipt.cart.cashier} if receipt.cart else {}),
                **detail,
            },
        )
