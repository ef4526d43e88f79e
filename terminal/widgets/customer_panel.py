"""The customer panel: who the customer is and what their points can do, masked phone only."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual.content import Content
from textual.geometry import Region
from textual.widget import Widget

from terminal.i18n import N_, _, day, points
from terminal.views import MemberView

if TYPE_CHECKING:
    from textual.css.styles import RulesMap

_STATES = {"active": N_("active"), "earn_only": N_("earn only"), "blocked": N_("blocked")}


class CustomerPanel(Widget):
    """Renders a :class:`MemberView`; all text is literal (names come from customers).

    Its size comes from the stylesheet, so a new member repaints the panel alone, with no
    layout pass over the screen: this is the scan-to-panel path. Only the rows the old or the
    new text covers are repainted; the blank rows under them and the border stay as painted.
    """

    def __init__(self) -> None:
        super().__init__(id="customer")
        self.member: MemberView | None = None
        """The identified member, or None before identification."""
        self._title = _("Customer")
        self.border_title = self._title
        self._text = render_member(None)
        self._content: Content | None = None
        """``_text`` as Textual content, built for ``_ansi_theme``."""
        self._ansi_theme: object = None
        self._shown_rows: tuple[int, int] | None = None
        """(width, rows) the shown text covers, kept so a new member wraps only its own text."""

    def render(self) -> Content:
        theme = self.app.ansi_theme
        if self._content is None or theme is not self._ansi_theme:
            self._content = Content.from_rich_text(self._text, console=self.app.console)
            self._ansi_theme = theme
        return self._content

    def show(self, member: MemberView | None) -> None:
        """Display ``member`` (None: the prompt to identify)."""
        self.member = member
        width = self.content_size.width
        old_rows = self._rows(width)
        self._text = render_member(member)
        self._content = None
        self._shown_rows = None
        title = _("Customer")
        if title != self._title:
            self._title = title
            self.border_title = title  # refreshes the whole panel, border and all
        elif old_rows:
            self.refresh(Region(0, 0, width, max(old_rows, self._rows(width))))
        else:
            self.refresh()

    def _rows(self, width: int) -> int:
        """Rows the text covers at ``width`` (0 before the panel has a size)."""
        if width <= 0:
            return 0
        if self._shown_rows is None or self._shown_rows[0] != width:
            rules = cast("RulesMap", self.styles)  # what Textual itself passes to get_height
            self._shown_rows = (width, self.render().get_height(rules, width))
        return self._shown_rows[1]


def render_member(member: MemberView | None) -> Text:
    """The panel's text for ``member``."""
    text = Text()
    if member is None:
        text.append(_("Scan the customer's QR or card, or type the phone and press Enter."))
        return text
    text.append(member.name or _("(no name)"), style="bold")
    text.append(f"\n{member.phone_masked}")
    text.append("  " + (_("scanned") if member.entry == "scanned" else _("typed")), style="dim")
    if member.state != "active":
        text.append(f"\n{_(_STATES.get(member.state, member.state)).upper()}", style="bold red")
    text.append("\n" + _("Available") + ": ", style="")
    text.append(points(member.available), style="bold")
    if member.tier_name:
        text.append("\n" + _("Tier") + f": {member.tier_name} {points(member.tier_rate)}%")
        if member.next_tier and member.to_next is not None:
            text.append("\n  " + _("to") + f" {member.next_tier}: {points(member.to_next)}")
    if member.birthday:
        # The check earns the birthday rate, not the tier's: say so where the rate is read.
        rate = f" {points(member.birthday_rate)}%" if member.birthday_rate else ""
        text.append("\n" + _("Birthday: this check earns") + rate, style="bold magenta")
    if member.frozen_total:
        until = " " + _("until") + f" {day(member.frozen_until)}" if member.frozen_until else ""
        text.append("\n" + _("Frozen") + f": {points(member.frozen_total)}{until}")
    if member.expiring_total:
        when = f" {day(member.expiring_on)}" if member.expiring_on else ""
        text.append(
            "\n" + _("Expiring") + f": {points(member.expiring_total)}{when}", style="yellow"
        )
    if not member.online:
        age = " (" + _("cached") + f" {day(member.cached_at)})" if member.cached_at else ""
        text.append("\n" + _("Offline balance") + f"{age}", style="bold yellow")
    for offer in member.offers[:3]:
        text.append(f"\n• {offer}", style="cyan")
    for coupon in member.coupons[:2]:
        text.append(f"\n◦ {coupon}", style="cyan")
    return text
