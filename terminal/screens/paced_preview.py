"""The sale screen's calculation of the check being built: by the server, or estimated.

Each change to a typed or scanned check (a line, a discount, a spend, a coupon, the customer)
is calculated again. Inside a scanning burst the till shows its own estimate
(:mod:`terminal.estimate`) and asks the server once the burst ends
(:mod:`terminal.preview_pace`); everything else, and every offline check, is calculated at
once. A check is committed only on the server's figures (or the offline ones): Enter, F2 and
F3 on an estimate ask the server first and act when it answers, and an amount to pay that
differs from the estimate on screen is shown, never committed unseen.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from textual import work
from textual.message import Message
from textual.timer import Timer

from terminal.i18n import _, money
from terminal.preview_pace import PreviewPace
from terminal.screens.bridged import BridgedCheck
from terminal.views import Preview, SaleDraft


class PacedPreview(BridgedCheck):
    """The base of :class:`~terminal.screens.sale.SaleScreen`: its check's calculation."""

    confirm_pending: bool
    preview_failed: bool

    class Previewed(Message):
        """The preview worker calculated the draft."""

        def __init__(self, preview: Preview, draft: SaleDraft) -> None:
            super().__init__()
            self.preview = preview
            self.draft = draft

    class Estimated(Message):
        """The estimate worker estimated the draft (the server is asked once scanning pauses)."""

        def __init__(self, estimate: Preview, draft: SaleDraft) -> None:
            super().__init__()
            self.estimate = estimate
            self.draft = draft

    def __init__(self) -> None:
        super().__init__()
        self.pace = PreviewPace()
        """Whether a change is calculated by the server at once or estimated inside a burst."""
        self._quiet: Timer | None = None
        """Asks the server once a burst of changes has stopped."""
        self._asked: SaleDraft | None = None
        """The draft the server was last asked to calculate."""
        self._after_exact: Callable[[], None] | None = None
        """F2 or F3 pressed on an estimate: run again once the server's figures land."""
        self._confirm_seen: Preview | None = None
        """The estimate on screen when Enter was pressed (the commit waits for the server)."""

    def confirm(self) -> None:
        raise NotImplementedError

    def _new_check(self) -> None:
        """The check was committed or cleared: the next one starts without a burst."""
        self._confirm_seen = None
        self._after_exact = None
        self._asked = None
        self._stop_quiet()
        self.pace.reset()

    def _recalculate(self, *, at_once: bool = False) -> None:
        """The draft changed: the server calculates it now, after a quiet spell or when
        ``at_once``; inside a scanning burst the till's estimate shows until the burst ends
        (:mod:`terminal.preview_pace`)."""
        self.preview = None
        self.preview_failed = False
        self._stop_quiet()
        self._render_check()
        draft = self.draft
        if draft is None or draft.member is None or not draft.lines:
            return
        after_quiet = self.pace.change()
        if at_once or after_quiet or not draft.member.online:
            self._ask_server(draft)
            return
        self._estimate(draft)
        self._quiet = self.set_timer(self.pace.quiet_s, self._exact_now)

    def _ask_server(self, draft: SaleDraft) -> None:
        self._asked = draft
        self.preview_failed = False
        self._preview(draft)

    def _server_failed(self) -> None:
        """The server refused the calculation (its sentence is on the message line): an
        estimate on screen goes with it, and Enter asks the server again."""
        self.preview_failed = True
        self._after_exact = None
        self._asked = None
        if self.preview is not None and self.preview.estimate:
            self.preview = None

    def _exact_now(self) -> None:
        """Ask the server for the draft on screen, unless it already was."""
        self._stop_quiet()
        if self.bridged is not None:
            return  # the register's receipt took the screen: the bridge calculates it
        draft = self.draft
        if draft is not None and draft.member is not None and draft.lines and draft != self._asked:
            self._ask_server(draft)

    def _stop_quiet(self) -> None:
        if self._quiet is not None:
            self._quiet.stop()
            self._quiet = None

    def _wait_exact(self, action: Callable[[], None]) -> bool:
        """True when the figures on screen are an estimate: ``action`` runs again once the
        server's land (asked for now)."""
        if self.preview is not None and not self.preview.estimate:
            return False
        if self.preview_failed or self.draft is None or self.draft.member is None:
            return False
        if not self.draft.lines:
            return False
        self._after_exact = action
        self._exact_now()
        return True

    @work(thread=True, exit_on_error=False, exclusive=True, group="preview")
    def _preview(self, draft: SaleDraft) -> None:
        self.post_fresh(self.Previewed(self.till.services.sales.preview(draft), draft))

    @work(thread=True, exit_on_error=False, exclusive=True, group="estimate")
    def _estimate(self, draft: SaleDraft) -> None:
        estimate = self.till.services.sales.estimate(draft)
        if estimate is not None:
            self.post_fresh(self.Estimated(estimate, draft))

    def on_paced_preview_estimated(self, message: Estimated) -> None:
        if message.draft != self.draft or self.preview is not None or self.bridged is not None:
            return  # an older draft, the server answered first, or the register's receipt
        self.preview = message.estimate
        self._render_check()

    def on_paced_preview_previewed(self, message: Previewed) -> None:
        draft, preview = self.draft, message.preview
        if draft is None or message.draft != draft or self.bridged is not None:
            return  # an older calculation (a newer one is on its way), or the register's receipt
        if preview.online and preview.spend < draft.spend:
            # The member's points fell since the spend was chosen (another till's hold): the
            # server spends less than asked, and would refuse a hold asking for more. Ask it
            # for what it allows, so Enter holds what the screen shows.
            self.draft = replace(
                draft, spend=preview.spend, spend_code_id=None, spend_code=None, override_by=None
            )
            if self.confirm_pending:
                self.confirm_pending = False
                self._confirm_seen = None
                self._amount_changed(preview)
            self._recalculate(at_once=True)
            return
        self.preview = preview
        self._render_check()
        if self._after_exact is not None:
            action, self._after_exact = self._after_exact, None
            action()
        if self.confirm_pending:
            self.confirm_pending = False
            seen, self._confirm_seen = self._confirm_seen, None
            if seen is not None and seen.to_pay != preview.to_pay:
                self._amount_changed(preview)  # never commit an amount the cashier did not see
                return
            self.confirm()

    def _amount_changed(self, preview: Preview) -> None:
        amount = money(preview.to_pay, self.till.settings.till.currency)
        self.say(
            _("The amount to pay changed to {amount}; press Enter to confirm.").format(
                amount=amount
            ),
            error=True,
        )
