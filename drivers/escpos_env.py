"""Import python-escpos lazily, with till's capabilities file and a fixed pickle directory.

python-escpos reads ``ESCPOS_CAPABILITIES_FILE`` and ``ESCPOS_CAPABILITIES_PICKLE_DIR`` once, at
import. till ships ``drivers/capabilities.json``: the stock escpos-printer-db file of
python-escpos 3.1 with two changes —

* ``RK1048`` gets ``"python_encode": "kz1048"``, so Kazakh Ә Ғ Қ Ң Ө Ұ Ү Һ І are encoded in slot
  53 instead of becoming ``?``;
* the ``default`` profile gets a paper width (80 mm, 512 dots, 180 dpi), because without one
  python-escpos prints a warning to stdout when an image is placed, and stdout belongs to the UI.

Without a fixed pickle directory every import makes a new ``mkdtemp()``; the directory is keyed
by the file's content hash because python-escpos reuses any pickle newer than the JSON.

Importing escpos costs about 0.2 s (it pulls in PIL, qrcode and python-barcode), so nothing in
``drivers`` imports it at module level: call :func:`escpos_printer_module` when it is needed.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
import tempfile
import threading
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

_lock = threading.Lock()


def capabilities_path() -> Path:
    """The capabilities JSON shipped in the ``drivers`` package."""
    return Path(str(resources.files("drivers") / "capabilities.json"))


def _pickle_dir(capabilities: Path) -> Path:
    digest = hashlib.sha256(capabilities.read_bytes()).hexdigest()[:16]
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    candidate = Path(base) / "till" / f"escpos-{digest}"
    try:
        candidate.mkdir(parents=True, exist_ok=True)
        return candidate
    except OSError:
        # A read-only home (kiosk images) still has a writable temp directory.
        fallback = Path(tempfile.gettempdir()) / f"till-escpos-{os.getuid()}-{digest}"
        fallback.mkdir(parents=True, exist_ok=True)
        return fallback


def _patch_loaded_capabilities(capabilities: dict[str, Any]) -> None:
    """Apply till's two changes to a capabilities dict that was loaded from another file."""
    encodings = capabilities["encodings"]
    encodings["RK1048"]["python_encode"] = "kz1048"
    media = capabilities["profiles"]["default"].setdefault("media", {})
    if media.get("width", {}).get("pixels") in (None, "Unknown"):
        media["dpi"] = 180
        media["width"] = {"mm": 80, "pixels": 512}


@cache
def _configured() -> Any:
    with _lock:
        preloaded = "escpos.capabilities" in sys.modules
        if not preloaded:
            path = capabilities_path()
            os.environ.setdefault("ESCPOS_CAPABILITIES_FILE", str(path))
            os.environ.setdefault("ESCPOS_CAPABILITIES_PICKLE_DIR", str(_pickle_dir(path)))
        root = logging.getLogger()
        handlers_before = list(root.handlers)
        import escpos.capabilities as caps  # lazy on purpose, see the module docstring

        # escpos.capabilities calls logging.basicConfig() at import, which puts a stderr
        # handler on the root logger of an app that configured none; the app decides logging.
        for handler in root.handlers[:]:
            if handler not in handlers_before:
                root.removeHandler(handler)

        if caps.CAPABILITIES["encodings"]["RK1048"].get("python_encode") != "kz1048":
            # escpos was imported before us (or the env named another file): patch in memory,
            # which also reaches CodePages because it shares the same dict.
            log.info("python-escpos loaded other capabilities; applying till's kz1048 fix")
            _patch_loaded_capabilities(caps.CAPABILITIES)
        return caps


def escpos_capabilities() -> Any:
    """The configured ``escpos.capabilities`` module (imports python-escpos on first use)."""
    return _configured()


def escpos_printer_module() -> Any:
    """``escpos.printer`` after the capabilities are configured."""
    _configured()
    import escpos.printer  # lazy on purpose

    return escpos.printer


def profile_data(profile: str) -> dict[str, Any]:
    """The raw capabilities entry of ``profile``; raises ``KeyError`` when it does not exist."""
    profiles: dict[str, Any] = _configured().CAPABILITIES["profiles"]
    data: dict[str, Any] = profiles[profile]
    return data


def profile_names() -> list[str]:
    """Every profile name in till's capabilities file, sorted."""
    return sorted(_configured().CAPABILITIES["profiles"])
