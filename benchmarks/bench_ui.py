"""UI figures: ``tui_cold_start`` and ``scan_to_panel``, each a ratio to a floor of the same run.

- ``tui_cold_start``: ``till run`` as a whole process (headless, ``TILL_FIRST_FRAME_PROBE``)
  from spawn to its first interactive frame, against a minimal Textual app started the same
  way. Target: median ratio <= 1.5.
- ``scan_to_panel``: a code written to a pty until the member panel shows the member, server on
  loopback in its own process; the floor is a pty read + ``post_message`` to a painted Static
  measured in the same run, plus the identify round trip on its own. Target: median ratio <= 2.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.result import Result, median, ratio_result

ROOT = Path(__file__).resolve().parent.parent
COLD_RUNS = 7
SCANS = 101  # a scan costs ~10 ms; more of them steady the median on a shared box
ANNA = "+79161234567"

MINIMAL_APP = """
import time
from textual.app import App
from textual.widgets import Footer, Static

class Minimal(App[None]):
    def compose(self):
        yield Static("till")
        yield Footer()

async def first_frame(pilot):
    print(f"first-frame {time.time()}", flush=True)
    pilot.app.exit()

Minimal().run(headless=True, auto_pilot=first_frame)
"""


def _first_frame_seconds(argv: list[str], env: dict[str, str]) -> float:
    """Seconds from spawning ``argv`` to the ``first-frame`` line it prints."""
    start = time.time()
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, cwd=ROOT, text=True
    )
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("first-frame "):
                return float(line.split()[1]) - start
        raise RuntimeError(f"{argv[:3]} never reached its first frame")
    finally:
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def bench_tui_cold_start() -> Result:
    """Median spawn-to-first-frame of ``till run`` vs a minimal Textual app."""
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config.toml"
        config.write_text(
            '[processing]\nurl = "http://127.0.0.1:9"\napi_key = "bench"\n'
            f'[offline]\ndb_path = "{Path(tmp) / "till.sqlite3"}"\n',
            encoding="utf-8",
        )
        env = {**os.environ, "TILL_FIRST_FRAME_PROBE": "1"}
        till = [sys.executable, "-m", "terminal", "run", "--config", str(config)]
        minimal = [sys.executable, "-c", MINIMAL_APP]
        _first_frame_seconds(till, env)  # warm the OS file cache and bytecode
        _first_frame_seconds(minimal, env)
        till_times: list[float] = []
        floor_times: list[float] = []
        for _ in range(COLD_RUNS):  # interleaved, so load on the box hits both alike
            floor_times.append(_first_frame_seconds(minimal, env))
            till_times.append(_first_frame_seconds(till, env))
    return ratio_result(
        "tui_cold_start",
        median(till_times),
        median(floor_times),
        "s",
        "median ratio <= 1.5 to a minimal Textual app started the same way",
        1.5,
        {"runs": COLD_RUNS},
    )


class _PaintStamps:
    """When each awaited paint happened.

    Textual paints on a 60 fps frame timer, so a bare wait would measure where in a frame the
    scan landed. Every millisecond the waiter paints pending updates at once, as
    ``pilot.pause`` does; but ``pilot.pause`` also walks every widget of the screen, which
    would charge a screen of many widgets for the harness's own work and hold the interpreter
    lock against the worker threads under test.
    """

    def __init__(self, app: Any) -> None:
        self._app = app
        self._stamps: asyncio.Queue[float] = asyncio.Queue()

    def stamp(self) -> None:
        self._stamps.put_nowait(time.perf_counter())

    async def next(self) -> float:
        for _ in range(10_000):
            try:
                return await asyncio.wait_for(self._stamps.get(), timeout=0.001)
            except TimeoutError:
                self._app.screen._on_timer_update()  # what pilot.pause calls to paint now
        raise RuntimeError("the panel was never painted")


async def _scan_to_panel(server: Any, tmp: Path) -> tuple[list[float], list[float]]:
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
            painted = _PaintStamps(app)
            show = panel.show

            def show_and_stamp(member: Any) -> None:
                # The figure ends when the panel with the member has been painted.
                show(member)
                panel.call_after_refresh(painted.stamp)

            panel.show = show_and_stamp  # type: ignore[method-assign]
            for _ in range(SCANS):
                start = time.perf_counter()
                os.write(feed, ANNA.encode() + b"\r")
                values.append(await painted.next() - start)
                started = time.perf_counter()
                app.services.client.identify(ANNA, entry="scanned")
                round_trips.append(time.perf_counter() - started)
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
            self.painted = _PaintStamps(self)

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
            for n in range(SCANS):
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
    """Median scan-to-member-panel vs pty→paint floor plus the identify round trip.

    The server runs in its own process, as it does for a real till: in the till's process its
    request handling would compete with the UI for the interpreter lock and charge the till
    for the server's work.
    """
    from types import SimpleNamespace

    from processing.server.testing import running_server, server_process

    default_switch = sys.getswitchinterval()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "p.sqlite3"
        with running_server(db) as seeded:  # seeds the demo members and makes a till key
            api_key = seeded.api_key
        # The floor is measured before and after the till, so a burst of load on the box
        # during one of them weighs on both figures alike.
        floor = asyncio.run(_pty_to_paint_floor())
        with server_process(db) as url:
            server = SimpleNamespace(url=url, api_key=api_key)
            values, round_trips = asyncio.run(_scan_to_panel(server, Path(tmp)))
        floor += asyncio.run(_pty_to_paint_floor())
        sys.setswitchinterval(default_switch)
    return ratio_result(
        "scan_to_panel",
        median(values),
        median(floor) + median(round_trips),
        "s",
        "median ratio <= 2 to pty read + post_message + paint plus the identify round trip",
        2.0,
        {"scans": SCANS, "identify_round_trip_s": median(round_trips)},
    )


BENCHMARKS = {"tui_cold_start": bench_tui_cold_start, "scan_to_panel": bench_scan_to_panel}
