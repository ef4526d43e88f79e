"""The headless packages never pull in Textual, whatever the import-linter contracts miss.

Every module of loyalty, offline_cache, drivers and the client half of processing is imported in
a fresh interpreter, then ``sys.modules`` is checked.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = r"""
import importlib, pkgutil, sys
imported = []
for package_name in ("loyalty", "processing", "offline_cache", "drivers"):
    package = importlib.import_module(package_name)
    imported.append(package_name)
    for info in pkgutil.walk_packages(package.__path__, prefix=package_name + "."):
        if info.name.startswith("processing.server"):
            continue  # the server half may use anything; the till never imports it
        importlib.import_module(info.name)
        imported.append(info.name)
leaked = sorted(name for name in sys.modules if name == "textual" or name.startswith("textual."))
print(len(imported))
print(",".join(leaked))
"""


def test_headless_packages_never_import_textual() -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr
    count, leaked = result.stdout.splitlines()
    assert int(count) >= 4
    assert leaked == "", f"textual leaked into headless code: {leaked}"
