"""The till's configuration: ``config.toml`` plus ``TILL_<SECTION>__<KEY>`` environment overrides.

The model is typed and strict: unknown keys are refused, so a typo never passes silently. Every
problem is reported as one line naming the file, the key and what is wrong, e.g.
``config.toml: scanner.baudrate: 96000 is not a standard rate``. :func:`load_settings` raises
:class:`ConfigError` carrying those lines; it never lets a traceback reach a user.
"""

from __future__ import annotations

import os
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

DEFAULT_CONFIG = Path("config.toml")
"""Where ``till`` looks when neither ``--config`` nor ``TILL_CONFIG`` names a file."""

ENV_PREFIX = "TILL_"
ENV_DELIMITER = "__"

STANDARD_BAUDRATES = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600)
"""Rates serial scanners and printers actually offer; anything else is almost always a typo."""

Language = Literal["ru", "uk", "kk", "en"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True, frozen=True)


class TillSection(_Section):
    store_id: str = Field("store-1", min_length=1, max_length=64)
    """The store this till belongs to, as the processing server knows it."""
    till_id: str = Field("till-1", min_length=1, max_length=64)
    """This till's id within the store."""
    language: Language = "ru"
    """Language of the cashier's screen: ru, uk, kk or en."""
    receipt_language: Language = "ru"
    """Language of the printed receipt, chosen separately from the screen's."""
    currency: Literal["RUB", "UAH", "KZT"] = "RUB"
    """Currency of the checks; 1 point = 1 unit of it."""
    region: Literal["RU", "UA", "KZ"] = "RU"
    """Default region for phone numbers typed without a country code."""
    theme: str = Field("textual-dark", min_length=1)
    """Textual theme; ``ansi-dark`` suits a plain Linux console palette."""


class ProcessingSection(_Section):
    url: str = "http://127.0.0.1:8765"
    """Base URL of the loyalty processing server."""
    api_key: SecretStr | None = None
    """This till's API key. Prefer ``api_key_env`` so the key stays out of the file."""
    api_key_env: str | None = None
    """Name of an environment variable holding the API key."""
    connect_timeout: Decimal = Field(Decimal("1.0"), gt=0, le=30)
    """Seconds to wait for a connection before treating the server as unreachable."""
    read_timeout: Decimal = Field(Decimal("3.0"), gt=0, le=60)
    """Seconds to wait for an answer once connected."""
    offline_budget: Decimal = Field(Decimal("1.5"), gt=0, le=30)
    """Most seconds a dead or hanging server may cost the cashier before the till goes offline."""

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")) or len(value) < 10:
            raise ValueError(f"{value!r} is not an http:// or https:// URL")
        return value.rstrip("/")

    def resolved_api_key(self) -> str | None:
        """The API key from ``api_key_env`` when set and present, else from ``api_key``."""
        if self.api_key_env:
            from_env = os.environ.get(self.api_key_env)
            if from_env:
                return from_env
        return self.api_key.get_secret_value() if self.api_key else None


class ScannerSection(_Section):
    kind: Literal["serial", "keyboard", "none"] = "keyboard"
    """serial (RS-232 or USB-CDC), keyboard (a keyboard-wedge scanner) or none."""
    port: str = "/dev/ttyACM0"
    """Any pyserial port name or URL: /dev/ttyACM0, /dev/serial/by-id/…, socket://h:p, loop://."""
    baudrate: int = 9600
    """Serial speed; must be a standard rate."""
    parity: Literal["N", "E", "O"] = "N"
    """Serial parity: N (none), E (even) or O (odd)."""
    stopbits: Literal[1, 2] = 1
    """Serial stop bits."""
    suffix: Literal["cr", "lf", "crlf", "none"] = "cr"
    """What ends a scan; ``none`` frames scans by the gap between bytes instead."""
    prefix: str = ""
    """Characters the scanner sends before each code, stripped when present."""
    gap_ms: int = Field(100, ge=5, le=5000)
    """A pause this long ends a scan (suffix none) or drops a partial one."""
    max_length: int = Field(4096, ge=8, le=65536)
    """Longest code accepted; longer input is rejected as unreadable."""
    keyboard_max_gap_ms: int = Field(50, ge=5, le=500)
    """Keyboard wedge: keys arriving closer than this are a scanner burst, slower is typing."""

    @field_validator("baudrate")
    @classmethod
    def _standard_rate(cls, value: int) -> int:
        if value not in STANDARD_BAUDRATES:
            raise ValueError(f"{value} is not a standard rate")
        return value


class PrinterSection(_Section):
    kind: Literal["usb", "serial", "network", "file", "none"] = "none"
    """How the receipt printer is attached: usb, serial, network, file or none."""
    path: str = "receipts.bin"
    """file: receipts are appended to this file."""
    host: str = ""
    """network: the printer's address."""
    port: int = Field(9100, ge=1, le=65535)
    """network: the printer's TCP port (9100 on almost every model)."""
    device: str = "/dev/ttyUSB0"
    """serial: the printer's port."""
    baudrate: int = 9600
    """serial: the printer's speed; must be a standard rate."""
    vendor_id: int = Field(0, ge=0, le=0xFFFF)
    """usb: the printer's USB vendor id (write it as 0x04b8 in TOML)."""
    product_id: int = Field(0, ge=0, le=0xFFFF)
    """usb: the printer's USB product id."""
    profile: str = Field("default", min_length=1)
    """python-escpos capabilities profile: default, TM-T88V, POS-5890, ZJ-5870, …"""
    columns: Literal[32, 42, 48, 56, 64] = 48
    """Characters per line: 32 or 42 on 58 mm paper, 42 or 48 on 80 mm."""
    codepage: str | None = None
    """Force one code page (e.g. CP866); empty picks the best ones the profile has per letter."""
    timeout: Decimal = Field(Decimal("5"), gt=0, le=120)
    """Seconds an open, write or status query may take before the printer is reported offline."""
    qr: Literal["auto", "native", "image", "off"] = "auto"
    """QR on receipts: native where the profile supports it (auto), always an image, or off."""
    account_url: str = ""
    """Link printed as a QR for identified members; {member_id} is replaced. Empty: claim code."""
    check_barcode: bool = True
    """Print the check number as a barcode so returns can scan it."""

    @field_validator("baudrate")
    @classmethod
    def _standard_rate(cls, value: int) -> int:
        if value not in STANDARD_BAUDRATES:
            raise ValueError(f"{value} is not a standard rate")
        return value


class OfflineSection(_Section):
    db_path: str = "till.sqlite3"
    """The till's own SQLite database: outbox, caches, print jobs, audit log."""
    spend_enabled: bool = False
    """Allow paying with points while the server is unreachable (bounded by the caps below)."""
    per_check_cap: Decimal = Field(Decimal("300"), ge=0)
    """Most points one offline check may spend."""
    per_member_daily_cap: Decimal = Field(Decimal("500"), ge=0)
    """Most points one member may spend offline per day at this till."""
    till_budget: Decimal = Field(Decimal("3000"), ge=0)
    """Most points this till may let members spend offline before it syncs."""
    manager_pin_above: Decimal = Field(Decimal("200"), ge=0)
    """An offline spend above this many points needs the manager PIN."""
    expiring_within_days: int = Field(30, ge=1, le=365)
    """Points expiring within this many days are shown as expiring soon."""


class SecuritySection(_Section):
    admin_pin_hash: str = ""
    """Manager PIN as written by ``till config hash-pin``; empty locks the admin screens."""

    @field_validator("admin_pin_hash")
    @classmethod
    def _hash_format(cls, value: str) -> str:
        if value and not value.startswith("scrypt$"):
            raise ValueError("is not a PIN hash; write one with `till config hash-pin`")
        return value


class Settings(BaseSettings):
    """Everything a till needs to start; built by :func:`load_settings`."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter=ENV_DELIMITER,
        extra="forbid",
        frozen=True,
        use_attribute_docstrings=True,
    )

    till: TillSection = TillSection()
    """Who this till is and which languages it speaks."""
    processing: ProcessingSection = ProcessingSection()
    """The loyalty processing server."""
    scanner: ScannerSection = ScannerSection()
    """The barcode/QR scanner."""
    printer: PrinterSection = PrinterSection()
    """The receipt printer."""
    offline: OfflineSection = OfflineSection()
    """The local database and the offline rules."""
    security: SecuritySection = SecuritySection()
    """The manager PIN."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The file's contents arrive as init arguments; the environment must win over them.
        return (env_settings, init_settings)


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
    try:
        return Settings(**data)
    except ValidationError as exc:
        raise ConfigError(describe_errors(resolved, exc)) from None


def describe_errors(path: Path, exc: ValidationError) -> list[str]:
    """One line per validation error: ``file: section.key: what is wrong``."""
    lines: list[str] = []
    for error in exc.errors(include_url=False):
        key = ".".join(str(part) for part in error["loc"])
        where = _where(path, key)
        lines.append(f"{where}: {key}: {_explain(error)}")
    return lines


def _where(path: Path, key: str) -> str:
    """Name the environment variable when an override, not the file, supplied the value."""
    env_name = ENV_PREFIX + key.upper().replace(".", ENV_DELIMITER)
    return f"environment {env_name}" if env_name in os.environ else str(path)


def _explain(error: Any) -> str:
    kind = error["type"]
    value = error.get("input")
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "is required"
    if kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        return f"{value!r} is not one of {expected}"
    if kind == "value_error":
        # Our validators phrase the whole sentence; pydantic prefixes "Value error, ".
        return str(error["msg"]).removeprefix("Value error, ")
    if kind in {"int_parsing", "int_type", "int_from_float"}:
        return f"{value!r} is not a whole number"
    if kind in {"decimal_parsing", "decimal_type"}:
        return f"{value!r} is not a number"
    if kind in {"bool_parsing", "bool_type"}:
        return f"{value!r} is not true or false"
    if kind in {"string_type"}:
        return f"{value!r} is not text"
    if kind in {"model_type", "model_attributes_type", "dict_type"}:
        return "must be a table (a [section])"
    if kind in {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}:
        return f"{value!r} is out of range ({error['msg'].lower()})"
    if kind in {"string_too_short", "string_too_long"}:
        return f"{value!r} has the wrong length ({error['msg'].lower()})"
    return f"{value!r}: {error['msg']}"
