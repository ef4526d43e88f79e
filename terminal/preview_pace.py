"""When the sale screen asks the server to calculate the check, and when its estimate will do.

With the customer identified first, asking the server after every scanned line cost it one
calculation a line: a 20-line check made 20 calculate requests for the one the hold needs.
The pace is a debounce with a leading edge:

- a change after a quiet spell goes to the server at once, so a typed amount, the first scan
  and a chosen spend look as they always did;
- a change within ``QUIET_S`` of the one before is a scanning burst: the screen shows the till's
  estimate (:mod:`terminal.estimate`) and asks the server once the changes stop for
  ``QUIET_S``, or at once when the cashier needs the server's figures (Enter, F2, F3).

So a cashier scanning steadily costs the server two calculations a check, not one a line.
"""

from __future__ import annotations

import time
from collections.abc import Callable

QUIET_S = 5.0
"""Seconds between changes that make them one burst. A cashier scanning a basket adds a line
every 1-4 s (20-30 items a minute, slower with produce to weigh); a gap shorter than the
quiet spell saves nothing, since every line would come after one. Meanwhile the estimate
shows, and Enter, F2 and F3 never wait for the spell to pass."""


class PreviewPace:
    """Tells, for each change to a check, whether the server calculates it now."""

    def __init__(self, quiet_s: float = QUIET_S, clock: Callable[[], float] = time.monotonic):
        self.quiet_s = quiet_s
        self._clock = clock
        self._last: float | None = None

    def change(self) -> bool:
        """A change to the check: True when it comes after a quiet spell (ask the server now),
        False inside a burst (show the estimate and ask after ``quiet_s`` of quiet)."""
        now = self._clock()
        burst = self._last is not None and now - self._last < self.quiet_s
        self._last = now
        return not burst

    def reset(self) -> None:
        """A new check: its first change goes to the server at once."""
        self._last = None
