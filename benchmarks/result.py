"""The one record every benchmark returns, matching the JSON contract in PRODUCT.md."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Result:
    """One figure: ``ratio = value / floor``; ``floor`` is None where a figure has no floor."""

    name: str
    value: float
    unit: str
    floor: float | None
    ratio: float | None
    target: str
    ok: bool
    extra: dict[str, Any] | None = None

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        if data["extra"] is None:
            del data["extra"]
        return data


def ratio_result(
    name: str,
    value: float,
    floor: float,
    unit: str,
    target: str,
    max_ratio: float,
    extra: dict[str, Any] | None = None,
) -> Result:
    """A figure judged by its ratio to a floor measured in the same run."""
    ratio = value / floor if floor > 0 else float("inf")
    return Result(name, value, unit, floor, ratio, target, ratio <= max_ratio, extra)


def timings(fn: Callable[[], object], repeat: int, warmup: int = 3) -> list[float]:
    """Wall-clock seconds of ``repeat`` calls of ``fn`` after ``warmup`` discarded calls."""
    for _ in range(warmup):
        fn()
    out: list[float] = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def median(values: list[float]) -> float:
    return statistics.median(values)


def percentile(values: list[float], pct: float) -> float:
    """The ``pct`` percentile (0-100) by nearest rank; good enough for p99 of a few thousand."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))
    return ordered[index]
