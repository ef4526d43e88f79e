"""The terminal's one error type for the cashier, importable without the heavy adapters."""

from __future__ import annotations


class TillError(Exception):
    """A failure the cashier can act on; ``str()`` is one sentence for the status area."""
