"""Device figures: scan latency through a pty, and receipt rendering, each against a floor.

``scan_latency``: a 20-byte code written to a pty master until ``SerialScanner`` has delivered
the ``Scanned`` event to the waiting thread. Floor, in the same run on the same kind of pty: a
thread blocked in a raw ``os.read`` on the slave signals the waiting thread once the same bytes
arrived — the same hand-off between threads, without pyserial, framing or the event object.

``receipt_render``: ``render_receipt`` of a receipt with a bonus block and a native QR for a
TM-T88V at 42 columns (layout, babel formatting, code pages, QR). Floor: python-escpos's
``Dummy`` printing the same lines and the same native QR directly.
"""

from __future__ import annotations

import os
import threading
import tty
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from benchmarks.result import Result, median, percentile, ratio_result, timings

CODE = b"]Q1ABCDEFGHIJKLMNOPQ"  # 20 bytes, AIM id included
SCANS = 300


def _pty() -> tuple[int, int, str]:
    master, slave = os.openpty()
    tty.setraw(slave)
    return master, slave, os.ttyname(slave)


def _scanner_latencies() -> list[float]:
    from drivers.scan_events import Scanned, ScannerState
    from drivers.serial_scanner import SerialScanner

    master, slave, path = _pty()
    arrived = threading.Event()
    connected = threading.Event()

    def on_event(event: object) -> None:
        if isinstance(event, Scanned):
            arrived.set()
        elif isinstance(event, ScannerState) and event.connected:
            connected.set()

    scanner = SerialScanner(path, 115200, on_event=on_event)
    scanner.start()
    try:
        if not connected.wait(10):
            raise RuntimeError("the benchmark scanner did not connect")

        def one() -> None:
            arrived.clear()
            os.write(master, CODE + b"\r")
            if not arrived.wait(5):
                raise RuntimeError("no Scanned event within 5 s")

        return timings(one, SCANS, warmup=20)
    finally:
        scanner.stop()
        os.close(master)
        os.close(slave)


def _raw_read_latencies() -> list[float]:
    master, slave, _ = _pty()
    arrived = threading.Event()
    stop = threading.Event()
    expected = len(CODE) + 1

    def reader() -> None:
        got = 0
        while not stop.is_set():
            chunk = os.read(slave, 4096)
            got += len(chunk)
            if got >= expected:
                got -= expected
                arrived.set()

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()

    def one() -> None:
        arrived.clear()
        os.write(master, CODE + b"\r")
        if not arrived.wait(5):
            raise RuntimeError("raw read saw nothing within 5 s")

    try:
        return timings(one, SCANS, warmup=20)
    finally:
        stop.set()
        os.write(master, CODE + b"\r")  # wake the blocked read so the thread can end
        thread.join(5)
        os.close(master)
        os.close(slave)


def scan_latency() -> Result:
    floor = _raw_read_latencies()
    ours = _scanner_latencies()
    return ratio_result(
        "scan_latency",
        median(ours) * 1e6,
        median(floor) * 1e6,
        "us",
        "median ratio to a raw os.read on the same pty <= 3",
        3.0,
        {"p99_us": percentile(ours, 99) * 1e6, "floor_p99_us": percentile(floor, 99) * 1e6},
    )


def _receipt_and_floor() -> tuple[Callable[[], object], Callable[[], object]]:
    from drivers.escpos_env import escpos_printer_module
    from drivers.receipt_layout import Line, layout_receipt
    from drivers.render import render_receipt
    from drivers.sample_receipt import sample_receipt

    receipt = sample_receipt("ru", datetime(2026, 11, 22, 14, 5))
    receipt = replace(receipt, barcode_check_number=False)
    assert receipt.qr is not None
    content = receipt.qr.content
    lines = [b.text for b in layout_receipt(receipt, 42) if isinstance(b, Line)]
    dummy_class = escpos_printer_module().Dummy

    def ours() -> object:
        return render_receipt(receipt, "TM-T88V", 42)

    def floor() -> object:
        printer = dummy_class(profile="TM-T88V")
        printer.hw("INIT")
        for line in lines:
            printer.text(line + "\n")
        printer.qr(content, ec=1, size=6, native=True)
        printer.cut()
        return printer.output

    return ours, floor


def receipt_render() -> Result:
    ours, floor = _receipt_and_floor()
    floor_times = timings(floor, 200, warmup=10)
    our_times = timings(ours, 200, warmup=10)
    return ratio_result(
        "receipt_render",
        median(our_times) * 1e3,
        median(floor_times) * 1e3,
        "ms",
        "median ratio to python-escpos Dummy printing the same text and native QR <= 2",
        2.0,
    )


BENCHMARKS: dict[str, Callable[[], Result]] = {
    "scan_latency": scan_latency,
    "receipt_render": receipt_render,
}
