"""UI figures: ``tui_cold_start`` and ``scan_to_panel``, each a ratio to a floor of the same run.

Each figure's docstring says what its value and floor are and why they are the same work.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from benchmarks.result import ROOT, Result, median, p50_p99, ratio_result, scratch

COLD_RUNS = 3
WARM_RUNS = 7
SCANS = 101  # a scan costs ~10 ms; more of them steady the median on a shared box
CASHIER_PACE_S = (0.03, 0.06)
"""A random pause before each scan. Scanning the instant the last paint ended would make every
scan wait out most of a frame of Textual's 60 fps timer (it sleeps to the next frame after a
paint); a cashier scans at any moment, long after the last frame, when an update is painted
at once. The same pauses come before the floor's scans."""
ANNA = "+79161234567"
CACHED_MEMBERS = 450_000
"""Members in the realistic till.db: a chain of the size the product comes from."""
PAST_CHECKS = 3000

MINIMAL_APP = """
import sqlite3, sys, threading, time
from textual.app import App
from textual.widgets import Footer, Static

class Minimal(App[None]):
    def compose(self):
        yield Static("till")
        yield Footer()

async def first_frame(pilot):
    print(f"first-frame {time.time()}", flush=True)
    db = sqlite3.connect(sys.argv[1])
    db.execute("SELECT count(*) FROM sqlite_master").fetchone()
    thread = threading.Thread(target=lambda: None)
    thread.start()
    thread.join()
    print(f"usable {time.time()} ok", flush=True)
    db.close()
    pilot.app.exit()

Minimal().run(headless=True, auto_pilot=first_frame)
"""


def _startup(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Seconds from spawning ``argv`` to its ``first-frame`` and to its ``usable`` line."""
    start = time.time()
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, cwd=ROOT, text=True
    )
    first = None
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            word, stamp, *rest = line.split()
            if word == "first-frame":
                first = float(stamp) - start
            elif word == "usable":
                if rest != ["ok"] or first is None:
                    raise RuntimeError(f"{argv[:3]} did not become usable: {line.strip()}")
                return first, float(stamp) - start
        raise RuntimeError(f"{argv[:3]} never became usable")
    finally:
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _realistic_till_db(path: Path) -> None:
    """A till database as a busy till has it: the chain's members cached with their payload,
    and a few thousand past checks with their outbox records and audit rows, all checkpointed."""
    from benchmarks.bench_offline import fill_member_cache, offline_check
    from offline_cache.checks import commit_check
    from offline_cache.db import open_database
    from offline_cache.txn import write_transaction

    db = open_database(path)
    fill_member_cache(db, CACHED_MEMBERS)
    with write_transaction(db):
        for i in range(PAST_CHECKS):
            commit_check(db, offline_check(str(uuid.uuid4()), f"{100000 + i * 97}", i % 3))
    db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()


def _cold_files(till_db: Path) -> list[Path]:
    """Every file a till start may read that a reboot would leave out of the page cache."""
    roots = {Path(sys.prefix), Path(sys.base_prefix) / "lib", ROOT}
    files = [till_db]
    for root in roots:
        for folder, _, names in os.walk(root):
            if "/.git" in folder or "/.bench-" in folder:
                continue
            files.extend(Path(folder, name) for name in names)
    return files


def drop_page_cache(files: list[Path]) -> str:
    """Empty the OS page cache as a reboot would; returns how it was done, in words.

    Writes to /proc/sys/vm/drop_caches where this process may (root, not in a locked-down
    container); otherwise evicts ``files`` one by one with posix_fadvise(DONTNEED), which needs
    no privilege but leaves shared system libraries (libc, libpython) cached.
    """
    os.sync()  # only clean pages can be dropped
    try:
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("1\n")
        return "OS page cache dropped (vm.drop_caches=1)"
    except OSError:
        pass
    for path in files:
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            continue
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)
    return (
        "drop_caches not permitted: the till's files (its database, the repository, the"
        " virtualenv and the standard library) evicted with posix_fadvise(DONTNEED); system"
        " libraries may still be cached"
    )


def bench_tui_cold_start() -> Result:
    """``till run`` from spawn until the till is usable, against a minimal Textual app.

    Value: ``till run`` as a whole process (headless, ``TILL_FIRST_FRAME_PROBE``) on a
    realistic till.db (450 000 cached members with their payload, 3 000 past checks with their
    outbox and audit rows), from spawn until it is usable: its services built, the database
    open, the scanner, printer and sync started (the probe waits for the services worker).
    The processing server is unreachable, as on a till that starts before the network.
    Floor: a minimal Textual app started the same way that, after its first frame, opens the
    same database file, runs one query and starts a thread: the least a usable till does.
    Warm: the files in the OS page cache (a restart). Cold: after emptying the page cache
    (:func:`drop_page_cache` says how; the JSON records it), as after a reboot, measured
    ``COLD_RUNS`` times and reported beside the warm figure (not gated: it measures this box's
    disk as much as the till). Measured here with others loading the box: usable in 1.5-3.7 s
    against a floor of 0.6-1.2 s (ratio ~2.5-3.1; the first frame comes at ~0.6-1.5 s, the
    services take ~0.9 s after it, whatever the database's size); cold ~0.4 s more than warm
    (this VM's virtual disk is itself cached by its host, so a real till's cold start after a
    power cut is likely slower). Target: warm median ratio
    <= 4 and the slowest warm run <= 5x the slowest floor run; a till whose time above the
    floor doubled (ratio ~5) misses it.
    """
    with scratch() as tmp:
        till_db = Path(tmp) / "till.sqlite3"
        _realistic_till_db(till_db)
        config = Path(tmp) / "config.toml"
        config.write_text(
            '[processing]\nurl = "http://127.0.0.1:9"\napi_key = "bench"\n'
            f'[offline]\ndb_path = "{till_db}"\n',
            encoding="utf-8",
        )
        env = {**os.environ, "TILL_FIRST_FRAME_PROBE": "1"}
        till = [sys.executable, "-m", "terminal", "run", "--config", str(config)]
        minimal = [sys.executable, "-c", MINIMAL_APP, str(till_db)]
        _startup(till, env)  # warm the OS file cache and bytecode
        _startup(minimal, env)
        till_times: list[tuple[float, float]] = []
        floor_times: list[tuple[float, float]] = []
        files = _cold_files(till_db)
        cold: list[tuple[float, float]] = []
        method = ""
        # Interleaved, so load on the box hits every figure alike. A cold run comes first in
        # its round: it reads everything back in, so the floor and warm runs after it are warm.
        for n in range(WARM_RUNS):
            if n < COLD_RUNS:
                method = drop_page_cache(files)
                cold.append(_startup(till, env))
            floor_times.append(_startup(minimal, env))
            till_times.append(_startup(till, env))
    usable = [u for _, u in till_times]
    floor = [u for _, u in floor_times]
    p99_ratio = max(usable) / max(floor)
    return ratio_result(
        "tui_cold_start",
        median(usable),
        median(floor),
        "s",
        "warm median <= 4 x and slowest <= 5 x a minimal Textual app that opens the same"
        " database, spawn to usable (realistic till.db); cold figure reported beside it",
        4.0,
        {
            "p50": round(median(usable), 4),
            "p99": round(max(usable), 4),
            "floor_p50": round(median(floor), 4),
            "floor_p99": round(max(floor), 4),
            "first_frame": p50_p99([f for f, _ in till_times], scale=1),
            "cold_usable": p50_p99([u for _, u in cold], scale=1),
            "cold_first_frame": p50_p99([f for f, _ in cold], scale=1),
            "cold_means": method,
            "warm_runs": WARM_RUNS,
            "cold_runs": COLD_RUNS,
            "p99_is": f"the slowest of {WARM_RUNS} runs",
        },
        also={"slowest ratio": (p99_ratio, 5.0)},
    )


class _PaintStamps:
    """When each awaited paint happened: stamped by ``call_after_refresh``, so after Textual
    painted the change on its own frame timer. The harness never forces a repaint (that would
    take the frame wait out of the figure, and charge the harness's walk of the screen to it)."""

    def __init__(self) -> None:
        self._stamps: asyncio.Queue[float] = asyncio.Queue()

    def stamp(self) -> None:
        self._stamps.put_nowait(time.perf_counter())

    async def next(self) -> float:
        try:
            return await asyncio.wait_for(self._stamps.get(), timeout=10)
        except TimeoutError:
            raise RuntimeError("the panel was never painted") from None


class _BareRoundTrip:
    """The identify request's bytes over a plain keep-alive connection (http.client) to the
    bare ASGI floor server: the least a round trip to any server costs, without the till's
    client (httpx, pydantic) or the product server's work."""

    def __init__(self, url: str, key: str) -> None:
        import http.client

        host, port = url.removeprefix("http://").rsplit(":", 1)
        self._conn = http.client.HTTPConnection(host, int(port))
        self._body = json.dumps(
            {"kind": "auto", "value": ANNA, "entry": "scanned", "region": "RU"}
        ).encode()
        self._headers = {
            "Authorization": f"Bearer {key}",
            "Content-Type": "application/json",
            "Accept": "application/json",
        }

    def once(self) -> float:
        start = time.perf_counter()
        self._conn.request("POST", "/v1/identify", self._body, self._headers)
        answer = self._conn.getresponse()
        answer.read()
        took = time.perf_counter() - start
        if answer.status != 200:
            raise RuntimeError(f"the bare floor server answered {answer.status}")
        return took

    def close(self) -> None:
        self._conn.close()


async def _scan_to_panel(
    server: Any, tmp: Path, bare: _BareRoundTrip
) -> tuple[list[float], list[float]]:
    from terminal.config import Settings
    from terminal.launch import build_till_app
    from terminal.pty_scanner import PtyScanner
    from terminal.widgets.customer_panel import CustomerPanel

    scanner = PtyScanner()
    settings = Settings(
        till={"store_id": "S1", "till_id": "T1", "language": "en"},
        processing={"url": server.url, "api_key": server.api_key},
        scanner={"kind": "serial", "port": scanner.port, "suffix": "cr"},
        printer={"kind": "none"},
        offline={"db_path": str(tmp / "till.sqlite3")},
    )
    app = build_till_app(settings, None, start_cashier="1")
    feed = os.open(scanner.feed_path, os.O_WRONLY | os.O_NOCTTY)
    values: list[float] = []
    round_trips: list[float] = []
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            for _ in range(200):
                await pilot.pause(0.02)
                if app.screen.query(CustomerPanel):
                    break
            await pilot.pause(0.3)  # the serial reader has opened the pty
            panel = app.screen.query_one(CustomerPanel)
            painted = _PaintStamps()
            show = panel.show

            def show_and_stamp(member: Any) -> None:
                # The figure ends when the panel with the member has been painted.
                show(member)
                panel.call_after_refresh(painted.stamp)

            panel.show = show_and_stamp  # type: ignore[method-assign]
            pace = random.Random(5)
            for _ in range(SCANS):
                await asyncio.sleep(pace.uniform(*CASHIER_PACE_S))
                start = time.perf_counter()
                os.write(feed, ANNA.encode() + b"\r")
                values.append(await painted.next() - start)
                round_trips.append(bare.once())  # interleaved with the scans
    finally:
        os.close(feed)
        scanner.close()
    return values, round_trips


async def _pty_to_paint_floor() -> list[float]:
    """A pty read on a thread, post_message, a Static updated and painted: the bare minimum."""
    import threading

    from textual.app import App, ComposeResult
    from textual.message import Message
    from textual.widgets import Static

    from terminal.pty_scanner import PtyScanner

    class Got(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class Floor(App[None]):
        def __init__(self) -> None:
            super().__init__()
            self.painted = _PaintStamps()

        def compose(self) -> ComposeResult:
            yield Static("", id="panel")

        def on_mount(self) -> None:
            sys.setswitchinterval(0.001)  # the interpreter setting the till runs with

        def on_got(self, message: Got) -> None:
            self.query_one(Static).update(message.text)
            self.call_after_refresh(self.painted.stamp)

    scanner = PtyScanner()
    app = Floor()
    stop = threading.Event()
    reader_fd = os.open(scanner.port, os.O_RDONLY | os.O_NOCTTY)

    def read() -> None:
        buffer = b""
        while not stop.is_set():
            try:
                chunk = os.read(reader_fd, 64)
            except OSError:  # EIO once the pty is closed under it at the end
                return
            buffer += chunk
            while b"\r" in buffer:
                code, _, buffer = buffer.partition(b"\r")
                app.post_message(Got(code.decode()))

    feed = os.open(scanner.feed_path, os.O_WRONLY | os.O_NOCTTY)
    times: list[float] = []
    try:
        async with app.run_test(size=(120, 40)):
            threading.Thread(target=read, daemon=True).start()
            pace = random.Random(5)
            for n in range(SCANS):
                await asyncio.sleep(pace.uniform(*CASHIER_PACE_S))
                code = f"{ANNA}{n}"
                start = time.perf_counter()
                os.write(feed, code.encode() + b"\r")
                times.append(await app.painted.next() - start)
    finally:
        stop.set()
        os.write(feed, b"\r")
        os.close(feed)
        os.close(reader_fd)
        scanner.close()
    return times


def bench_scan_to_panel() -> Result:
    """A scanned phone until the member panel with that member has been painted.

    Value: a code written to a pty until the till's ``CustomerPanel`` shows the member and
    Textual has painted it on its own frame timer (no repaint forced by the harness), with the
    server in its own process on loopback, as for a real till (in the till's process its
    request handling would compete with the UI for the interpreter lock). Floor, the same
    three steps with nothing of the product in them, measured in the same run: a pty read on a
    thread, ``post_message`` and a ``Static`` updated and painted on the same frame timer
    (before and after the till, so a burst of load weighs on both), plus a bare round trip —
    the identify request's bytes over http.client to a bare ASGI app on the product's uvicorn
    setup (``benchmarks.bare_asgi``), interleaved with the scans. What the till adds above it
    is its scanner framing, classification, the till's client (httpx + pydantic), the server's
    own work and the screen's update. Scans come at a cashier's pace (``CASHIER_PACE_S``), not
    the instant the last paint ended. ``above_floor_ms`` is what the till adds, in ms.
    Measured here: ~8 ms against a ~2.8 ms floor (ratio ~2.9, ~5 ms above it) while others
    loaded the box. Target: median ratio <= 4.5, which a till path twice as slow above the
    floor (ratio ~4.8) misses.
    """
    from types import SimpleNamespace

    from benchmarks.bench_processing import bare_server
    from processing.server.testing import running_server, server_process

    default_switch = sys.getswitchinterval()
    with scratch() as tmp:
        db = Path(tmp) / "p.sqlite3"
        with running_server(db) as seeded:  # seeds the demo members and makes a till key
            api_key = seeded.api_key
        paint = asyncio.run(_pty_to_paint_floor())
        with server_process(db) as url:
            with httpx.Client(base_url=url) as raw:
                answer = raw.post(
                    "/v1/identify",
                    json={"kind": "auto", "value": ANNA, "entry": "scanned", "region": "RU"},
                    headers={"Authorization": f"Bearer {api_key}"},
                ).content
            with bare_server(db, answer) as bare_url:
                bare = _BareRoundTrip(bare_url, api_key)
                try:
                    bare.once()
                    server = SimpleNamespace(url=url, api_key=api_key)
                    values, round_trips = asyncio.run(_scan_to_panel(server, Path(tmp), bare))
                finally:
                    bare.close()
        paint += asyncio.run(_pty_to_paint_floor())
        sys.setswitchinterval(default_switch)
    floor = median(paint) + median(round_trips)
    return ratio_result(
        "scan_to_panel",
        median(values) * 1000,
        floor * 1000,
        "ms",
        "median ratio <= 4.5 to pty read + post_message + natural paint plus a bare round trip"
        " to a bare ASGI app",
        4.5,
        {
            **p50_p99(values),
            "above_floor_ms": round((median(values) - floor) * 1000, 3),
            "paint_floor": p50_p99(paint),
            "bare_round_trip": p50_p99(round_trips),
            "scans": SCANS,
        },
    )


BENCHMARKS = {"tui_cold_start": bench_tui_cold_start, "scan_to_panel": bench_scan_to_panel}
