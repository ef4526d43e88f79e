"""A circuit breaker: after repeated failures the server is declared offline for a while.

While open, calls fail at once (a cashier must not wait for timeouts that will come);
after ``cooldown`` seconds one trial call is let through (half-open). A background prober
may close the breaker earlier by reporting a successful health check.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from enum import StrEnum


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """Counts consecutive failures; thread-safe; time comes from an injected monotonic clock."""

    def __init__(
        self,
        threshold: int = 3,
        cooldown: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        on_change: Callable[[BreakerState], None] | None = None,
    ) -> None:
        if threshold < 1:
            raise ValueError("threshold must be at least 1")
        self.threshold = threshold
        self.cooldown = cooldown
        self._clock = clock
        self._on_change = on_change
        self._lock = threading.Lock()
        self._failures = 0
        self._state = BreakerState.CLOSED
        self._opened_at = 0.0
        self._trial_in_flight = False

    @property
    def state(self) -> BreakerState:
        """The current state, moving OPEN to HALF_OPEN once the cooldown has passed."""
        with self._lock:
            return self._current()

    def _current(self) -> BreakerState:
        if self._state is BreakerState.OPEN and self._clock() - self._opened_at >= self.cooldown:
            self._state = BreakerState.HALF_OPEN
            self._trial_in_flight = False
        return self._state

    def allow(self) -> bool:
        """True when a call may go to the network now (one trial at a time when half-open)."""
        with self._lock:
            state = self._current()
            if state is BreakerState.CLOSED:
                return True
            if state is BreakerState.HALF_OPEN and not self._trial_in_flight:
                self._trial_in_flight = True
                return True
            return False

    def record_success(self) -> None:
        """The server answered: close the breaker."""
        self._set(BreakerState.CLOSED, failures=0)

    def record_failure(self) -> None:
        """The server did not answer usefully; open after ``threshold`` in a row."""
        with self._lock:
            self._failures += 1
            state = self._current()
            should_open = state is BreakerState.HALF_OPEN or self._failures >= self.threshold
        if should_open:
            self._set(BreakerState.OPEN, failures=self._failures)

    def _set(self, state: BreakerState, failures: int) -> None:
        with self._lock:
            changed = self._state is not state
            self._state = state
            self._failures = failures
            self._trial_in_flight = False
            if state is BreakerState.OPEN:
                self._opened_at = self._clock()
        if changed and self._on_change is not None:
            self._on_change(state)
