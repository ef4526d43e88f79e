"""The till's Textual app and its one factory, used by ``till run``, ``till demo`` and the tests.

Kiosk rules: no quit key, no command palette, no developer keys for cashiers (a manager quits
from the admin screen after the PIN); every action is an F-key shown in the footer; Esc backs
out; Enter confirms. Blocking work runs in thread workers with ``exit_on_error=False``; their
failures all reach :meth:`TillAppBase.report_failure`, which shows one sentence.

This module is the top of the terminal: it knows the screens (which one comes first, where a
scan goes). Everything the screens themselves use of the app is in :mod:`terminal.app_base`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from terminal.app_base import CACHE_REFRESH_S, STATUS_INTERVAL_S, AppOptions, TillAppBase
from terminal.config import Settings
from terminal.messages import BridgeCartChanged, CustomerChosen, ScanReceived, ServicesReady
from terminal.screens.base import TillModal, TillScreen
from terminal.screens.login import LoginScreen

if TYPE_CHECKING:
    from terminal.services import TillServices

__all__ = ["AppOptions", "TillApp", "make_app"]


class TillApp(TillAppBase):
    """The cashier's terminal: the login screen first, then the sale screen."""

    def on_mount(self) -> None:
        # The UI thread and the I/O workers share one interpreter lock. With CPython's default
        # 5 ms switch interval, a worker whose server answer has arrived can wait that long for
        # the lock while the UI paints; 1 ms hands it over sooner. The till is I/O bound, so
        # the extra switches cost nothing a cashier could notice.
        sys.setswitchinterval(0.001)
        # The first frame comes before the adapters: the network client, the database and the
        # devices are built in a worker, so the till is on screen as soon as Textual is. The
        # worker starts once that frame is painted: its imports would hold the GIL against it.
        if self.options.start_cashier is None:
            self.push_screen(LoginScreen())
        self.call_after_refresh(self._connect)

    def on_services_ready(self, message: ServicesReady) -> None:
        # Deferred here and below: the sale screen is not needed for the first frame.
        from terminal.screens.sale import SaleScreen

        if self.options.start_cashier is not None:
            self.push_screen(SaleScreen())
        self.set_interval(STATUS_INTERVAL_S, self.refresh_status)
        self.set_interval(CACHE_REFRESH_S, self.refresh_caches)
        self.refresh_status()
        self.refresh_caches()

    def on_customer_chosen(self, message: CustomerChosen) -> None:
        """A screen chose the customer (registration, the sync screen's pending code): the
        screens above the sale close, and the sale screen takes the customer."""
        from terminal.screens.sale import SaleScreen

        sales = [screen for screen in self.screen_stack if isinstance(screen, SaleScreen)]
        if not sales:
            return
        while self.screen_stack[-1] is not sales[-1]:
            self.pop_screen()  # takes the screen off the stack at once
        sales[-1].show_customer(message.member, message.sentence)

    def on_scan_received(self, message: ScanReceived) -> None:
        """Scans go to whichever screen is active (identify, return lookup, test scan)."""
        screen = self.active_screen()
        if isinstance(screen, TillScreen | TillModal):
            screen.handle_scan(message.code, message.source)

    def on_bridge_cart_changed(self, message: BridgeCartChanged) -> None:
        """The cash register's receipt goes to the sale screen, under whatever is on top."""
        from terminal.screens.sale import SaleScreen

        for screen in self.screen_stack:
            if isinstance(screen, SaleScreen):
                screen.show_bridged(message.cart)


def make_app(
    settings: Settings,
    services_factory: Callable[[], TillServices],
    options: AppOptions | None = None,
) -> TillApp:
    """The till app, built the same way for ``till run``, ``till demo`` and the tests.

    ``services_factory`` runs in a worker after the first frame (it imports and opens the
    network client, the database and the devices).
    """
    return TillApp(settings, services_factory, options or AppOptions())
