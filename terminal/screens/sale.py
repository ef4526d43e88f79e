"""The sale screen: identify, enter the check, earn and spend, confirm and print — one screen.

Keys: type or scan into the one line and press Enter. A phone, QR or card identifies the
customer; an amount adds a line; a product barcode adds that product; Enter on an empty line
confirms (hold → receipt → confirm). F2 spends the most allowed, F3 a chosen amount, F4 none.
Esc clears the line, then voids the check.

With nobody identified, Enter commits the check under a claim code printed on its receipt
(``[till] claims``); scanning such a code with a customer identified collects its points.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from decimal import Decimal
from typing import ClassVar

from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Footer

from offline_cache.errors import ManagerPinRequired
from terminal.errors import TillError
from terminal.i18n import N_, _, parse_amount, points
from terminal.messages import PendingFound
from terminal.screens.manager import ask_manager
from terminal.screens.paced_preview import PacedPreview
from terminal.screens.prompt import Prompt
from terminal.views import (
    QUICK_AMOUNT,
    MemberView,
    Preview,
    RedeemedClaim,
    SaleDraft,
    SaleLine,
    SaleResult,
)
from terminal.widgets.check_panel import CheckPanel, result_sentence
from terminal.widgets.customer_panel import CustomerPanel
from terminal.widgets.entry import EntryInput
from terminal.widgets.message_bar import MessageBar
from terminal.widgets.receipt_pane import ReceiptPane
from terminal.widgets.status_line import StatusLine

MIN_PANELS_WIDTH = 64
"""Columns the customer and check panels need before the receipt pane may take the rest."""


class SaleScreen(PacedPreview):
    """The cashier's main screen."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f2", "spend_max", N_("Max")),
        Binding("f3", "spend_amount", N_("Spend…")),
        Binding("f4", "spend_none", N_("No spend")),
        Binding("f5", "open('register')", N_("Register")),
        Binding("f6", "open('returns')", N_("Return")),
        Binding("f7", "open('history')", N_("History")),
        Binding("f8", "open('sync')", N_("Sync")),
        Binding("f9", "open('shift')", N_("Shift")),
        Binding("f10", "toggle_receipt", N_("Receipt"), show=False),
        Binding("f12", "open('admin')", N_("Admin"), show=False),
        Binding("ctrl+d", "discount", N_("Discount"), show=False),
        Binding("escape", "back", N_("Back"), show=False),
    ]

    class Identified(Message):
        """The identify worker found the member."""

        def __init__(self, member: MemberView) -> None:
            super().__init__()
            self.member = member

    class Committed(Message):
        """The commit worker finished the sale."""

        def __init__(self, result: SaleResult, member: MemberView | None) -> None:
            super().__init__()
            self.result = result
            """What the sale earned, spent and printed."""
            self.member = member
            """The customer as the sale left them (balance, tier progress); None: no customer."""

    class CouponEntered(Message):
        """A coupon code was typed or scanned."""

        def __init__(self, code: str) -> None:
            super().__init__()
            self.code = code

    class ManagerNeeded(Message):
        """An offline spend above the threshold waits for the manager's PIN."""

    class LineFound(Message):
        """A scanned product was found in the catalog, or a burst was an amount."""

        def __init__(self, line: SaleLine) -> None:
            super().__init__()
            self.line = line

    class ClaimCollected(Message):
        """The points of a receipt's claim code went to the identified customer."""

        def __init__(self, redeemed: RedeemedClaim) -> None:
            super().__init__()
            self.redeemed = redeemed

    class CodeSent(Message):
        """An SMS code went to the customer; ask for it."""

        def __init__(self, code_id: str) -> None:
            super().__init__()
            self.code_id = code_id

    def __init__(self) -> None:
        super().__init__()
        self.member: MemberView | None = None
        """The identified customer."""
        self.draft: SaleDraft | None = None
        """The check being built."""
        self.preview: Preview | None = None
        """The calculation of ``draft`` as it is now: the server's, the offline one, or the
        till's estimate inside a scanning burst (None while recalculating)."""
        self.result: SaleResult | None = None
        """The last committed sale, shown until the next customer."""
        self.busy = False
        """A commit is running; Enter is ignored until it ends."""
        self.confirm_pending = False
        """Enter was pressed while the preview was recalculating: confirm when it lands."""
        self.preview_failed = False
        """The last calculation failed (its sentence is on the message line)."""

    def compose(self) -> ComposeResult:
        settings = self.till.settings
        yield StatusLine(settings.till.store_id, settings.till.till_id, self.till.cashier)
        with Horizontal(id="sale-body"):
            yield CustomerPanel()
            yield CheckPanel(settings.till.currency)
            pane = ReceiptPane()
            pane.display = False
            # The paper's width plus the border and padding, so lines wrap as on paper.
            pane.styles.width = settings.printer.columns + 4
            yield pane
        yield EntryInput(
            max_gap_ms=settings.scanner.keyboard_max_gap_ms,
            placeholder=_("Scan, or type a phone or an amount, then Enter"),
            id="entry",
        )
        yield MessageBar(id="message")
        yield Footer(compact=True)

    def on_resize(self, event: events.Resize) -> None:
        """The receipt pane shows by itself only where the panels keep room to read."""
        wide = event.size.width >= self.till.settings.printer.columns + 4 + MIN_PANELS_WIDTH
        self.query_one(ReceiptPane).display = self.till.options.show_receipts and wide

    def on_mount(self) -> None:
        self.query_one(CustomerPanel).show(None)
        self._render_check()
        self.query_one(EntryInput).focus()

    # ------------------------------------------------------------------ input

    def on_entry_input_entered(self, event: EntryInput.Entered) -> None:
        event.stop()
        text = event.value.strip()
        if not text:
            self.confirm()
        elif event.scanned:
            self.handle_scan(text, "keyboard")
        elif (amount := parse_amount(text)) is not None:
            self.add_line(SaleLine(QUICK_AMOUNT, amount, Decimal(1), amount))
        else:
            self.say(_("Looking up…"))
            self._interpret(text, False, self.member)

    def handle_scan(self, code: str, source: str) -> None:
        """A scan at any moment: a product adds a line, a coupon applies, a claim code is
        collected for the customer, the rest identifies."""
        self._interpret(code, True, self.member)

    def say(self, sentence: str, *, error: bool = False) -> None:
        """Show one sentence under the panels."""
        self.query_one(MessageBar).show(sentence, error=error)

    # ------------------------------------------------------------------ identify

    @work(thread=True, exit_on_error=False, exclusive=True, group="identify")
    def _interpret(self, text: str, scanned: bool, member: MemberView | None) -> None:
        # Classified here, off the UI thread: phone-number parsing is not free. ``member`` is
        # who was identified when the code came in (read on the UI thread).
        from loyalty.identifiers import IdKind, classify

        found = classify(text, self.till.settings.till.region)
        services = self.till.services
        if found.kind is IdKind.PRODUCT_BARCODE:
            self.post_message(self.LineFound(services.office.product_line(found.value)))
        elif found.kind is IdKind.COUPON:
            self.post_message(self.CouponEntered(found.value))
        elif found.kind is IdKind.CLAIM:
            redeemed = services.claims.redeem_claim(found.value, member, scanned=scanned)
            self.post_message(self.ClaimCollected(redeemed))
        elif found.kind is IdKind.UNKNOWN and (amount := parse_amount(text)) is not None:
            # A quick typist's amount arrives as fast as a wedge burst; it is no code of any
            # kind, so it is what the line says it takes: the amount.
            self.post_message(self.LineFound(SaleLine(QUICK_AMOUNT, amount, Decimal(1), amount)))
        else:
            try:
                member = services.sales.identify(text, scanned=scanned)
            except TillError:
                # Not a member yet: maybe registered offline and waiting for the SMS code.
                pending = (
                    services.members.pending_for_phone(text) if found.kind is IdKind.PHONE else None
                )
                if pending is None:
                    raise
                self.post_message(PendingFound(pending))
                return
            self.post_fresh(self.Identified(member))
            services.sales.note_identified(member)  # after the panel is told, to keep it fast

    def on_sale_screen_identified(self, message: Identified) -> None:
        self.show_customer(message.member)

    def on_pending_found(self, message: PendingFound) -> None:
        from terminal.screens.registration import offer_pending_code

        offer_pending_code(self, message.pending)

    def show_customer(self, member: MemberView, sentence: str | None = None) -> None:
        """Make ``member`` the customer of this check (the app calls this for other screens)."""
        if self.bridged is not None:  # the register's receipt: the bridge recalculates
            self.bridged_identified(member)
            return
        if self.result is not None:
            self._reset()
        self.member = member
        self.query_one(CustomerPanel).show(member)
        if self.draft is not None:
            self.draft = replace(self.draft, member=member, spend=Decimal(0))
            self._recalculate(at_once=True)
        if sentence is None:
            sentence = (
                _("Customer found.") if member.online else _("Customer found in the offline cache.")
            )
        self.say(sentence)

    def on_sale_screen_claim_collected(self, message: ClaimCollected) -> None:
        """The receipt's points were credited (or had been, to this member): one sentence, and
        the panel shows the balance the server answered."""
        redeemed = message.redeemed
        if self.member is not None and self.member.member_id == redeemed.member.member_id:
            self.member = redeemed.member
            self.query_one(CustomerPanel).show(redeemed.member)
            if self.draft is not None and self.draft.member is not None:
                self.draft = replace(self.draft, member=redeemed.member)
                self._recalculate(at_once=True)
        if redeemed.already_collected:
            self.say(_("The points of this receipt were already collected."), error=True)
            return
        self.say(
            _("{points} points from check {number} added.").format(
                points=points(redeemed.earned), number=redeemed.check_id[:8].upper()
            )
        )

    # ------------------------------------------------------------------ lines and preview

    def add_line(self, line: SaleLine) -> None:
        """Add ``line`` to the check and recalculate."""
        if self.bridged is not None:
            self.bridged_refusal()
            return
        if self.result is not None:
            self._reset(keep_member=False)
        if self.draft is None:
            self.draft = SaleDraft(str(uuid.uuid4()), self.member, ())
        self.draft = replace(self.draft, lines=(*self.draft.lines, line), member=self.member)
        self._recalculate()

    def on_sale_screen_coupon_entered(self, message: CouponEntered) -> None:
        """Apply a coupon to the check (the server says whether it is valid)."""
        if self.bridged is not None:
            self.bridged_refusal()
            return
        if self.result is not None:
            self._reset(keep_member=True)
        if self.draft is None:
            self.draft = SaleDraft(str(uuid.uuid4()), self.member, ())
        if message.code not in self.draft.coupons:
            self.draft = replace(self.draft, coupons=(*self.draft.coupons, message.code))
        self.say(_("Coupon {code} added.").format(code=message.code))
        self._recalculate(at_once=True)  # only the server knows the coupon

    def on_sale_screen_line_found(self, message: LineFound) -> None:
        self.add_line(message.line)

    def _render_check(self) -> None:
        panel = self.query_one(CheckPanel)
        panel.claims = self.till.settings.till.claims  # the admin may have changed it
        panel.show(self.draft, self.preview, self.result, failed=self.preview_failed)

    # ------------------------------------------------------------------ spend

    def _set_spend(self, spend: Decimal) -> None:
        if self.draft is None or self.preview is None:
            self.say(_("Enter the amount first."), error=True)
            return
        spend = max(Decimal(0), min(spend, self.preview.max_spend))
        if self.bridged is not None:
            self.bridged_spend(spend)
            return
        self.draft = replace(
            self.draft, spend=spend, spend_code_id=None, spend_code=None, override_by=None
        )
        self._recalculate(at_once=True)

    def action_spend_max(self) -> None:
        """F2: spend as many points as the rules allow (the server's limit, not the estimate)."""
        if self._wait_exact(self.action_spend_max):
            return
        if self.preview is not None:
            self._set_spend(self.preview.max_spend)

    def action_spend_none(self) -> None:
        """F4: spend nothing."""
        self._set_spend(Decimal(0))

    def action_spend_amount(self) -> None:
        """F3: ask how many points to spend."""
        if self._wait_exact(self.action_spend_amount):
            return
        if self.preview is None:
            self.say(_("Enter the amount first."), error=True)
            return

        def chosen(answer: str | None) -> None:
            amount = parse_amount(answer or "")
            if amount is not None:
                self._set_spend(amount)

        self.app.push_screen(
            Prompt(_("Points to spend (at most {limit}):").format(limit=self.preview.max_spend)),
            chosen,
        )

    def action_discount(self) -> None:
        """Mark or unmark the last line as discounted (no earn on it)."""
        if self.bridged is not None:
            self.bridged_refusal()
            return
        if self.draft is None or not self.draft.lines:
            return
        *rest, last = self.draft.lines
        self.draft = replace(
            self.draft, lines=(*rest, replace(last, discounted=not last.discounted))
        )
        self._recalculate()

    # ------------------------------------------------------------------ confirm and void

    def confirm(self) -> None:
        """Enter on an empty line: commit the previewed check."""
        if self.bridged is not None:
            self.bridged_confirm()
            return
        if self.busy or self.draft is None or not self.draft.lines:
            return
        if self.draft.member is None:
            if not self.till.settings.till.claims:
                self.say(_("Identify the customer first: scan or type the phone."), error=True)
                return
            # No customer: the check is committed under a claim code printed on the receipt.
            self.busy = True
            self.say(_("Printing…"))
            self._commit(self.draft, None)
            return
        if self.preview is None or self.preview.estimate:
            # Commit on the server's figures only: ask for them now and confirm when they land.
            self.confirm_pending = True
            self._confirm_seen = self.preview
            self._exact_now()
            return
        if self.preview.code_required and self.draft.spend_code is None:
            self.busy = True
            self.say(_("Sending the SMS code to the customer…"))
            self._send_code(self.draft)
            return
        self.busy = True
        self.say(_("Printing…"))
        self._commit(self.draft, self.preview)

    @work(thread=True, exit_on_error=False, group="commit")
    def _send_code(self, draft: SaleDraft) -> None:
        self.post_message(self.CodeSent(self.till.services.sales.request_spend_code(draft)))

    def on_sale_screen_code_sent(self, message: CodeSent) -> None:
        self.busy = False

        def entered(code: str | None) -> None:
            if not code or self.draft is None:
                self.say(_("No code entered; the spend was not made."), error=True)
                return
            self.draft = replace(self.draft, spend_code_id=message.code_id, spend_code=code)
            self.confirm()

        self.app.push_screen(Prompt(_("SMS code from the customer:"), restrict=r"\d{0,8}"), entered)

    @work(thread=True, exit_on_error=False, group="commit")
    def _commit(self, draft: SaleDraft, preview: Preview | None) -> None:
        services = self.till.services
        try:
            result = services.sales.commit_sale(draft, preview)
        except ManagerPinRequired:
            self.post_message(self.ManagerNeeded())
            return
        after = None
        if draft.member is not None:
            paid = preview.to_pay if preview is not None else draft.total
            after = services.members.member_after_sale(
                draft.member, paid, result.balance_after, result.spent
            )
        self.post_message(self.Committed(result, after))

    def on_sale_screen_manager_needed(self, message: ManagerNeeded) -> None:
        """An offline spend above the threshold: the manager's PIN approves it."""
        self.busy = False
        self.say(_("Offline, this spend needs the manager's PIN."), error=True)

        def approved(manager: str) -> None:
            if self.draft is not None:
                self.draft = replace(self.draft, override_by=manager)
                self.confirm()

        ask_manager(self.app, approved)

    def on_sale_screen_committed(self, message: Committed) -> None:
        self.busy = False
        self.result = message.result
        if message.member is not None:
            # The panel must not keep showing the figures from before this sale.
            self.member = message.member
            self.query_one(CustomerPanel).show(self.member)
        self.draft = None
        self.preview = None
        self._new_check()
        self._render_check()
        self.query_one(ReceiptPane).show(message.result.receipt_text)
        self.say(result_sentence(message.result))
        self.till.print_receipts()
        self.till.services.sync.kick()

    def worker_failed(self, group: str) -> None:
        """After a failed commit or code request the cashier may press Enter again."""
        if group == "commit":
            self.busy = False
            if self.draft is not None:
                self._recalculate(at_once=True)
        if group == "estimate":
            return  # no estimate: the server's figures still come when the burst ends
        if group == "preview":
            self._server_failed()
            self._render_check()
        self.confirm_pending = False
        self._confirm_seen = None

    def action_back(self) -> None:
        """Esc: clear the line; on an empty line, void the check."""
        entry = self.query_one(EntryInput)
        if entry.value:
            entry.clear_entry()
            return
        if self.bridged is not None:
            self.bridged_refusal()
            return
        if self.draft is not None and not self.busy:
            self._void(self.draft)
            self._reset()
            self.say(_("Check voided."))

    @work(thread=True, exit_on_error=False, group="void")
    def _void(self, draft: SaleDraft) -> None:
        self.till.services.sales.void(draft)

    def _reset(self, *, keep_member: bool = False) -> None:
        self.draft = None
        self.preview = None
        self.result = None
        self.confirm_pending = False
        self._new_check()
        if not keep_member:
            self.member = None
            self.query_one(CustomerPanel).show(None)
        self._render_check()

    # ------------------------------------------------------------------ navigation

    def action_toggle_receipt(self) -> None:
        """F10: show or hide the receipt preview."""
        pane = self.query_one(ReceiptPane)
        pane.display = not pane.display

    def action_open(self, name: str) -> None:
        """Open another flow's screen; Esc there comes back here."""
        from terminal.screens.navigation import make_screen

        self.app.push_screen(make_screen(name))
