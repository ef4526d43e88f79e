"""The loyalty program as a TOML file, both ways, with every problem named by its key.

The file holds the rules only: the server numbers versions and keeps the QR key, so
``version`` and ``qr_public_key`` are not written in it. Numbers may be written bare
(``3``, ``0.5`` — read as exact decimals, never floats) or quoted; dates are TOML dates.
The rules themselves are the loyalty core's (:class:`loyalty.program.Program` validates);
:func:`problems` only cuts the file in independent parts so that one run names every part
that is wrong, not only the first.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from loyalty.errors import ProgramError
from loyalty.program import Program

SERVER_KEYS = ("version", "qr_public_key")
"""Keys the server sets; a file that has them is refused (they are not the operator's)."""

_SECTIONS = ("tiers", "birthday", "promotions", "exclusions", "spend")
_MINIMAL: dict[str, Any] = {"version": 1, "currency": "RUB", "base_rate_percent": 0}
"""A valid program with nothing in it: a part of a file is checked on top of it."""


class ProgramFileError(Exception):
    """The file cannot be read as a program; ``problems`` are lines ``key: what is wrong``."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def read_toml(text: str) -> dict[str, Any]:
    """The TOML document (decimals exact). Raises ProgramFileError for a syntax error."""
    try:
        return tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        raise ProgramFileError([f"(syntax): {exc}"]) from None


def _line(error: ProgramError, index: tuple[str, int] | None = None) -> str:
    """``key: what is wrong`` from the core's message (``program.tiers[0].x must …``)."""
    text = error.reason.removeprefix("program.")
    if index is not None:  # an item checked alone was item 0: give it its real place
        section, i = index
        text = text.replace(f"{section}[0]", f"{section}[{i}]", 1)
    found = re.match(r"[A-Za-z_][A-Za-z0-9_.\[\]]*", text)
    key = found.group(0).rstrip(".") if found else "program"
    rest = text[len(key) :].lstrip(":. ").strip()
    return f"{key}: {rest}" if rest else f"{key}: {text}"


def _try(data: dict[str, Any], index: tuple[str, int] | None = None) -> str | None:
    try:
        Program.from_dict(data)
    except ProgramError as exc:
        return _line(exc, index)
    return None


def problems(data: dict[str, Any]) -> list[str]:
    """Every problem of a parsed program file, one line each (``key: what is wrong``); empty
    when the file is a valid program."""
    found: list[str] = []
    for key in SERVER_KEYS:
        if key in data:
            found.append(f"{key}: is set by the server, not in the program file")
    for key in ("currency", "base_rate_percent"):
        if key not in data:
            found.append(f"{key}: is missing")
    for key, value in data.items():
        if key in SERVER_KEYS or key in ("tiers", "promotions"):
            continue
        if key in _TABLES and isinstance(value, dict):
            found += _table_problems(key, value)
            continue
        line = _try({**_MINIMAL, key: value})
        if line is not None:
            found.append(line)
    for section in ("tiers", "promotions"):
        items = data.get(section, [])
        if not isinstance(items, list):
            found.append(f"{section}: must be a list of tables ([[{section}]])")
            continue
        broken = False
        for i, item in enumerate(items):
            line = _try({**_MINIMAL, section: [item]}, (section, i))
            if line is not None:
                found.append(line)
                broken = True
        if not broken:  # the items are each fine: what is left is between them (order, ids)
            line = _try({**_MINIMAL, section: items})
            if line is not None:
                found.append(line)
    if not found:
        line = _try({**_MINIMAL, **data})
        if line is not None:
            found.append(line)
    return found


_TABLES: dict[str, dict[str, Any]] = {
    "birthday": {"rate_percent": 0},
    "exclusions": {},
    "spend": {},
}
"""The tables of a file, each with what it needs to be valid when one of its keys is checked
alone."""


def _table_problems(section: str, table: dict[str, Any]) -> list[str]:
    """Each key of a table checked alone, then (when each is fine) the table as a whole."""
    found = [
        line
        for key, value in table.items()
        if (line := _try({**_MINIMAL, section: {**_TABLES[section], key: value}})) is not None
    ]
    if not found:
        line = _try({**_MINIMAL, section: table})
        if line is not None:
            found.append(line)
    return found


def parse(text: str, version: int = 1, qr_public_key: str = "") -> Program:
    """The program of a TOML file as ``version`` with ``qr_public_key``. Raises
    ProgramFileError listing every problem."""
    data = read_toml(text)
    found = problems(data)
    if found:
        raise ProgramFileError(found)
    return Program.from_dict({**data, "version": version, "qr_public_key": qr_public_key})


def to_data(program: Program) -> dict[str, Any]:
    """The file's content of ``program``: its JSON-ready data without the server's keys and
    without absent (None) values."""
    data: dict[str, Any] = _drop_none(
        {k: v for k, v in program.to_dict().items() if k not in SERVER_KEYS}
    )
    return data


def _drop_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_none(v) for v in value]
    return value


_DECIMAL_KEYS = re.compile(
    r"(percent|spend|multiplier|points_per_unit|threshold|bonus_points|min_paid_in_money"
    r"|min_points|max_points)"
)
_DATE_KEYS = ("starts_on", "ends_on")


def _value(key: str, value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_value(key, v) for v in value) + "]"
    if isinstance(value, str) and key in _DATE_KEYS:
        return date.fromisoformat(value).isoformat()  # a TOML local date, unquoted
    if isinstance(value, str) and _DECIMAL_KEYS.search(key):
        return str(Decimal(value))  # a bare decimal: read back exactly (parse_float=Decimal)
    return _string(str(value))


def _string(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def _table(lines: list[str], data: dict[str, Any]) -> None:
    for key, value in data.items():
        lines.append(f"{key} = {_value(key, value)}")


def dump(program: Program, header: str = "") -> str:
    """``program`` as a program file that :func:`parse` reads back to the same rules."""
    data = to_data(program)
    lines = [f"# {row}" if row else "#" for row in header.splitlines()]
    _table(lines, {k: v for k, v in data.items() if k not in _SECTIONS})
    for section in _SECTIONS:
        if section not in data:
            continue
        value = data[section]
        if isinstance(value, list):
            for item in value:
                lines += ["", f"[[{section}]]"]
                _table(lines, item)
        else:
            lines += ["", f"[{section}]"]
            _table(lines, value)
    return "\n".join(lines) + "\n"


def flatten(program: Program) -> dict[str, str]:
    """``key = value`` pairs of the file's content (lists of tables by index)."""
    out: dict[str, str] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(f"{prefix}.{k}" if prefix else k, v)
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            for i, item in enumerate(value):
                walk(f"{prefix}[{i}]", item)
        else:
            out[prefix] = _value(prefix.rsplit(".", 1)[-1], value)

    walk("", to_data(program))
    return out


def diff(old: Program, new: Program) -> list[str]:
    """What changes from ``old`` to ``new``: ``- key = …`` for a removed or changed value,
    ``+ key = …`` for an added or changed one, in key order; empty when the rules are equal."""
    a, b = flatten(old), flatten(new)
    lines: list[str] = []
    for key in sorted(set(a) | set(b)):
        if a.get(key) == b.get(key):
            continue
        if key in a:
            lines.append(f"- {key} = {a[key]}")
        if key in b:
            lines.append(f"+ {key} = {b[key]}")
    return lines


def same_rules(a: Program, b: Program) -> bool:
    """True when two versions have the same rules (their numbers and QR keys aside)."""
    return replace(a, version=1, qr_public_key="") == replace(b, version=1, qr_public_key="")


EXAMPLE = Path(__file__).resolve().parents[3] / "program.toml"
"""The commented example program beside ``config.toml`` (the demo's program)."""


def example_program() -> Program | None:
    """The example program file's rules (version 1, no QR key), or None when this install
    has no such file (a wheel: the demo then builds the same program in code,
    :func:`loyalty.program.demo_program`). Raises ProgramFileError for a broken file."""
    if not EXAMPLE.is_file():
        return None
    return parse(EXAMPLE.read_text(encoding="utf-8"))
