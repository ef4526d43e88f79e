"""Cashier ids and their PIN hashes, in a small JSON file beside the till database.

PINs are stored only as scrypt hashes (:mod:`terminal.pins`); the file is written atomically
with mode 0600. The manager adds cashiers from the admin screen; ``till demo`` adds one.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from terminal.pins import hash_pin, verify_pin


def cashiers_path(db_path: str | Path) -> Path:
    """Where the cashier list lives: ``cashiers.json`` beside the till database."""
    return Path(db_path).resolve().parent / "cashiers.json"


class Cashiers:
    """Read, verify and add cashiers; every call reads or writes the file (it is tiny)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        """The JSON file."""

    def _load(self) -> dict[str, str]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):
            return {}
        hashes = data.get("cashiers", {}) if isinstance(data, dict) else {}
        return {str(k): str(v) for k, v in hashes.items()}

    def ids(self) -> list[str]:
        """Known cashier ids, sorted."""
        return sorted(self._load())

    def verify(self, cashier_id: str, pin: str) -> bool:
        """True when ``cashier_id`` exists and ``pin`` is theirs."""
        stored = self._load().get(cashier_id.strip())
        return stored is not None and verify_pin(pin, stored)

    def add(self, cashier_id: str, pin: str) -> None:
        """Add or re-PIN a cashier; raises ValueError for a bad id or PIN."""
        cashier_id = cashier_id.strip()
        if not cashier_id or len(cashier_id) > 32 or not cashier_id.isprintable():
            raise ValueError("a cashier id is 1 to 32 printable characters")
        hashes = self._load()
        hashes[cashier_id] = hash_pin(pin)
        self._write({"cashiers": hashes})

    def _write(self, data: dict[str, object]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".cashiers.")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(data, handle, indent=2, sort_keys=True)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
