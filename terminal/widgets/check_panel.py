"""The check panel: lines, total, earn preview, spend limit and what the customer pays."""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

from terminal.i18n import _, money, points
from terminal.views import Preview, SaleDraft, SaleResult


class CheckPanel(Widget):
    """Renders the draft, its preview and, after confirmation, the result (sized by CSS)."""

    def __init__(self, currency: str) -> None:
        super().__init__(id="check")
        self.currency = currency
        """ISO currency of the checks."""
        self._title = _("Check")
        self.border_title = self._title
        self._text = Text()

    def render(self) -> Text:
        return self._text

    def show(
        self,
        draft: SaleDraft | None,
        preview: Preview | None,
        result: SaleResult | None,
        *,
        failed: bool = False,
    ) -> None:
        """Re-render from the sale screen's state (``failed``: the calculation was refused)."""
        if (title := _("Check")) != self._title:  # the language changed
            self._title = title
            self.border_title = title
        self._text = render_check(self.currency, draft, preview, result, failed=failed)
        self.refresh()


def render_check(
    currency: str,
    draft: SaleDraft | None,
    preview: Preview | None,
    result: SaleResult | None,
    *,
    failed: bool = False,
) -> Text:
    """The panel's text."""
    text = Text()
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
    if preview is None:
        if failed:
            text.append("\n" + _("No points on this check; Esc clears it."), style="yellow")
        else:
            text.append("\n" + _("Calculating…"), style="dim")
        return text
    text.append("\n" + _("Earn") + f": +{points(preview.earn)}", style="green")
    if not preview.online:
        text.append(" " + _("(provisional)"), style="yellow")
    text.append("\n" + _("Can spend") + f": {points(preview.max_spend)}")
    if preview.spend:
        text.append("\n" + _("Spend") + f": −{points(preview.spend)}", style="bold")
    text.append("\n" + _("To pay") + f": {money(preview.to_pay, currency)}", style="bold")
    if preview.code_required:
        text.append("\n" + _("SMS code needed for this spend."), style="yellow")
    text.append("\n" + _("Enter: confirm and print"), style="dim")
    return text
