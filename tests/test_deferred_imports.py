"""Every import inside a function under terminal/ is listed with its reason in
:data:`terminal.DEFERRED_IMPORTS`, and the list names none that is gone."""

from __future__ import annotations

import ast
from pathlib import Path

import terminal

ROOT = Path(__file__).resolve().parent.parent


def deferred_imports(source: str) -> set[str]:
    """Modules imported inside functions of ``source``, outside ``if TYPE_CHECKING:``."""
    tree = ast.parse(source)
    typing_only = {
        id(sub)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for sub in ast.walk(node)
    }
    found: set[str] = set()
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(function):
            if id(node) in typing_only:
                continue
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                found.add("." * node.level + (node.module or ""))
    return found


def test_every_deferred_import_is_listed_with_its_reason() -> None:
    seen: dict[str, tuple[str, ...]] = {}
    for path in sorted((ROOT / "terminal").rglob("*.py")):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        found = deferred_imports(path.read_text(encoding="utf-8"))
        if found:
            seen[module] = tuple(sorted(found))
    listed = {
        module: tuple(sorted(names)) for module, (names, _) in terminal.DEFERRED_IMPORTS.items()
    }
    assert seen == listed
    assert all(reason.strip() for _, reason in terminal.DEFERRED_IMPORTS.values())


def test_the_scan_sees_a_deferred_import_and_skips_typing_ones() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    import textual\n"
        "def f():\n    from drivers import render\n    if TYPE_CHECKING:\n        import babel\n"
    )
    assert deferred_imports(source) == {"drivers"}
