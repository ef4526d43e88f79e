"""The serial scanner through real pty pairs, and the framer on its own."""

from __future__ import annotations

import contextlib
import os
import queue
import tty
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.scan_events import Scanned, ScannerState, UnreadableScan, symbology_name
from drivers.scan_framing import Frame, Rejected, ScanFramer, decode_frame
from drivers.serial_scanner import SerialScanner

WAIT = 10.0  # generous upper bound for a loaded CI machine; tests wait on events, not sleeps


@dataclass
class Pty:
    master: int
    slave: int
    path: str

    def write(self, data: bytes) -> None:
        os.write(self.master, data)

    def close(self) -> None:
        for fd in (self.master, self.slave):
            with contextlib.suppress(OSError):
                os.close(fd)


def open_pty() -> Pty:
    master, slave = os.openpty()
    tty.setraw(slave)
    return Pty(master, slave, os.ttyname(slave))


class Events:
    def __init__(self) -> None:
        self.queue: queue.Queue[object] = queue.Queue()

    def __call__(self, event: object) -> None:
        self.queue.put(event)

    def next(self, kind: type[object]) -> object:
        """The next event of ``kind``, skipping others; fails after WAIT seconds."""
        while True:
            try:
                event = self.queue.get(timeout=WAIT)
            except queue.Empty:
                pytest.fail(f"no {kind.__name__} event within {WAIT} s")
            if isinstance(event, kind):
                return event

    def next_scan_or_rejection(self) -> Scanned | UnreadableScan:
        while True:
            event = self.queue.get(timeout=WAIT)
            if isinstance(event, Scanned | UnreadableScan):
                return event


@pytest.fixture
def pty_pair() -> Iterator[Pty]:
    pair = open_pty()
    yield pair
    pair.close()


def start_scanner(path: str, **kwargs: object) -> tuple[SerialScanner, Events]:
    events = Events()
    scanner = SerialScanner(path, 9600, on_event=events, backoff_initial=0.02, **kwargs)  # type: ignore[arg-type]
    scanner.start()
    state = events.next(ScannerState)
    assert isinstance(state, ScannerState) and state.connected
    return scanner, events


@pytest.mark.parametrize(
    ("suffix", "terminator"), [("cr", b"\r"), ("lf", b"\n"), ("crlf", b"\r\n")]
)
def test_codes_are_framed_by_their_suffix(pty_pair: Pty, suffix: str, terminator: bytes) -> None:
    scanner, events = start_scanner(pty_pair.path, suffix=suffix)
    try:
        pty_pair.write(b"4601234567893" + terminator + b"0123" + terminator)
        first, second = events.next(Scanned), events.next(Scanned)
        assert isinstance(first, Scanned) and isinstance(second, Scanned)
        assert (first.code, second.code) == ("4601234567893", "0123")
        assert first.source == "serial" and first.symbology is None
    finally:
        scanner.stop()
    assert not scanner.running


def test_codes_without_suffix_are_framed_by_a_pause(pty_pair: Pty) -> None:
    scanner, events = start_scanner(pty_pair.path, suffix="none", gap_ms=30)
    try:
        pty_pair.write(b"]E04601234567893")
        scan = events.next(Scanned)
        assert isinstance(scan, Scanned)
        assert (scan.code, scan.symbology) == ("4601234567893", "]E0")
    finally:
        scanner.stop()


def test_aim_ids_and_prefix_are_stripped(pty_pair: Pty) -> None:
    scanner, events = start_scanner(pty_pair.path, prefix="@@")
    try:
        pty_pair.write(b"@@]Q1https://m.example/abc\r@@]C1\x1d0104601234567893\r1234\r")
        qr, gs1 = events.next(Scanned), events.next(Scanned)
        assert isinstance(qr, Scanned) and isinstance(gs1, Scanned)
        assert (qr.code, qr.symbology, symbology_name(qr.symbology)) == (
            "https://m.example/abc",
            "]Q1",
            "QR Code",
        )
        assert (gs1.code, gs1.symbology) == ("\x1d0104601234567893", "]C1")
        missing = events.next(UnreadableScan)
        assert isinstance(missing, UnreadableScan) and "prefix" in missing.reason
    finally:
        scanner.stop()


def test_bad_input_is_rejected_and_the_reader_keeps_running(pty_pair: Pty) -> None:
    scanner, events = start_scanner(pty_pair.path, max_length=4096)
    try:
        pty_pair.write(b"12\x0034\r")
        pty_pair.write(b"\xff\xfe\x80garbage\r")
        pty_pair.write(b"\x07\x1b[2J\r")
        pty_pair.write(b"9" * 65536 + b"\r")  # 64 KiB without a terminator until the end
        pty_pair.write(b"4601234567893\r")
        reasons = []
        while True:
            event = events.next_scan_or_rejection()
            if isinstance(event, Scanned):
                break
            reasons.append(event.reason)
        assert event.code == "4601234567893"
        assert len(reasons) == 4
        assert "NUL" in reasons[0]
        assert "not valid text" in reasons[1]
        assert "control characters" in reasons[2]
        assert "longer than 4096" in reasons[3]
        assert scanner.running
    finally:
        scanner.stop()


def test_a_partial_code_is_dropped_after_a_pause(pty_pair: Pty) -> None:
    scanner, events = start_scanner(pty_pair.path, gap_ms=30)
    try:
        pty_pair.write(b"46012")
        dropped = events.next(UnreadableScan)
        assert isinstance(dropped, UnreadableScan) and "incomplete" in dropped.reason
        pty_pair.write(b"777\r")
        scan = events.next(Scanned)
        assert isinstance(scan, Scanned) and scan.code == "777"
    finally:
        scanner.stop()


def test_unplug_is_reported_and_the_port_is_reopened(tmp_path: Path) -> None:
    # A symlink plays /dev/serial/by-id/...: the device behind it comes back as a new pty.
    link = tmp_path / "scanner"
    first = open_pty()
    link.symlink_to(first.path)
    scanner, events = start_scanner(str(link))
    second: Pty | None = None
    try:
        first.write(b"111\r")
        assert getattr(events.next(Scanned), "code", None) == "111"
        first.close()  # unplug: the master side goes away
        lost = events.next(ScannerState)
        assert isinstance(lost, ScannerState) and not lost.connected
        assert "disconnected" in lost.reason or "cannot be opened" in lost.reason
        second = open_pty()
        tmp_link = tmp_path / "scanner.new"
        tmp_link.symlink_to(second.path)
        os.replace(tmp_link, link)
        back = events.next(ScannerState)
        assert isinstance(back, ScannerState) and back.connected
        second.write(b"222\r")
        assert getattr(events.next(Scanned), "code", None) == "222"
    finally:
        scanner.stop()
        first.close()
        if second is not None:
            second.close()
    assert not scanner.running


def test_a_missing_port_is_reported_not_raised(tmp_path: Path) -> None:
    events = Events()
    scanner = SerialScanner(str(tmp_path / "nothing"), on_event=events, backoff_initial=0.02)
    scanner.start()
    try:
        state = events.next(ScannerState)
        assert isinstance(state, ScannerState) and not state.connected
        assert "cannot be opened" in state.reason
        assert scanner.running
    finally:
        scanner.stop()
    assert not scanner.running


def test_a_failing_listener_does_not_kill_the_reader(pty_pair: Pty) -> None:
    seen: queue.Queue[object] = queue.Queue()

    def listener(event: object) -> None:
        seen.put(event)
        if isinstance(event, Scanned) and event.code == "boom":
            raise RuntimeError("listener bug")

    scanner = SerialScanner(pty_pair.path, on_event=listener)
    scanner.start()
    try:
        assert isinstance(seen.get(timeout=WAIT), ScannerState)  # open flushes earlier input
        pty_pair.write(b"boom\rfine\r")
        codes = []
        while len(codes) < 2:
            event = seen.get(timeout=WAIT)
            if isinstance(event, Scanned):
                codes.append(event.code)
        assert codes == ["boom", "fine"]
    finally:
        scanner.stop()


def test_loop_url_is_accepted() -> None:
    events = Events()
    scanner = SerialScanner("loop://", on_event=events)
    scanner.start()
    try:
        state = events.next(ScannerState)
        assert isinstance(state, ScannerState) and state.connected
    finally:
        scanner.stop()


# -- the framer on its own ----------------------------------------------------------------


@given(
    codes=st.lists(st.text(alphabet="0123456789ABCXYZ", min_size=1, max_size=40), max_size=8),
    cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=10),
)
def test_chunking_does_not_change_the_codes(codes: list[str], cuts: list[int]) -> None:
    stream = b"".join(code.encode() + b"\r\n" for code in codes)
    framer = ScanFramer("crlf", gap_ms=1000)
    results = []
    last = 0
    for cut in [*sorted(c for c in cuts if c <= len(stream)), len(stream)]:
        results += framer.feed(stream[last:cut], now=0.0)
        last = cut
    assert results == [Frame(code, None) for code in codes]


def test_gap_framing_and_max_length_without_terminator() -> None:
    framer = ScanFramer("none", max_length=8, gap_ms=100)
    assert framer.feed(b"1234", 0.0) == []
    assert framer.poll(0.05) == []
    assert framer.poll(0.2) == [Frame("1234", None)]
    too_long = Rejected("The scan was longer than 8 bytes and was dropped.")
    assert framer.feed(b"123456789", 1.0) == [too_long]
    assert framer.feed(b"more", 1.01) == []  # still the same over-long frame
    assert framer.poll(1.5) == []
    assert framer.feed(b"42", 2.0) == [] and framer.poll(2.5) == [Frame("42", None)]


def test_decode_frame_edge_cases() -> None:
    assert decode_frame(b"") is None
    assert decode_frame(b"   ") is None
    assert decode_frame(b"]Q1") == Rejected("The scan had a symbology identifier but no code.")
    assert decode_frame("Привет".encode()) == Frame("Привет", None)
