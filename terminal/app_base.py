"""The till app without its screens: settings, services, connection and status, failures.

Screens reach the app through this class (Textual's typed getter, ``getters.app``), so they
never import :mod:`terminal.app`, which imports them: the layers stay a one-way street (see the
import-linter contract in ``pyproject.toml``). Kiosk rules and the failure handling are
described in :mod:`terminal.app`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual import work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.worker import Worker, WorkerState, get_current_worker

from processing.errors import ProcessingError
from terminal import i18n
from terminal.cashiers import Cashiers, cashiers_path
from terminal.config import Settings
from terminal.errors import TillError
from terminal.i18n import _
from terminal.messages import (
    ConnectionChanged,
    ServicesReady,
    SettingsApplied,
    StatusRefreshed,
)
from terminal.printing import PrinterChanged
from terminal.scanner_glue import ScannerChanged
from terminal.sentences import sentence
from terminal.textual_workarounds import FOCUS_KEYS
from terminal.widgets.message_bar import MessageBar
from terminal.widgets.status_line import StatusLine

if TYPE_CHECKING:
    from terminal.services import TillServices

log = logging.getLogger(__name__)

STATUS_INTERVAL_S = 2.0
"""How often the status line re-reads the queue (a worker, never the UI thread)."""
CACHE_REFRESH_S = 300.0
"""How often the member, program and catalog caches are refreshed from the server."""
STARTUP_WAIT_S = 30.0
"""Most a worker waits for the services to be built before it gives up with a sentence."""


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class AppOptions:
    """What differs between ``till run``, ``till demo`` and a test."""

    config_path: Path | None = None
    """Where the admin screen saves changes (None: changes cannot be saved)."""
    show_receipts: bool = False
    """Show the receipt preview pane beside the check (the demo's file printer)."""
    start_cashier: str | None = None
    """Skip the login screen as this cashier (tests only)."""
    clock: Callable[[], datetime] = _utc_now
    """The till's clock (injected for snapshots); the services use the same one."""
    wake_printer: Callable[[], None] = lambda: None
    """Tell the print worker a receipt was queued (set by whoever started the worker)."""
    on_exit: list[Callable[[], None]] = field(default_factory=list)
    """Called once when the app stops, after ``stop_services`` (the demo server, …)."""
    stop_devices: list[Callable[[], None]] = field(default_factory=list)
    """Stop the current scanner reader and print worker (replaced on a reload)."""
    stop_services: list[Callable[[], None]] = field(default_factory=list)
    """Stop the current background sync, network client and database (replaced on a reload)."""


class TillAppBase(App[None], inherit_bindings=False):
    """The cashier's terminal, less the screens it shows (:class:`terminal.app.TillApp`)."""

    CSS_PATH = "app.tcss"
    ENABLE_COMMAND_PALETTE = False
    TITLE = "till"
    BINDINGS: ClassVar[list[BindingType]] = [
        # Swallow ctrl+c so a reflex press neither quits nor prints Textual's English hint.
        Binding("ctrl+c", "nothing", show=False, priority=True, system=True),
        *FOCUS_KEYS,
    ]

    def __init__(
        self,
        settings: Settings,
        services_factory: Callable[[], TillServices],
        options: AppOptions,
    ) -> None:
        super().__init__()
        self.settings = settings
        """The configuration the till runs with (replaced after an admin save)."""
        self.options = options
        """How this instance was started."""
        self.last_status: StatusRefreshed | None = None
        """The newest queue/connection snapshot, for screens mounted later."""
        self.scanner_state = "none" if settings.scanner.kind == "none" else "ok"
        """One word for the status line: ok, none, or lost."""
        self.cashiers = Cashiers(cashiers_path(settings.offline.db_path))
        """Who may log in (a small file, read without the heavy adapters)."""
        self.clock = options.clock
        """The till's clock."""
        self._services_factory = services_factory
        self._services: TillServices | None = None
        self._services_built = threading.Event()
        i18n.use(settings.till.language)
        if settings.till.theme in self.available_themes:
            self.theme = settings.till.theme
        else:
            log.warning("unknown theme %r; using textual-dark", settings.till.theme)

    # ------------------------------------------------------------------ start-up

    @work(thread=True, exit_on_error=False, exclusive=True, group="connect")
    def _connect(self) -> None:
        try:
            services = self._services_factory()
            if self.options.start_cashier is not None:
                services.office.start_shift(self.options.start_cashier)
            self._watch_connection(services)
            self._services = services
        finally:
            self._services_built.set()
        self.post_message(ServicesReady())

    def _watch_connection(self, services: TillServices) -> None:
        # Told on whichever thread made the call; post_message is safe from any of them.
        def changed(online: bool) -> None:
            self.post_message(ConnectionChanged(online))

        services.connection.subscribe(changed)

    def on_settings_applied(self, message: SettingsApplied) -> None:
        """New services are in place: the status line reads them now."""
        self.refresh_status()

    def on_connection_changed(self, message: ConnectionChanged) -> None:
        """The server went away or came back: the status line says so now, not on a timer."""
        self.refresh_status()

    @property
    def services(self) -> TillServices:
        """The till's services (:mod:`terminal.services`); workers wait (bounded) while they are
        still being built."""
        if self._services is None:
            on_ui_thread = threading.current_thread() is threading.main_thread()
            if (
                on_ui_thread
                or not self._services_built.wait(STARTUP_WAIT_S)
                or self._services is None
            ):
                raise TillError(_("The till is still starting or could not start; see its log."))
        return self._services

    @property
    def cashier(self) -> str | None:
        """The logged-in cashier, if any."""
        return self._services.session.cashier if self._services is not None else None

    def action_nothing(self) -> None:
        """Cashiers cannot quit with ctrl+c."""

    # ------------------------------------------------------------------ failures

    def report_failure(self, error: BaseException) -> None:
        """The one place worker failures are shown: one sentence, never a traceback."""
        self.say(sentence(error), error=True)

    def say(self, sentence: str, *, error: bool = False) -> None:
        """Show one sentence on the active screen's message line (a toast where there is none)."""
        screen = self.active_screen()
        if screen is None:
            return  # shutting down: there is nobody left to tell
        bars = screen.query(MessageBar)
        if bars:
            bars.first().show(sentence, error=error)
        else:
            self.notify(sentence, severity="error" if error else "information", markup=False)

    def active_screen(self) -> Screen[object] | None:
        """The screen on top, or None once the app is closing (late messages from threads)."""
        return self.screen_stack[-1] if self.screen_stack and self.is_running else None

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The app's own workers (status, printer) fail into the same one handler."""
        if event.state is WorkerState.ERROR and event.worker.error is not None:
            self.report_failure(event.worker.error)

    # ------------------------------------------------------------------ status and scans

    def refresh_status(self) -> None:
        """Re-read the queue depth and connection state in a worker."""
        self._read_status()

    @work(thread=True, exit_on_error=False, exclusive=True, group="status")
    def _read_status(self) -> None:
        status = StatusRefreshed(
            self.services.office.sync_view(), self.services.office.printer_state()
        )
        if not get_current_worker().is_cancelled:  # a newer read replaced this one
            self.post_message(status)

    def refresh_caches(self) -> None:
        """Refresh the offline caches (program, members, catalog) in a worker."""
        self._refresh_caches()

    @work(thread=True, exit_on_error=False, exclusive=True, group="caches")
    def _refresh_caches(self) -> None:
        try:
            self.services.office.refresh_caches()
        except ProcessingError as error:
            # Offline at start-up is normal: the caches stay as they were, the sale goes on.
            log.info("cache refresh skipped: %s", error)

    def print_receipts(self) -> None:
        """Wake the print worker: a receipt was just queued."""
        self.options.wake_printer()

    def on_printer_changed(self, message: PrinterChanged) -> None:
        """A receipt printed or failed: refresh the status, say why it failed."""
        self.refresh_status()
        if message.state != "ok":
            self.say(message.sentence, error=True)

    def on_status_refreshed(self, message: StatusRefreshed) -> None:
        self.last_status = message
        screen = self.active_screen()
        if screen is None:
            return
        for line in screen.query(StatusLine):
            line.apply(message, self.scanner_state)

    def on_scanner_changed(self, message: ScannerChanged) -> None:
        """The serial port was lost or found: the status line and one sentence say so."""
        self.scanner_state = message.state
        if self.last_status is not None:
            self.on_status_refreshed(self.last_status)

        self.say(message.sentence, error=message.state != "ok")

    def set_language(self, language: str) -> None:
        """Switch the screen language (admin); screens re-render on their next refresh."""
        i18n.use(language)

    def manager_quit(self) -> None:
        """Stop the till; only the admin screen (behind the manager PIN) calls this."""
        self.exit()

    def reload_services(self, settings: Settings) -> None:
        """Apply saved settings now (admin): services built again from ``settings``. Blocks;
        call it from a worker.

        Two print workers would print the same queued receipt twice and two readers would
        fight over the scanner port, so the old devices stop first; the old database and
        network client keep serving until the new ones are in place, so no screen finds the
        till without services. The cashier and the open shift carry over. When the new
        settings cannot be applied, the till goes on with the old ones and TillError says why.
        """
        old, old_settings = self._services, self.settings
        old_core, old_devices = self.options.stop_services, self.options.stop_devices
        _run_all(old_devices)
        self.options.stop_devices = []
        self.settings = settings  # the factory builds from the app's settings
        try:
            services = self._services_factory()
        except Exception as error:
            reason = sentence(error)
            log.warning("settings not applied: %s", reason)
            self.settings = old_settings
            try:
                services = self._services_factory()  # the old settings, devices and all
            except Exception:
                log.exception("the old settings could not be restored either")
                raise TillError(
                    _("Saved, but not applied: {reason} Restart the till.").format(reason=reason)
                ) from error
            self._swap(old, services, old_core)
            raise TillError(
                _("Saved, but not applied: {reason} The till goes on as before.").format(
                    reason=reason
                )
            ) from error
        self._swap(old, services, old_core)

    def _swap(
        self, old: TillServices | None, new: TillServices, old_stops: list[Callable[[], None]]
    ) -> None:
        if old is not None:
            # The cashier and the open shift go on; the connection is the new client's.
            new.session.cashier, new.session.shift_id = old.session.cashier, old.session.shift_id
        self._watch_connection(new)
        self._services = new
        self.scanner_state = "none" if self.settings.scanner.kind == "none" else "ok"
        _run_all(old_stops)
        # Posted, not called: this runs in the admin's save worker, off the UI thread.
        self.post_message(SettingsApplied())

    def on_unmount(self) -> None:
        options = self.options
        _run_all([*options.stop_devices, *options.stop_services, *options.on_exit])


def _run_all(stops: list[Callable[[], None]]) -> None:
    for stop in stops:
        try:
            stop()
        except Exception:  # a failing stop must not keep the others from running
            log.exception("stopping %s failed", stop)
