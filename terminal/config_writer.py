"""Saving the admin screen's changes to config.toml: atomically, with a backup, validated.

Only the changed keys' values are rewritten in place, so the file's comments and layout stay
as the admin wrote them. The new text is validated by the same rules as ``till config check``
(:func:`terminal.config.load_settings`) before it replaces the file; the old file is kept as
``config.toml.bak``. Both are written mode 0600: either may hold the till's API key.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from decimal import Decimal
from pathlib import Path

from terminal.config import ConfigError, Settings, load_settings

Value = str | int | bool | Decimal | None
_VALUE = r'("(?:[^"\\]|\\.)*"|\'[^\']*\'|[^\s#]+)'


def toml_value(value: Value) -> str:
    """``value`` as TOML (strings JSON-escaped, which TOML basic strings accept)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        return str(value)
    return json.dumps("" if value is None else value, ensure_ascii=False)


def update_text(text: str, changes: dict[str, dict[str, Value]]) -> str:
    """``text`` with ``changes[section][key]`` set; missing keys and sections are appended.

    A value of None removes the key (e.g. ``codepage`` back to "pick the best").
    """
    lines = text.splitlines()
    for section, keys in changes.items():
        start = _section_start(lines, section)
        if start is None:
            lines += ["", f"[{section}]"]
            start = len(lines) - 1
        for key, value in keys.items():
            end = _section_end(lines, start)
            pattern = re.compile(rf"^(\s*){re.escape(key)}(\s*=\s*){_VALUE}(.*)$")
            for index in range(start + 1, end):
                match = pattern.match(lines[index])
                if match:
                    if value is None:
                        del lines[index]
                    else:
                        indent, equals, _old, rest = match.groups()
                        lines[index] = f"{indent}{key}{equals}{toml_value(value)}{rest}"
                    break
            else:
                if value is not None:
                    lines.insert(
                        _last_key_line(lines, start, end) + 1, f"{key} = {toml_value(value)}"
                    )
    return "\n".join(lines) + "\n"


def _section_start(lines: list[str], section: str) -> int | None:
    for index, line in enumerate(lines):
        if line.strip() == f"[{section}]":
            return index
    return None


def _section_end(lines: list[str], start: int) -> int:
    for index in range(start + 1, len(lines)):
        if lines[index].lstrip().startswith("["):
            return index
    return len(lines)


def _last_key_line(lines: list[str], start: int, end: int) -> int:
    last = start
    for index in range(start + 1, end):
        stripped = lines[index].strip()
        if stripped and not stripped.startswith("#"):
            last = index
    return last


def _private_copy(source: Path, target: Path) -> None:
    """Copy ``source`` to ``target`` atomically, the copy mode 0600 whatever was there."""
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=".config.", suffix=".bak")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(source.read_bytes())
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, target)
    finally:
        Path(tmp_name).unlink(missing_ok=True)


def save_config(path: Path, changes: dict[str, dict[str, Value]]) -> Settings:
    """Apply ``changes`` to the file at ``path`` and return the validated new settings.

    Raises ConfigError (one line per problem) and leaves the file untouched when the result
    would not load; OSError when the file cannot be written.
    """
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    new = update_text(old, changes)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=".config.", suffix=".toml")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(new)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            settings = load_settings(tmp)
        except ConfigError as error:
            raise ConfigError(
                [line.replace(str(tmp), str(path)) for line in error.problems]
            ) from None
        if path.exists():
            _private_copy(path, path.with_name(path.name + ".bak"))
        # mkstemp made the new file 0600 and it stays so: it may hold the API key.
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return settings
