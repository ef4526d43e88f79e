"""Run the benchmarks: ``python -m benchmarks [--json PATH] [--only NAME] [--retries N]``.

Exit status 0 when every figure run is ok, 1 when one is not, 2 on a bad argument.

``--retries N`` measures a figure that missed its target again, up to N more times, because a
shared 2-core machine is noisy: one busy neighbour can double a median. Every attempt is printed
and kept in the JSON (``attempts``); the figure reported is the first attempt that met its
target, or the last one when none did.
"""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import sys
from collections.abc import Callable
from pathlib import Path

import benchmarks
from benchmarks.result import Result


def discover() -> dict[str, Callable[[], Result]]:
    """Every ``BENCHMARKS`` entry of every ``benchmarks/bench_*.py`` module, in name order."""
    found: dict[str, Callable[[], Result]] = {}
    for info in sorted(pkgutil.iter_modules(benchmarks.__path__), key=lambda m: m.name):
        if info.name.startswith("bench_"):
            module = importlib.import_module(f"benchmarks.{info.name}")
            found.update(module.BENCHMARKS)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--json", type=Path, help="also write the results as JSON to this path")
    parser.add_argument("--only", action="append", help="run only this benchmark (repeatable)")
    parser.add_argument(
        "--retries", type=int, default=0, help="measure a missed figure again up to N times"
    )
    args = parser.parse_args(argv)
    available = discover()
    names = args.only or list(available)
    unknown = [n for n in names if n not in available]
    if unknown:
        print(
            f"unknown benchmark: {', '.join(unknown)}; known: {', '.join(available)}",
            file=sys.stderr,
        )
        return 2
    results: list[Result] = []
    for name in names:
        result = available[name]()
        results.append(result)
        floor = "-" if result.floor is None else f"{result.floor:.6g}"
        ratio = "-" if result.ratio is None else f"{result.ratio:.2f}"
        print(
            f"{'ok  ' if result.ok else 'FAIL'} {result.name}: {result.value:.6g} {result.unit}"
            f" floor={floor} ratio={ratio} target: {result.target}",
            flush=True,
        )
    if args.json:
        args.json.write_text(json.dumps([r.as_json() for r in results], indent=2) + "\n")
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
