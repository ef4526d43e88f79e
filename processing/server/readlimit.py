"""A per-till limit on the read routes, so a leaked till key cannot starve the other tills.

A till's writes are bounded by the money rules, their idempotency keys and its lane of writes
in progress (:mod:`writelanes`), but its reads (identify, calculate, the snapshots and deltas,
every GET) change nothing and cost the server up to a millisecond or more of CPU each: a key
taken from a store's box could send them as fast as the network goes. So each till (its key's
row, ``TillIdentity.pk``) has a token bucket: ``burst`` reads at once, refilled at ``rate``
reads a second. A read over it is answered ``429 too_many_requests`` with ``Retry-After``
(whole seconds) by the auth middleware, before the body is read, validated or the database
touched; writes never take from it (a till draining its offline queue must never be refused).

The buckets live in the server process: with ``serve --workers N`` (or several nodes) a till
may get up to N times the rate, as its connections land on different processes. The time is
the server's clock (``ServerContext.clock``), so tests move it instead of waiting.
"""

from __future__ import annotations

import math

from processing import wire

DEFAULT_RATE = 50.0
"""Reads a second a till gets back. A cashier's till makes a read every few seconds (an identify,
a calculate per change of the cart); the bridge's register recalculates on every cart change, at
most a few a second. 50 is far above any honest till and still bounds a flood to a small share
of one server process (at about 1 ms of CPU a calculate, 5 % of a core per till)."""
DEFAULT_BURST = 100
"""Reads a till may make at once: a reconnect's catch-up (program, catalog and members delta
pages, the waiting sale's identify and calculate) fits with room to spare."""
MOST_RATE = 1_000_000.0
MOST_BURST = 1_000_000

_READ_POSTS = frozenset({f"{wire.API_PREFIX}/identify", f"{wire.API_PREFIX}/calculate"})


def is_read(method: str, path: str) -> bool:
    """Whether a till's request is a read this limit counts: identify, calculate and every GET
    (program, members and catalog deltas, and any other address: a 404 flood is a flood too)."""
    return method in ("GET", "HEAD") or (method == "POST" and path in _READ_POSTS)


class ReadLimit:
    """Token buckets of ``burst`` reads refilled at ``rate`` a second, one per till; a ``rate``
    of 0 turns the limit off. Raises ValueError (one sentence) for nonsense values.

    Used on the event loop's thread only (the auth middleware), so it takes no lock."""

    def __init__(self, rate: float = DEFAULT_RATE, burst: int = DEFAULT_BURST) -> None:
        if not (math.isfinite(rate) and 0 <= rate <= MOST_RATE):
            raise ValueError(
                f"The read rate must be a number of reads a second from 0 (off) to {MOST_RATE:.0f}."
            )
        if isinstance(burst, bool) or not isinstance(burst, int) or not 1 <= burst <= MOST_BURST:
            raise ValueError(f"The read burst must be a whole number from 1 to {MOST_BURST}.")
        self.rate = float(rate)
        self.burst = burst
        self._buckets: dict[int, tuple[float, float]] = {}
        """till pk -> (reads left, when that was counted, seconds)."""

    @property
    def on(self) -> bool:
        return self.rate > 0

    def take(self, till: int, now: float) -> int:
        """Take one read from ``till``'s bucket at ``now`` (seconds): 0 when it may go ahead,
        else the whole seconds (at least 1) until one read is back (nothing is taken)."""
        if not self.on:
            return 0
        left, at = self._buckets.get(till, (float(self.burst), now))
        if now > at:  # a clock stepping back refills nothing
            left = min(float(self.burst), left + (now - at) * self.rate)
            at = now
        if left >= 1.0:
            self._buckets[till] = (left - 1.0, at)
            return 0
        self._buckets[till] = (left, at)
        return max(1, math.ceil((1.0 - left) / self.rate))


OFF = ReadLimit(rate=0, burst=1)
"""No limit (the test servers' default: a test floods on purpose only when it says so)."""
