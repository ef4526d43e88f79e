"""Where the till works around Textual, in one place: each entry says what and why.

Remove an entry when Textual offers a public way to do the same; ``uv run mypy`` and the UI
tests fail when a private name used here changes.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from textual.binding import Binding, BindingsMap
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


FOCUS_KEYS = [
    Binding("tab", "focus_next", show=False, priority=True, system=True),
    Binding("shift+tab", "focus_previous", show=False, priority=True, system=True),
]
"""Tab and Shift+Tab handled as they reach the app, before the keys behind them.

Textual hands every key to the focused widget as it arrives and runs a screen's ordinary
``tab`` binding only once that widget has let the key bubble up; by then the keys typed after
Tab are already queued for the old widget. Typed quickly ("1<Tab>1111" on the login screen),
the PIN went into the cashier field. A priority binding is run by the app on arrival, so the
focus has moved before the next key is handed out. (No till widget uses Tab itself.)
"""
