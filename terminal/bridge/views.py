"""What the sale screen is told about the register's receipt, and how it answers back.

The bridge posts a :class:`BridgedCart` (inside ``terminal.messages.BridgeCartChanged``) each
time the register's receipt changes; the screen shows it read-only and calls the
:class:`BridgeControl` it carries, from a worker, when the cashier identifies the customer,
chooses a spend or hands the check back with Enter. Importing this module costs nothing: no
web framework, no network.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from terminal.views import MemberView, Preview, SaleDraft


class BridgeControl(Protocol):
    """What the cashier's screen may do to the register's receipt (each call blocks)."""

    def cashier_identified(self, receipt_id: str, member: MemberView) -> None:
        """The cashier identified the customer on the till: the receipt is theirs."""

    def cashier_spend(self, receipt_id: str, spend: Decimal) -> None:
        """The cashier chose how many points to spend (F2, F3, F4)."""

    def hand_back(self, receipt_id: str) -> None:
        """The cashier is done (Enter): the register may read the result and fiscalise."""


@dataclass(frozen=True)
class BridgedCart:
    """The register's receipt as the sale screen shows it."""

    receipt_id: str
    register_id: str
    status: str
    """open, finished or cancelled."""
    draft: SaleDraft | None
    """The register's lines (read-only on the till), the member and the spend."""
    preview: Preview | None
    """The calculation of ``draft`` (None before a customer is identified)."""
    cashier_done: bool
    """The cashier handed the check back to the register."""
    control: BridgeControl
    """Where the screen's choices go."""
