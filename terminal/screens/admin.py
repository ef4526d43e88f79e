"""Admin, behind the manager PIN: processing, scanner, printer, languages, offline bounds, cashiers.

F5 tests the processing connection, F6 waits for a test scan, F7 prints a test receipt, F8 adds
a cashier, F2 saves to config.toml (atomically, with a backup, validated like ``till config
check``), F10 quits the till. Saved changes apply at once: the services, scanner and printer
are built again from the new settings (the cashier and the shift carry over).
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Checkbox, Footer, Input, Select, Static

from terminal.config import ConfigError
from terminal.config_writer import Value, save_config
from terminal.errors import TillError
from terminal.i18n import N_, _
from terminal.screens.base import TillScreen
from terminal.screens.manager import ask_manager
from terminal.widgets.message_bar import MessageBar

LANGUAGES = [("Русский", "ru"), ("Українська", "uk"), ("Қазақша", "kk"), ("English", "en")]
SUFFIXES = [("CR", "cr"), ("LF", "lf"), ("CR LF", "crlf"), ("—", "none")]
SCANNER_KINDS = [("serial", "serial"), ("keyboard", "keyboard"), ("none", "none")]
PRINTER_KINDS = [(k, k) for k in ("usb", "serial", "network", "file", "none")]
COLUMNS = [(str(c), c) for c in (32, 42, 48, 56, 64)]


class AdminScreen(TillScreen):
    """The till's setup; opens only after the manager PIN."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f2", "save", N_("Save")),
        Binding("f5", "test_processing", N_("Test server")),
        Binding("f6", "test_scan", N_("Test scan")),
        Binding("f7", "test_print", N_("Test print")),
        Binding("f8", "add_cashier", N_("Add cashier")),
        Binding("f10", "quit_till", N_("Quit till")),
        Binding("escape", "back", N_("Back")),
    ]

    class Done(Message):
        """A worker finished; ``sentence`` says what happened."""

        def __init__(self, sentence: str) -> None:
            super().__init__()
            self.sentence = sentence
            """Translated, for the message line."""

    class LanguageSaved(Message):
        """The saved config names this screen language."""

        def __init__(self, language: str) -> None:
            super().__init__()
            self.language = language
            """ru, uk, kk or en."""

    class PortsFound(Message):
        """The serial ports this machine has, for the scanner's port list."""

        def __init__(self, ports: list[str]) -> None:
            super().__init__()
            self.ports = ports
            """Device paths."""

    def on_admin_screen_done(self, message: Done) -> None:
        self.say(message.sentence)

    def on_admin_screen_language_saved(self, message: LanguageSaved) -> None:
        self.till.set_language(message.language)

    def __init__(self) -> None:
        super().__init__()
        self.unlocked = False
        """The manager PIN was given."""
        self.waiting_for_scan = False
        """F6 was pressed: the next scan is shown here instead of identifying anyone."""

    def compose(self) -> ComposeResult:
        s = self.till.settings

        def field(label: str, widget: Widget) -> Iterator[Widget]:
            yield Static(label, classes="field-label")
            yield widget

        with VerticalScroll(id="admin", classes="panel"):
            yield Static(Text(_("Processing server"), style="bold"))
            yield from field(_("URL"), Input(s.processing.url, id="url"))
            yield from field(_("API key (unchanged if empty)"), Input(id="api_key", password=True))
            yield Static(Text(_("Scanner"), style="bold"))
            yield from field(
                _("Kind"),
                Select(SCANNER_KINDS, value=s.scanner.kind, allow_blank=False, id="scanner_kind"),
            )
            yield from field(
                _("Port"),
                Select([(s.scanner.port, s.scanner.port)], value=s.scanner.port, id="port"),
            )
            yield from field(
                _("End of scan"),
                Select(SUFFIXES, value=s.scanner.suffix, allow_blank=False, id="suffix"),
            )
            yield Static(Text(_("Printer"), style="bold"))
            yield from field(
                _("Kind"),
                Select(PRINTER_KINDS, value=s.printer.kind, allow_blank=False, id="printer_kind"),
            )
            yield from field(_("file path"), Input(s.printer.path, id="printer_path"))
            yield from field(_("network host"), Input(s.printer.host, id="printer_host"))
            yield from field(_("profile"), Input(s.printer.profile, id="profile"))
            yield from field(
                _("Characters per line"),
                Select(COLUMNS, value=s.printer.columns, allow_blank=False, id="columns"),
            )
            yield from field(_("code page (auto)"), Input(s.printer.codepage or "", id="codepage"))
            yield Static(Text(_("Languages"), style="bold"))
            yield from field(
                _("Screen"),
                Select(LANGUAGES, value=s.till.language, allow_blank=False, id="language"),
            )
            yield from field(
                _("Receipt"),
                Select(LANGUAGES, value=s.till.receipt_language, allow_blank=False, id="receipt"),
            )
            yield Checkbox(
                _("Without a customer, Enter prints a claim code for the points"),
                s.till.claims,
                id="claims",
            )
            yield Static(Text(_("Offline spending"), style="bold"))
            yield Checkbox(_("Allow spending offline"), s.offline.spend_enabled, id="spend")
            yield from field(
                _("Most points per check"),
                Input(str(s.offline.per_check_cap), id="per_check", restrict=r"[\d.]*"),
            )
            yield from field(
                _("Most points per member per day"),
                Input(str(s.offline.per_member_daily_cap), id="daily", restrict=r"[\d.]*"),
            )
            yield from field(
                _("Most points for this till until it syncs"),
                Input(str(s.offline.till_budget), id="budget", restrict=r"[\d.]*"),
            )
            yield Static(Text(_("New cashier: id and PIN"), style="bold"))
            yield from field(_("cashier id"), Input(id="cashier_id"))
            yield from field(_("PIN"), Input(id="cashier_pin", password=True, restrict=r"\d{0,12}"))
        yield MessageBar(id="message")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#admin").display = False

        def unlocked(_manager: str) -> None:
            self.unlocked = True
            self.query_one("#admin").display = True
            self.query_one("#url", Input).focus()
            self._detect_ports()

        def cancelled() -> None:
            self.app.pop_screen()

        ask_manager(self.app, unlocked, cancelled)

    # ------------------------------------------------------------------ reading the form

    def _value(self, widget_id: str) -> Any:
        widget = self.query_one(f"#{widget_id}")
        if isinstance(widget, Select):
            return None if widget.value is Select.NULL else widget.value
        if isinstance(widget, Checkbox):
            return widget.value
        assert isinstance(widget, Input)
        return widget.value.strip()

    def _decimal(self, widget_id: str) -> Decimal:
        try:
            return Decimal(self._value(widget_id) or "0")
        except InvalidOperation:
            raise TillError(_("Offline limits must be numbers.")) from None

    def changes(self) -> dict[str, dict[str, Value]]:
        """The form as config.toml changes (only what the admin screen manages)."""
        changes: dict[str, dict[str, Value]] = {
            "processing": {"url": self._value("url")},
            "scanner": {
                "kind": self._value("scanner_kind"),
                "port": self._value("port"),
                "suffix": self._value("suffix"),
            },
            "printer": {
                "kind": self._value("printer_kind"),
                "path": self._value("printer_path"),
                "host": self._value("printer_host"),
                "profile": self._value("profile"),
                "columns": self._value("columns"),
                "codepage": self._value("codepage") or None,
            },
            "till": {
                "language": self._value("language"),
                "receipt_language": self._value("receipt"),
                "claims": self._value("claims"),
            },
            "offline": {
                "spend_enabled": self._value("spend"),
                "per_check_cap": self._decimal("per_check"),
                "per_member_daily_cap": self._decimal("daily"),
                "till_budget": self._decimal("budget"),
            },
        }
        if self._value("api_key"):
            changes["processing"]["api_key"] = self._value("api_key")
        return changes

    def say(self, sentence: str, *, error: bool = False) -> None:
        """One sentence under the form."""
        self.query_one(MessageBar).show(sentence, error=error)

    # ------------------------------------------------------------------ actions

    def action_save(self) -> None:
        """F2: validate and write config.toml."""
        path = self.till.options.config_path
        if not self.unlocked:
            return
        if path is None:
            self.say(_("This till was started without a config file; nothing to save."), error=True)
            return
        try:
            changes = self.changes()
        except TillError as error:
            self.say(str(error), error=True)
            return
        self._save(path, changes)

    @work(thread=True, exit_on_error=False, exclusive=True, group="admin-save")
    def _save(self, path: Any, changes: dict[str, dict[str, Value]]) -> None:
        try:
            settings = save_config(path, changes)
        except ConfigError as error:
            raise TillError(error.problems[0]) from error
        self.post_message(self.LanguageSaved(settings.till.language))
        self.till.reload_services(settings)  # raises TillError when it cannot apply them
        self.post_message(
            self.Done(_("Saved and applied; a backup of the old file is config.toml.bak."))
        )

    def action_test_processing(self) -> None:
        """F5: ask the server for its health with the URL and key in the form."""
        if self.unlocked:
            self.say(_("Connecting…"))
            self._test_processing(self._value("url"), self._value("api_key"))

    @work(thread=True, exit_on_error=False, exclusive=True, group="admin-test")
    def _test_processing(self, url: str, key: str) -> None:
        from processing.client import ClientSettings, ProcessingClient

        api_key = key or self.till.settings.processing.resolved_api_key() or ""
        with ProcessingClient(url, api_key, ClientSettings(attempts=1)) as client:
            health = client.health()
            client.program_snapshot()  # proves the key, not only the address
        sentence = _("Connected: server {version}, program {program}.").format(
            version=health.version, program=health.program_version
        )
        self.post_message(self.Done(sentence))

    def action_test_scan(self) -> None:
        """F6: show the next scan here."""
        if self.unlocked:
            self.waiting_for_scan = True
            self.say(_("Scan something now…"))

    def handle_scan(self, code: str, source: str) -> None:
        """During a test scan, show what arrived (literally)."""
        if self.waiting_for_scan:
            self.waiting_for_scan = False
            self.say(_("Scanned ({source}): {code}").format(source=source, code=code))

    def action_test_print(self) -> None:
        """F7: print a sample receipt with the saved printer settings."""
        if self.unlocked:
            self.say(_("Printing a test receipt…"))
            self._test_print()

    @work(thread=True, exit_on_error=False, exclusive=True, group="admin-test")
    def _test_print(self) -> None:
        from datetime import datetime

        from drivers.sample_receipt import sample_receipt
        from terminal.device_settings import printer_for
        from terminal.receipts import receipt_bytes

        settings = self.till.settings
        receipt = sample_receipt(settings.till.receipt_language, datetime.now().astimezone())
        data = receipt_bytes(settings, receipt)
        printer = printer_for(settings)
        try:
            printer.open()
            printer.send(data)
        finally:
            printer.close()
        self.post_message(self.Done(_("Test receipt sent to the printer.")))

    def action_add_cashier(self) -> None:
        """F8: add (or re-PIN) the cashier in the last two fields."""
        if self.unlocked:
            self._add_cashier(self._value("cashier_id"), self._value("cashier_pin"))

    @work(thread=True, exit_on_error=False, exclusive=True, group="admin-cashier")
    def _add_cashier(self, cashier_id: str, pin: str) -> None:
        try:
            self.till.cashiers.add(cashier_id, pin)
        except ValueError as error:
            raise TillError(_("Not added: {reason}.").format(reason=error)) from error
        self.post_message(self.Done(_("Cashier {id} can log in now.").format(id=cashier_id)))

    @work(thread=True, exit_on_error=False, group="admin-ports")
    def _detect_ports(self) -> None:
        from serial.tools import list_ports

        ports = [p.device for p in list_ports.comports()]
        self.post_message(self.PortsFound(ports))

    def on_admin_screen_ports_found(self, message: PortsFound) -> None:
        select: Select[str] = self.query_one("#port", Select)
        current = self.till.settings.scanner.port
        names = [current, *[p for p in message.ports if p != current]]
        select.set_options([(name, name) for name in names])
        select.value = current

    def action_quit_till(self) -> None:
        """F10: the manager stops the till."""
        if self.unlocked:
            self.till.manager_quit()

    def action_back(self) -> None:
        """Esc: back to the sale."""
        self.app.pop_screen()
