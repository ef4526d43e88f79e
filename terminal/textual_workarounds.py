"""Where the till works around Textual, in one place: each entry says what and why.

Remove an entry when Textual offers a public way to do the same; ``uv run mypy`` and the UI
tests fail when a private name used here changes.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from textual.binding import BindingsMap
from textual.screen import Screen

from terminal.i18n import _


def translate_bindings(node: Screen[Any]) -> None:
    """Show this screen's F-key labels in the current language.

    ``BINDINGS`` are class attributes evaluated at import, before a language is chosen, so they
    carry English marked with ``N_``. Textual has no hook to word a binding per instance, so
    each screen replaces its own copy of the map — the private ``_bindings``, which Textual
    copies from the class per instance — with translated descriptions.
    """
    translated = BindingsMap()
    for key, bindings in node._bindings.key_to_bindings.items():
        translated.key_to_bindings[key] = [
            replace(b, description=_(b.description)) if b.description else b for b in bindings
        ]
    node._bindings = translated
