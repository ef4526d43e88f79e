"""``till devices test-scan`` for a keyboard-wedge scanner: scan into this terminal, see what the
till would make of it.

Every key goes through the same burst rule as the sale screen's input line (at least
:data:`~drivers.keyboard_wedge.MIN_SCAN_LENGTH` keys, each within ``[scanner]
keyboard_max_gap_ms`` of the last, ended by Enter) and the same keyboard-layout mapping, so an
admin sees at once whether the gap is right and whether a Cyrillic layout garbles codes.
"""

from __future__ import annotations

import sys
import time

import click

from drivers.errors import DeviceError
from drivers.keyboard_tty import KeyReader
from drivers.keyboard_wedge import MIN_SCAN_LENGTH, KeyboardWedge, Typed
from drivers.scan_events import Scanned, symbology_name
from terminal.cli_support import EXIT_CONFIG
from terminal.config import Settings
from terminal.sentences import sentence


def test_keyboard_scan(settings: Settings, seconds: float | None, count: int | None) -> int:
    """Read keys from stdin until Ctrl+C, ``seconds`` or ``count`` scans; the exit status."""
    gap = settings.scanner.keyboard_max_gap_ms
    wedge = KeyboardWedge(max_gap_ms=gap, min_length=MIN_SCAN_LENGTH)
    started = time.monotonic()
    deadline = None if seconds is None else started + seconds
    scans = 0
    burst: list[float] = []  # arrival times of the keys not reported yet
    typed = ""  # keys that came too slowly for a scanner, until Enter
    try:
        fd = sys.stdin.fileno()
    except (OSError, ValueError):  # stdin replaced by something without a descriptor
        fd = -1  # refused by KeyReader as not a terminal
    try:
        with KeyReader(fd) as keys:
            click.echo(
                f"Scan into this terminal (keys {gap} ms apart or closer count as a scanner);"
                " Ctrl+C stops."
            )
            while deadline is None or time.monotonic() < deadline:
                events = []
                for key, at in keys.read(0.05):
                    if key != "enter":
                        burst.append(at)
                    events += wedge.feed(key, at)
                events += wedge.poll(time.monotonic())
                for event in events:
                    if isinstance(event, Typed) and event.text != "\n":
                        typed += event.text  # told line by line, on Enter
                        continue
                    if isinstance(event, Typed) and not typed:
                        continue  # Enter on its own
                    stamp = f"+{time.monotonic() - started:8.3f}s"
                    click.echo(f"{stamp}  {_describe(event, typed, burst, gap)}")
                    burst.clear()
                    typed = ""
                    if isinstance(event, Scanned):
                        scans += 1
                if count is not None and scans >= count:
                    break
    except DeviceError as error:
        click.echo(f"{sentence(error)} ({error})", err=True)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        pass
    click.echo(f"{scans} scan(s).")
    return 0


def _describe(event: Scanned | Typed, typed: str, times: list[float], gap: int) -> str:
    span = f"{len(times)} keys in {(times[-1] - times[0]) * 1000:.0f} ms" if times else "no keys"
    if isinstance(event, Scanned):
        kind = f"{event.symbology} {symbology_name(event.symbology)}" if event.symbology else ""
        return f"scan {kind + '  ' if kind else ''}{event.code!r}  ({span})"
    return (
        f"typed, not a scan: {typed!r} ({span}; a scan is {MIN_SCAN_LENGTH}+ keys"
        f" at most {gap} ms apart, then Enter)"
    )
