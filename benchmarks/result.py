"""The one record every benchmark returns, matching the JSON contract in PRODUCT.md, and the
small measuring helpers the benchmarks share."""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
"""The repository root: where ``config.toml`` puts the till's database (``till.sqlite3``) and
where ``till processing serve`` is run from, so the disk the product's data lives on."""


@dataclass(frozen=True)
class Result:
    """One figure: ``ratio = value / floor``; ``floor`` is None where a figure has no floor.

    ``score`` is the tightest gated criterion as measured / limit (a higher-is-better figure
    as limit / measured): at most 1 meets every target; the runner takes the median attempt
    by it. ``broken`` is a failure no retry may excuse (wrong output, a failed request, an
    unbalanced ledger): noise cannot cause it, so the runner never measures it again.
    """

    name: str
    value: float
    unit: str
    floor: float | None
    ratio: float | None
    target: str
    ok: bool
    extra: dict[str, Any] | None = None
    score: float | None = None
    broken: bool = False

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        # Extra keys (p50, p99, …) sit beside the contract's keys, as PRODUCT.md allows.
        extra = data.pop("extra") or {}
        data.update({k: v for k, v in extra.items() if k not in data})
        return data


def ratio_result(
    name: str,
    value: float,
    floor: float,
    unit: str,
    target: str,
    max_ratio: float,
    extra: dict[str, Any] | None = None,
    *,
    also: dict[str, tuple[float, float]] | None = None,
) -> Result:
    """A figure judged by its ratio to a floor measured in the same run; ``also`` names more
    gated criteria as (measured, limit), e.g. a p99 ratio, all of which must hold."""
    ratio = value / floor if floor > 0 else float("inf")
    scores = [ratio / max_ratio] + [m / lim for m, lim in (also or {}).values()]
    score = max(scores)
    return Result(name, value, unit, floor, ratio, target, score <= 1, extra, score)


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


def interleaved(
    value: Callable[[], object], floor: Callable[[], object], repeat: int, warmup: int = 10
) -> tuple[list[float], list[float]]:
    """Wall-clock seconds of ``repeat`` calls of each, alternating call by call, so a burst of
    load from a neighbour on this shared box lands on both figures alike."""
    for _ in range(warmup):
        floor()
        value()
    values: list[float] = []
    floors: list[float] = []
    clock = time.perf_counter
    for n in range(repeat):
        # Alternate which goes first, so neither always runs on a cache the other warmed.
        pair = ((floor, floors), (value, values)) if n % 2 else ((value, values), (floor, floors))
        for fn, out in pair:
            start = clock()
            fn()
            out.append(clock() - start)
    return values, floors


def median(values: list[float]) -> float:
    return statistics.median(values)


def percentile(values: list[float], pct: float) -> float:
    """The ``pct`` percentile (0-100) by nearest rank; good enough for p99 of a few thousand."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))
    return ordered[index]


def p50_p99(values: list[float], scale: float = 1000.0, digits: int = 4) -> dict[str, float]:
    """``{"p50": …, "p99": …}`` of ``values`` times ``scale`` (seconds → ms by default)."""
    return {
        "p50": round(median(values) * scale, digits),
        "p99": round(percentile(values, 99) * scale, digits),
    }


def scratch() -> tempfile.TemporaryDirectory[str]:
    """A temporary directory on the disk the product's data lives on (beside the repository,
    not in /tmp, which may be a RAM disk and would flatter every figure that writes)."""
    return tempfile.TemporaryDirectory(dir=ROOT, prefix=".bench-")
