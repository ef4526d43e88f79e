"""Loyalty core figures: how long a till's preview of a 30-line check costs the server."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from benchmarks.result import Result, median, p50_p99, percentile
from loyalty.check import Line, MemberState, MemberView
from loyalty.program import Program, Promotion, PromotionKind, demo_program

REPEAT = 2000
P99_BUDGET_MS = 1.6
P50_BUDGET_MS = 1.0
GOAL_MS = 0.3
RATIO_TARGET = 4.0
"""Median CPU of the preview over the stdlib writing the same answer (2.5-2.8 measured)."""
"""Issue #13's goal for the median, not yet reached on this box (see the docstring below)."""


def _program() -> Program:
    # The demo program plus a category bonus and a check bonus, so every promotion kind runs.
    demo = demo_program()
    extra = (
        Promotion(
            "dairy",
            "Dairy +2 %",
            PromotionKind.CATEGORY_BONUS,
            date(2027, 1, 1),
            date(2027, 1, 31),
            categories=("dairy",),
            extra_rate_percent=Decimal("2"),
        ),
        Promotion(
            "coffee",
            "Coffee +10 per pack",
            PromotionKind.PRODUCT_BONUS,
            date(2027, 1, 1),
            date(2027, 1, 31),
            skus=("sku-3",),
            points_per_unit=Decimal("10"),
        ),
        Promotion(
            "big",
            "Big check",
            PromotionKind.CHECK_BONUS,
            date(2027, 1, 1),
            date(2027, 1, 31),
            threshold=Decimal("3000"),
            bonus_points=Decimal("100"),
        ),
    )
    return dataclasses.replace(demo, promotions=demo.promotions + extra)


def _lines() -> list[Line]:
    categories = ["grocery", "dairy", "tobacco", "bakery", "coffee"]
    return [
        Line(
            sku=f"sku-{i}",
            name=f"Item {i}",
            category=categories[i % len(categories)],
            quantity=Decimal(1 + i % 3) if i % 4 else Decimal("0.735"),
            unit_price=Decimal(f"{49 + i * 37}.{i * 7 % 100:02d}"),
            discounted=i % 7 == 0,
        )
        for i in range(30)
    ]


def calc_check_30_lines() -> Result:
    """The preview path of a 30-line check: what the server does for a till's preview once it
    has read the member and the catalog — the core calculation (x2, category, product and
    check bonuses, birthday, spend with per-line caps) and the answer the route sends
    (``pricing.answer_json``: the protocol's answer with the core's full record, and the
    fingerprint, as JSON text; then its UTF-8 bytes). Reading the member and the catalog is left
    out (that is SQLite's work, measured by ``identify_rtt`` and ``server_throughput``); so is
    building the core's lines from the wire (``pricing.core_lines``), which the core's speed-ups
    did not move work into: a line carries nothing precomputed, and the program's compiled rules
    (``Program.compiled``) are per program snapshot, which the server keeps per process.

    Value: the median CPU time of that path (``time.thread_time``: a neighbour taking the core
    away from it does not count, cache and frequency effects do), over 2 000 runs; its p99 and
    wall p50/p99 are reported beside it. Floor, measured interleaved run for run: the very
    same answer bytes (asserted equal) written by the standard library, ``json.dumps`` of the
    answer's parsed objects with its C encoder, i.e. what writing this answer costs the bare
    library when nothing has to be worked out; the product's path does that writing and the
    whole calculation. Both are CPU-bound Python and C in one thread, so the box's regimes move
    them together: with two CPU hogs beside it the medians went from 277/103 us to 411/158 us
    and the ratio stayed 2.5-2.8 (2026-12-07). Target: ratio <= 4.0, so a path twice as slow
    (5.4) misses in any regime, and as a backstop the absolute budgets, median CPU <= 1.0 ms
    and p99 CPU <= 1.6 ms. (An older floor, 30 Decimal multiply-adds, was 1/100 of the value,
    so its 300x target let a 2x regression through; the budgets alone let one through in the
    fast regime, see below.)

    Measured on this 2-core VM with other engineers' test suites running (load average
    2.5-3.3), main (c42f3ab) and this code interleaved run for run, 9 pairs of 2 000 previews:
    before, median 0.65-1.19 ms and p99 1.25-1.79 ms; after (the core in integer hundredths,
    promotions split once per program, record and fingerprint in one pass, answer models filled
    directly), median 0.32-0.56 ms and p99 0.63-0.96 ms. The box runs in two regimes (the same
    code gives 0.65 or 1.15 ms before, 0.33 or 0.56 ms after; by all appearances a neighbour on
    the same physical core), and after/before is about 0.5 in both. The budgets leave the slow
    regime room (a whole CI run measured 0.60 ms there; 0.65 ms, tried first, was within 10 %
    of it and would have failed CI on a busier moment): a path twice as slow misses the median
    budget in the slow regime (1.04 ms and up) and the p99 budget in either (twice the fast
    regime's p99 0.63-0.96 ms is 1.3-1.9 ms); twice as slow in the fast regime alone (0.66 ms)
    would pass the median budget, which is why the ratio to the floor is the first gate now:
    this path run twice over measured 0.56 ms against a 0.11 ms floor, ratio 5.2, and missed.

    The median budget was 0.8 ms until a fresh-clone CI run (2026-12-08, session 11, no change
    to this path) found the box slower still: the floor, bare ``json.dumps``, read 0.22-0.33 ms
    against its usual 0.18, the value 0.61-0.87 ms, and two of five attempts missed 0.8 ms while
    the ratio stayed 2.57-2.75. A budget the box's neighbours can break measures them; at 1.0
    ms a path twice as slow still misses the median budget in that regime (1.2 ms and up), and
    the ratio catches it in any.

    The issue's goal, 0.3 ms, is met in the fast regime only: median 0.26-0.27 ms, p99 0.32-0.34
    ms, against 0.30 ms and 0.34-0.39 ms for the session-4 code (521a37d, which wrote the answer
    through pydantic models) measured right after it (2026-12-07). In the slow regime the same
    day, before the answer was written by hand, main measured 0.56-0.58 ms. Where it goes (fast
    regime, medians): the core calculation 118 us (the per-line earn loop about 65), the
    record's JSON text and the fingerprint's canonical text 110 us (270 numbers written, each
    also in canonical form), the rest of the answer's text 20 us.

    Counted in instructions, which this box's neighbours cannot move (callgrind, 400 previews
    less none, 2026-12-07): 3.76 M a preview, of which the core 1.52 M and the writing 2.24 M;
    the fingerprint's canonical lines alone are 0.85 M (22 %). Tried and measured that way, and
    dropped: keeping each number's canonical form per check (3.80 M, more), and reading it off
    inline rather than by a call (no change). Writing each line's earn, spend and cap once for
    the record and the answer took 3.86 M to 3.76 M. The canonical lines are the one large
    part left, and they are what the fingerprint is: a fingerprint of fewer things would be a
    weaker check that a hold still matches what the customer was shown.
    """
    from processing.server import pricing

    program = _program()
    lines = _lines()
    member = MemberView(
        "100042", MemberState.ACTIVE, Decimal("20000"), date(1990, 1, 6), Decimal("5000")
    )
    zone = timezone(timedelta(hours=3))
    now = int(datetime(2027, 1, 5, 12, tzinfo=zone).timestamp())  # x2 and birthday on
    requested = Decimal("1500")

    def preview() -> bytes:
        calc = pricing.run(program, lines, member, requested, ["SPRING2026"], now, zone)
        return pricing.answer_json("bench-check", calc)[0].encode()

    check = pricing.run(program, lines, member, requested, ["SPRING2026"], now, zone)
    assert check.promotions and check.spend_applied > 0 and check.birthday  # a full check
    assert len(check.lines) == 30 and b'"fingerprint"' in preview()
    for _ in range(50):
        preview()
    answer = json.loads(preview())

    def floor() -> bytes:
        return json.dumps(answer, ensure_ascii=False, separators=(",", ":")).encode()

    assert floor() == preview()  # the same bytes, so the same writing work
    for _ in range(50):
        floor()
    cpu: list[float] = []
    wall: list[float] = []
    floor_cpu: list[float] = []
    for _ in range(REPEAT):
        c0, w0 = time.thread_time(), time.perf_counter()
        preview()
        w1, c1 = time.perf_counter(), time.thread_time()
        floor()
        c2 = time.thread_time()
        cpu.append(c1 - c0)
        wall.append(w1 - w0)
        floor_cpu.append(c2 - c1)
    p99_cpu, p50_cpu = percentile(cpu, 99) * 1000, median(cpu) * 1000
    p50_floor = median(floor_cpu) * 1000
    ratio = p50_cpu / p50_floor
    score = max(p99_cpu / P99_BUDGET_MS, p50_cpu / P50_BUDGET_MS, ratio / RATIO_TARGET)
    return Result(
        "calc_check_30_lines",
        p50_cpu,
        "ms",
        p50_floor,
        ratio,
        f"median CPU <= {RATIO_TARGET} x json.dumps writing the same answer bytes, p99 CPU <="
        f" {P99_BUDGET_MS} ms and median CPU <= {P50_BUDGET_MS} ms for calculation + fingerprint"
        f" + the answer's JSON of a 30-line check (a 2x slower path misses; goal {GOAL_MS} ms)",
        score <= 1,
        {
            "p50": round(p50_cpu, 4),
            "p99": round(p99_cpu, 4),
            "wall_ms": p50_p99(wall),
            "cpu_ms": p50_p99(cpu),
            "floor_cpu_ms": p50_p99(floor_cpu),
            "later_goal_ms": GOAL_MS,
        },
        score,
    )


BENCHMARKS: dict[str, Callable[[], Result]] = {"calc_check_30_lines": calc_check_30_lines}
