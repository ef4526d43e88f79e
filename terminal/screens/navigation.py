"""Screens reachable from the sale screen's F-keys, built by name (imported on first use)."""

from __future__ import annotations

import importlib

from terminal.screens.base import TillScreen

SCREENS = {
    "register": "terminal.screens.registration:RegistrationScreen",
    "returns": "terminal.screens.returns:ReturnsScreen",
    "history": "terminal.screens.history:HistoryScreen",
    "sync": "terminal.screens.sync:SyncScreen",
    "shift": "terminal.screens.shift:ShiftScreen",
    "admin": "terminal.screens.admin:AdminScreen",
}


def make_screen(name: str) -> TillScreen:
    """A new instance of the screen called ``name``; raises KeyError for an unknown one."""
    module_name, attr = SCREENS[name].split(":")
    screen = getattr(importlib.import_module(module_name), attr)()
    assert isinstance(screen, TillScreen)
    return screen
