"""The check panel: lines, total, earn preview, spend limit and what the customer pays; and the
one sentence a committed sale leaves under the panels."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from loyalty.claims import format_claim
from terminal.i18n import _, money, points
from terminal.views import Preview, SaleDraft, SaleResult


@dataclass(frozen=True)
class CheckState:
    """What the check panel shows: the sale screen's draft, preview and result."""

    draft: SaleDraft | None = None
    preview: Preview | None = None
    result: SaleResult | None = None
    failed: bool = False
    """The calculation was refused."""


class CheckPanel(Widget):
    """Renders the draft, its preview and, after confirmation, the result (sized by CSS).

    ``state`` and ``claims`` are reactive: setting either repaints the panel (no layout pass),
    and setting an equal value repaints nothing.
    """

    state: reactive[CheckState] = reactive(CheckState, layout=False)
    claims: reactive[bool] = reactive(True, layout=False)
    """A check without a customer may be confirmed (under a claim code)."""

    def __init__(self, currency: str, *, claims: bool = True) -> None:
        super().__init__(id="check")
        self.currency = currency
        """ISO currency of the checks."""
        self.set_reactive(CheckPanel.claims, claims)
        self._title = _("Check")
        self.border_title = self._title

    def render(self) -> Text:
        state = self.state
        return render_check(
            self.currency,
            state.draft,
            state.preview,
            state.result,
            failed=state.failed,
            claims=self.claims,
        )

    def show(
        self,
        draft: SaleDraft | None,
        preview: Preview | None,
        result: SaleResult | None,
        *,
        failed: bool = False,
    ) -> None:
        """Show the sale screen's state (``failed``: the calculation was refused)."""
        if (title := _("Check")) != self._title:  # the language changed
            self._title = title
            self.border_title = title
        self.state = CheckState(draft, preview, result, failed)


def render_check(
    currency: str,
    draft: SaleDraft | None,
    preview: Preview | None,
    result: SaleResult | None,
    *,
    failed: bool = False,
    claims: bool = True,
) -> Text:
    """The panel's text (``claims``: a check without a customer may be confirmed)."""
    text = Text()
    if result is not None and (result.claim is not None or result.claim_refused):
        # A check without a customer: no balance to show, the claim code instead.
        claim = result.claim
        text.append(_("Done") + "\n", style="bold green")
        text.append(_("Check") + f" {result.check_id[:8].upper()}\n")
        if claim is not None:
            text.append(_("Claim code") + f": {format_claim(claim.code)}\n", style="bold")
        if claim is not None and claim.earn_at_least is not None:
            text.append(_("Earn at least") + f": {points(claim.earn_at_least)}")
            if claim.provisional:
                text.append(" " + _("(provisional, offline)"), style="yellow")
        text.append("\n\n" + _("Next customer: scan or type the phone."), style="dim")
        return text
    if result is not None:
        text.append(_("Done") + "\n", style="bold green")
        text.append(_("Check") + f" {result.check_id[:8].upper()}\n")
        text.append("" + _("Earned") + f": {points(result.earned)}")
        if result.offline:
            text.append(" " + _("(provisional, offline)"), style="yellow")
        text.append("\n" + _("Spent") + f": {points(result.spent)}")
        text.append("\n" + _("New balance") + f": {points(result.balance_after)}")
        if not result.confirmed and not result.offline:
            text.append("\n" + _("Confirmation queued for sync."), style="yellow")
        text.append("\n\n" + _("Next customer: scan or type the phone."), style="dim")
        return text
    if draft is None or not draft.lines:
        if draft is not None and draft.coupons:
            text.append(_("Coupons") + ": " + ", ".join(draft.coupons) + "\n", style="cyan")
        text.append(_("Type the amount and press Enter, or scan products."), style="dim")
        return text
    for number, line in enumerate(draft.lines[-6:], start=max(1, len(draft.lines) - 5)):
        mark = " %" if line.discounted else ""
        qty = "" if line.quantity == 1 else f" ×{points(line.quantity)}"
        name = line.name or _("Goods")
        text.append(f"{number}. {name}{qty}{mark}  {money(line.amount, currency)}\n")
    if draft.coupons:
        text.append(_("Coupons") + ": " + ", ".join(draft.coupons) + "\n", style="cyan")
    text.append(_("Total") + f": {money(draft.total, currency)}", style="bold")
    if preview is None and draft.member is None:
        hint = (
            _("No customer: Enter prints a claim code for the points.")
            if claims
            else _("Identify the customer first: scan or type the phone.")
        )
        text.append("\n" + hint, style="dim")
        return text
    if preview is None:
        if failed:
            text.append("\n" + _("No points on this check; Esc clears it."), style="yellow")
        else:
            text.append("\n" + _("Calculating…"), style="dim")
        return text
    text.append("\n" + _("Earn") + f": +{points(preview.earn)}", style="green")
    if not preview.online:
        text.append(" " + _("(provisional)"), style="yellow")
    elif preview.estimate:
        text.append(" " + _("(estimate)"), style="dim")
    text.append("\n" + _("Can spend") + f": {points(preview.max_spend)}")
    if preview.spend:
        text.append("\n" + _("Spend") + f": −{points(preview.spend)}", style="bold")
    text.append("\n" + _("To pay") + f": {money(preview.to_pay, currency)}", style="bold")
    if preview.code_required:
        text.append("\n" + _("SMS code needed for this spend."), style="yellow")
    text.append("\n" + _("Enter: confirm and print"), style="dim")
    return text


def result_sentence(result: SaleResult) -> str:
    """The one sentence under the panels after a committed sale."""
    claim = result.claim
    if result.claim_refused:
        return _("The server refused this check's claim code; the receipt was printed without one.")
    if claim is None:
        return _("Sale complete; the receipt is printing.")
    if claim.earn_at_least is None:
        return _("Check without a customer: claim code printed.")
    at_least = points(claim.earn_at_least)
    if claim.provisional:
        return _(
            "Check without a customer: claim code printed — at least {points} points"
            " (provisional, offline)."
        ).format(points=at_least)
    return _("Check without a customer: claim code printed — at least {points} points.").format(
        points=at_least
    )
