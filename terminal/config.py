"""The till's configuration: ``config.toml`` plus ``TILL_<SECTION>__<KEY>`` environment overrides.

The model is typed and strict: unknown keys are refused, so a typo never passes silently. Every
problem is reported as one line naming the file, the key and what is wrong, e.g.
``config.toml: scanner.baudrate: 96000 is not a standard rate``. :func:`load_settings` raises
:class:`ConfigError` carrying those lines; it never lets a traceback reach a user.

The sections are frozen standard-library dataclasses checked by :mod:`terminal.config_fields`,
not pydantic: ``till run`` loads the config before its first frame, and importing pydantic and
pydantic-settings cost about a third of a second of that start-up. Each field's type, limits
(:class:`Bounds`, :class:`Length`) and rule (:class:`Check`) are declared on the field itself;
values are converted as pydantic's lax mode did (``"7"``, ``7.0`` → 7; ``"yes"``, ``1`` → true;
``1.5``, ``"2.5"`` → Decimal), and every wrong value is reported, not just the first.
"""

from __future__ import annotations

import ipaddress
import json
import os
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, fields
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from terminal.config_fields import Bounds, Check, Invalid, Length, SecretStr, converters

DEFAULT_CONFIG = Path("config.toml")
"""Where ``till`` looks when neither ``--config`` nor ``TILL_CONFIG`` names a file."""

ENV_PREFIX = "TILL_"
ENV_DELIMITER = "__"

STANDARD_BAUDRATES = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600)
"""Rates serial scanners and printers actually offer; anything else is almost always a typo."""

Language = Literal["ru", "uk", "kk", "en"]


def _standard_rate(value: int) -> int:
    if value not in STANDARD_BAUDRATES:
        raise ValueError(f"{value} is not a standard rate")
    return value


def _http_url(value: str) -> str:
    if not value.startswith(("http://", "https://")) or len(value) < 10:
        raise ValueError(f"{value!r} is not an http:// or https:// URL")
    return value.rstrip("/")


def _pin_hash(value: str) -> str:
    if value and not value.startswith("scrypt$"):
        raise ValueError("is not a PIN hash; write one with `till config hash-pin`")
    return value


Baudrate = Annotated[int, Check(_standard_rate)]


class _Section:
    """A config section: a frozen dataclass whose fields are the keys of its ``[section]``."""

    __slots__ = ()

    def as_dict(self) -> dict[str, Any]:
        """The section's keys and values (a fresh dict; ``api_key`` stays a SecretStr)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}  # type: ignore[arg-type]

    def problems(self) -> list[tuple[str, str]]:
        """Rules between keys of the section, as ``(key, what is wrong)``; none by default."""
        return []


def is_loopback_url(url: str) -> bool:
    """True when ``url``'s host is this machine (localhost, 127.0.0.0/8, ::1)."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# ---------------------------------------------------------------------- the sections


@dataclass(frozen=True, slots=True, kw_only=True)
class TillSection(_Section):
    store_id: Annotated[str, Length(min=1, max=64)] = "store-1"
    """The store this till belongs to, as the processing server knows it."""
    till_id: Annotated[str, Length(min=1, max=64)] = "till-1"
    """This till's id within the store."""
    language: Language = "ru"
    """Language of the cashier's screen: ru, uk, kk or en."""
    receipt_language: Language = "ru"
    """Language of the printed receipt, chosen separately from the screen's."""
    currency: Literal["RUB", "UAH", "KZT"] = "RUB"
    """Currency of the checks; 1 point = 1 unit of it."""
    region: Literal["RU", "UA", "KZ"] = "RU"
    """Default region for phone numbers typed without a country code."""
    theme: Annotated[str, Length(min=1)] = "textual-dark"
    """Textual theme; ``ansi-dark`` suits a plain Linux console palette."""
    claims: bool = True
    """A check confirmed without identifying a customer prints a claim code; the customer
    collects the points at the next visit. false: identify the customer first."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ProcessingSection(_Section):
    url: Annotated[str, Check(_http_url)] = "http://127.0.0.1:8765"
    """Base URL of the loyalty processing server; plain http:// only to loopback unless
    ``allow_insecure_http``."""
    allow_insecure_http: bool = False
    """Allow a plain http:// URL to another machine: the API key, phones and points then
    cross the network unencrypted. For a closed store network behind its own VPN only."""
    api_key: SecretStr | None = None
    """This till's API key. Prefer ``api_key_env`` so the key stays out of the file."""
    api_key_env: str | None = None
    """Name of an environment variable holding the API key."""
    connect_timeout: Annotated[Decimal, Bounds(gt=0, le=30)] = Decimal("1.0")
    """Seconds to wait for a connection before treating the server as unreachable."""
    read_timeout: Annotated[Decimal, Bounds(gt=0, le=60)] = Decimal("3.0")
    """Seconds to wait for an answer once connected."""
    offline_budget: Annotated[Decimal, Bounds(gt=0, le=30)] = Decimal("1.5")
    """Most seconds a dead or hanging server may cost the cashier before the till goes offline."""

    def resolved_api_key(self) -> str | None:
        """The API key from ``api_key_env`` when set and present, else from ``api_key``."""
        if self.api_key_env:
            from_env = os.environ.get(self.api_key_env)
            if from_env:
                return from_env
        return self.api_key.get_secret_value() if self.api_key else None

    def problems(self) -> list[tuple[str, str]]:
        plain = self.url.startswith("http://") and not self.allow_insecure_http
        if plain and not is_loopback_url(self.url):
            return [
                (
                    "url",
                    f"{self.url!r} is plain http:// to another machine (the key would"
                    " travel unencrypted); use https:// or set"
                    " processing.allow_insecure_http = true",
                )
            ]
        return []


@dataclass(frozen=True, slots=True, kw_only=True)
class ScannerSection(_Section):
    kind: Literal["serial", "keyboard", "none"] = "keyboard"
    """serial (RS-232 or USB-CDC), keyboard (a keyboard-wedge scanner) or none."""
    port: str = "/dev/ttyACM0"
    """Any pyserial port name or URL: /dev/ttyACM0, /dev/serial/by-id/…, socket://h:p, loop://."""
    baudrate: Baudrate = 9600
    """Serial speed; must be a standard rate."""
    parity: Literal["N", "E", "O"] = "N"
    """Serial parity: N (none), E (even) or O (odd)."""
    stopbits: Literal[1, 2] = 1
    """Serial stop bits."""
    suffix: Literal["cr", "lf", "crlf", "none"] = "cr"
    """What ends a scan; ``none`` frames scans by the gap between bytes instead."""
    prefix: str = ""
    """Characters the scanner sends before each code, stripped when present."""
    gap_ms: Annotated[int, Bounds(ge=5, le=5000)] = 100
    """A pause this long ends a scan (suffix none) or drops a partial one."""
    max_length: Annotated[int, Bounds(ge=8, le=65536)] = 4096
    """Longest code accepted; longer input is rejected as unreadable."""
    keyboard_max_gap_ms: Annotated[int, Bounds(ge=5, le=500)] = 50
    """Keyboard wedge: keys arriving closer than this are a scanner burst, slower is typing."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PrinterSection(_Section):
    kind: Literal["usb", "serial", "network", "file", "none"] = "none"
    """How the receipt printer is attached: usb, serial, network, file or none."""
    path: str = "receipts.bin"
    """file: receipts are appended to this file."""
    host: str = ""
    """network: the printer's address."""
    port: Annotated[int, Bounds(ge=1, le=65535)] = 9100
    """network: the printer's TCP port (9100 on almost every model)."""
    device: str = "/dev/ttyUSB0"
    """serial: the printer's port."""
    baudrate: Baudrate = 9600
    """serial: the printer's speed; must be a standard rate."""
    vendor_id: Annotated[int, Bounds(ge=0, le=0xFFFF)] = 0
    """usb: the printer's USB vendor id (write it as 0x04b8 in TOML)."""
    product_id: Annotated[int, Bounds(ge=0, le=0xFFFF)] = 0
    """usb: the printer's USB product id."""
    profile: Annotated[str, Length(min=1)] = "default"
    """python-escpos capabilities profile: default, TM-T88V, POS-5890, ZJ-5870, …"""
    columns: Literal[32, 42, 48, 56, 64] = 48
    """Characters per line: 32 or 42 on 58 mm paper, 42 or 48 on 80 mm."""
    codepage: str | None = None
    """Force one code page (e.g. CP866); empty picks the best ones the profile has per letter."""
    timeout: Annotated[Decimal, Bounds(gt=0, le=120)] = Decimal("5")
    """Seconds an open, write or status query may take before the printer is reported offline."""
    qr: Literal["auto", "native", "image", "off"] = "auto"
    """QR on receipts: native where the profile supports it (auto), always an image, or off."""
    account_url: str = ""
    """Link printed as a QR for identified members; {member_id} is replaced. Empty: no QR for
    members (a check without a customer gets its claim code's QR, see ``[till] claims``)."""
    check_barcode: bool = True
    """Print the check number as a barcode so returns can scan it."""


@dataclass(frozen=True, slots=True, kw_only=True)
class OfflineSection(_Section):
    db_path: str = "till.sqlite3"
    """The till's own SQLite database: outbox, caches, print jobs, audit log."""
    spend_enabled: bool = False
    """Allow paying with points while the server is unreachable (bounded by the caps below)."""
    per_check_cap: Annotated[Decimal, Bounds(ge=0)] = Decimal("300")
    """Most points one offline check may spend."""
    per_member_daily_cap: Annotated[Decimal, Bounds(ge=0)] = Decimal("500")
    """Most points one member may spend offline per day at this till."""
    till_budget: Annotated[Decimal, Bounds(ge=0)] = Decimal("3000")
    """Most points this till may let members spend offline before it syncs."""
    per_shift_cap: Annotated[Decimal, Bounds(ge=0)] = Decimal("1500")
    """Most points all members together may spend offline during one cashier shift, synced
    or not (the till budget refills on sync; this does not until the shift is closed)."""
    manager_pin_above: Annotated[Decimal, Bounds(ge=0)] = Decimal("200")
    """An offline spend above this many points needs the manager PIN."""
    expiring_within_days: Annotated[int, Bounds(ge=1, le=365)] = 30
    """Points expiring within this many days are shown as expiring soon."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SecuritySection(_Section):
    admin_pin_hash: Annotated[str, Check(_pin_hash)] = ""
    """Manager PIN as written by ``till config hash-pin``; empty locks the admin screens."""


LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
"""Hosts only this machine can reach: the bridge needs no key there."""


@dataclass(frozen=True, slots=True, kw_only=True)
class BridgeSection(_Section):
    enabled: bool = False
    """Listen for the cash register's loyalty calls (see BRIDGE.md)."""
    host: Annotated[str, Length(min=1, max=255)] = "127.0.0.1"
    """Address to listen on; anything but loopback needs ``key``."""
    port: Annotated[int, Bounds(ge=0, le=65535)] = 8780
    """TCP port of the bridge (0: any free port, for tests)."""
    key: SecretStr | None = None
    """Bearer key the register sends (``Authorization: Bearer …``); required off loopback."""

    def problems(self) -> list[tuple[str, str]]:
        secret = self.key.get_secret_value() if self.key else ""
        if self.host not in LOOPBACK_HOSTS and not secret:
            return [("key", f"is required when host is {self.host!r} (not loopback)")]
        return []


SECTIONS: dict[str, type[_Section]] = {
    "till": TillSection,
    "processing": ProcessingSection,
    "scanner": ScannerSection,
    "printer": PrinterSection,
    "offline": OfflineSection,
    "security": SecuritySection,
    "bridge": BridgeSection,
}
"""The config's sections, in the order they are checked and reported."""


@dataclass(frozen=True, slots=True, init=False)
class Settings:
    """Everything a till needs to start; built by :func:`load_settings`.

    ``Settings(till={...}, printer={...})`` validates its arguments like the file (tables or
    sections), applies the environment overrides over them, and raises ConfigError.
    """

    till: TillSection
    """Who this till is and which languages it speaks."""
    processing: ProcessingSection
    """The loyalty processing server."""
    scanner: ScannerSection
    """The barcode/QR scanner."""
    printer: PrinterSection
    """The receipt printer."""
    offline: OfflineSection
    """The local database and the offline rules."""
    security: SecuritySection
    """The manager PIN."""
    bridge: BridgeSection
    """The cash register's local loyalty API."""

    def __init__(self, **sections: Any) -> None:
        data = {k: v.as_dict() if isinstance(v, _Section) else v for k, v in sections.items()}
        for name, section in _validate(data, "Settings()").items():
            object.__setattr__(self, name, section)

    def __iter__(self) -> Iterator[tuple[str, _Section]]:
        """``(name, section)`` pairs in file order."""
        for name in SECTIONS:
            yield name, getattr(self, name)

    def as_dict(self) -> dict[str, dict[str, Any]]:
        """Every section as a fresh dict of its values; ``Settings(**as_dict())`` rebuilds it."""
        return {name: section.as_dict() for name, section in self}


class ConfigError(Exception):
    """The configuration cannot be used; ``problems`` holds one printable line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def config_path(explicit: str | Path | None = None) -> Path:
    """The config file to use: ``--config``, else ``TILL_CONFIG``, else ./config.toml."""
    if explicit:
        return Path(explicit)
    from_env = os.environ.get("TILL_CONFIG")
    return Path(from_env) if from_env else DEFAULT_CONFIG


def read_toml(path: Path) -> dict[str, Any]:
    """Parse ``path`` as TOML; raises ConfigError with the file and line on any failure."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError([f"{path}: file not found"]) from None
    except IsADirectoryError:
        raise ConfigError([f"{path}: is a directory, not a config file"]) from None
    except OSError as exc:
        raise ConfigError([f"{path}: cannot be read ({exc.strerror or exc})"]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError([f"{path}: is not UTF-8 text"]) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{path}: TOML syntax error: {exc}"]) from None


def load_settings(path: str | Path | None = None) -> Settings:
    """Load and validate the config; raises ConfigError listing every problem, one per line."""
    resolved = config_path(path)
    data = read_toml(resolved)
    settings = Settings.__new__(Settings)
    for name, section in _validate(data, str(resolved)).items():
        object.__setattr__(settings, name, section)
    return settings


# ---------------------------------------------------------------------- validation


def _validate(data: dict[str, Any], source: str) -> dict[str, _Section]:
    """``data`` with the environment over it, as sections; ConfigError lists every problem."""
    overrides, problems = _environment()
    merged = _deep_update(data, overrides)
    sections: dict[str, _Section] = {}
    for name, cls in SECTIONS.items():
        raw = merged.get(name, {})
        if not isinstance(raw, dict):
            problems.append((name, "must be a table (a [section])"))
            continue
        by_key = converters(cls)
        values: dict[str, Any] = {}
        found = len(problems)
        for key, convert in by_key.items():
            if key in raw:
                try:
                    values[key] = convert(raw[key])
                except Invalid as exc:
                    problems.append((f"{name}.{key}", str(exc)))
        problems += [(f"{name}.{key}", "unknown key") for key in raw if key not in by_key]
        if len(problems) == found:
            sections[name] = cls(**values)
            problems += [(f"{name}.{key}", what) for key, what in sections[name].problems()]
    problems += [(str(key), "unknown key") for key in merged if key not in SECTIONS]
    if problems:
        raise ConfigError([f"{_where(source, key)}: {key}: {what}" for key, what in problems])
    return sections


def _where(source: str, key: str) -> str:
    """Name the environment variable when an override, not the file, supplied the value."""
    env_name = ENV_PREFIX + key.upper().replace(".", ENV_DELIMITER)
    return f"environment {env_name}" if env_name in os.environ else source


def _environment() -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The ``TILL_<SECTION>__<KEY>`` overrides as tables (names are case-insensitive).

    ``TILL_<SECTION>`` may hold a whole section as a JSON object; the per-key variables win
    over it. Other ``TILL_*`` variables (TILL_CONFIG, TILL_FIRST_FRAME_PROBE, …) are not config.
    """
    env = {name.lower(): value for name, value in os.environ.items()}
    overrides: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    for section in SECTIONS:
        name = (ENV_PREFIX + section).lower()
        prefix = name + ENV_DELIMITER
        nested: dict[str, Any] = {}
        for env_name, value in env.items():
            if env_name.startswith(prefix):
                *keys, last = env_name[len(prefix) :].split(ENV_DELIMITER)
                target: Any = nested
                for key in keys:
                    if isinstance(target, dict):
                        target = target.setdefault(key, {})
                if isinstance(target, dict):
                    target[last] = value
        if name not in env:
            if nested:
                overrides[section] = nested
            continue
        try:
            whole = json.loads(env[name])
        except ValueError as exc:
            problems.append((section, f"is not a JSON table ({exc})"))
            continue
        overrides[section] = _deep_update(whole, nested) if isinstance(whole, dict) else whole
    return overrides, problems


def _deep_update(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_update(merged[key], value)
        else:
            merged[key] = value
    return merged
