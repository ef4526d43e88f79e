"""No test module imports another test module: shared set-up is a fixture (tests/conftest.py)
or a helper in tests/support/, so running one test file never runs (or re-collects) another."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def imported_test_modules(source: str) -> set[str]:
    """The ``tests.test_*`` modules (and ``test_*`` siblings) that ``source`` imports."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            names = [base] + [f"{base}.{alias.name}".lstrip(".") for alias in node.names]
        for name in names:
            parts = name.split(".")
            if any(part.startswith("test_") for part in parts if part != "tests"):
                found.add(name)
    return found


def test_no_test_module_imports_another() -> None:
    offenders = {
        path.relative_to(TESTS).as_posix(): sorted(imported_test_modules(path.read_text()))
        for path in sorted(TESTS.rglob("*.py"))
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_the_check_sees_such_an_import() -> None:
    assert imported_test_modules("from tests.test_ui_sale import wait_printed\n") == {
        "tests.test_ui_sale",
        "tests.test_ui_sale.wait_printed",
    }
    assert imported_test_modules("import tests.test_bridge\n") == {"tests.test_bridge"}
    assert imported_test_modules("from tests.support.ui import settle\n") == set()
