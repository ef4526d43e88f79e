"""The sale screen's second source of checks: the cash register, through the bridge.

A receipt the register puts shows on the sale screen as it is built: its lines read-only, the
register's total. The customer panel works as for a typed check (scan, phone, registration),
F2/F3/F4 choose the spend, and Enter hands the check back to the register, which reads the
result and fiscalises. Typing an amount, marking a discount or voiding with Esc are the
register's business while its receipt is on screen; each says so in one sentence.

The cashier's choices go to the bridge (:class:`~terminal.bridge.views.BridgeControl`) from
workers; the bridge recalculates and its next :class:`BridgedCart` re-renders the screen.
"""

from __future__ import annotations

from decimal import Decimal

from textual import work

from terminal.bridge.views import BridgedCart
from terminal.i18n import _
from terminal.screens.base import TillScreen
from terminal.views import MemberView, Preview, SaleDraft, SaleResult
from terminal.widgets.check_panel import CheckPanel
from terminal.widgets.customer_panel import CustomerPanel


class BridgedCheck(TillScreen):
    """The base of :class:`~terminal.screens.sale.SaleScreen`: its register half."""

    bridged: BridgedCart | None = None
    """The register's open receipt on screen (None: a typed check, as always)."""
    # The sale screen's state and steps this half works with (set and defined there).
    member: MemberView | None
    draft: SaleDraft | None
    preview: Preview | None
    result: SaleResult | None
    busy: bool

    def say(self, sentence: str, *, error: bool = False) -> None:
        raise NotImplementedError

    def _reset(self, *, keep_member: bool = False) -> None:
        raise NotImplementedError

    def _render_check(self) -> None:
        raise NotImplementedError

    def show_bridged(self, cart: BridgedCart) -> None:
        """The register's receipt changed: show it, or clear it once finished or cancelled."""
        panel = self.query_one(CheckPanel)
        if cart.status != "open":
            if self.bridged is not None and self.bridged.receipt_id == cart.receipt_id:
                self.bridged = None
                panel.border_subtitle = ""
                self._reset()
                self.say(
                    _("The register finished its check.")
                    if cart.status == "finished"
                    else _("The register cancelled its check.")
                )
            return
        waiting = self.result is None and self.draft is None
        if self.bridged is None and self.result is not None:
            self._reset()  # the last customer's sale is done; this is someone else's
        elif self.bridged is None and self.draft is not None and not self.busy:
            self._bridge_void_typed(self.draft)  # a typed check gives way to the register's
        self.bridged = cart
        self.result = None
        self.draft, self.preview = cart.draft, cart.preview
        member = cart.draft.member if cart.draft is not None else None
        if member is not None:
            self.member = member
        self.query_one(CustomerPanel).show(self.member)
        panel.border_subtitle = _("from register {register}").format(register=cart.register_id)
        self._render_check()
        if cart.cashier_done:
            self.say(_("Handed back to the register."))
        elif member is None and self.member is not None and waiting:
            # Identified on the till before the register's cart came: the receipt is theirs.
            self._bridge_identified(cart, self.member)

    def bridged_refusal(self) -> None:
        """Something only the register may do to its own receipt."""
        self.say(_("This check comes from the cash register; change it there."), error=True)

    def bridged_identified(self, member: MemberView) -> None:
        """The cashier identified the customer while the register's receipt is on screen."""
        assert self.bridged is not None
        self.member = member
        self.query_one(CustomerPanel).show(member)
        self.say(
            _("Customer found.") if member.online else _("Customer found in the offline cache.")
        )
        self._bridge_identified(self.bridged, member)

    def bridged_spend(self, spend: Decimal) -> None:
        """F2/F3/F4 while the register's receipt is on screen."""
        assert self.bridged is not None
        self._bridge_spend(self.bridged, spend)

    def bridged_confirm(self) -> None:
        """Enter: the cashier is done; the register takes over."""
        assert self.bridged is not None
        self._bridge_hand_back(self.bridged)

    @work(thread=True, exit_on_error=False, group="void")
    def _bridge_void_typed(self, draft: SaleDraft) -> None:
        self.till.services.sales.void(draft)

    @work(thread=True, exit_on_error=False, group="bridge")
    def _bridge_identified(self, cart: BridgedCart, member: MemberView) -> None:
        cart.control.cashier_identified(cart.receipt_id, member)

    @work(thread=True, exit_on_error=False, group="bridge")
    def _bridge_spend(self, cart: BridgedCart, spend: Decimal) -> None:
        cart.control.cashier_spend(cart.receipt_id, spend)

    @work(thread=True, exit_on_error=False, group="bridge")
    def _bridge_hand_back(self, cart: BridgedCart) -> None:
        cart.control.hand_back(cart.receipt_id)
