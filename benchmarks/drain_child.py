"""Drain a till database in a fresh process, for ``sync_drain_10k``'s memory figure.

``python -m benchmarks.drain_child TILL_DB URL KEY`` prints one JSON line: acknowledged,
dead, conflicts, seconds, this process's CPU seconds, and the resident set size just before
the drain and at its highest during it, sampled every 2 ms from /proc/self/statm. A fresh
process means the growth is the drain's own, not what earlier figures of the same run left
behind; sampling means it is this drain's peak, not the process's lifetime high-water mark
(``ru_maxrss``).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time

from offline_cache.link import ProcessingTransport
from offline_cache.sync import SyncEngine
from processing.client import ProcessingClient

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_bytes() -> int:
    """This process's resident set size now."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


def main(till_db: str, url: str, key: str) -> None:
    with ProcessingClient(url, key) as client:
        # The product's engine as the till builds it (terminal.composition): default batch size.
        engine = SyncEngine(till_db, ProcessingTransport(client))
        before = rss_bytes()
        peak = [before]
        done = threading.Event()

        def sample() -> None:
            while not done.wait(0.002):
                peak[0] = max(peak[0], rss_bytes())

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        start, cpu = time.perf_counter(), time.process_time()
        report = engine.drain()
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        done.set()
        sampler.join()
        peak[0] = max(peak[0], rss_bytes())
    print(
        json.dumps(
            {
                "acknowledged": report.acknowledged,
                "dead": len(report.dead),
                "first_dead": report.dead[0] if report.dead else None,
                "conflicts": report.conflicts,
                "error": report.error,
                "seconds": seconds,
                "cpu_seconds": cpu,
                "batch_size": engine.batch_size,
                "rss_before_mb": before / 2**20,
                "rss_peak_mb": peak[0] / 2**20,
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main(*sys.argv[1:4])
