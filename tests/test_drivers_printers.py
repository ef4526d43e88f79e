"""Printer connections and the print worker, end to end with real files, sockets and ptys."""

from __future__ import annotations

import os
import queue
import socket
import struct
import threading
import tty
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from drivers.errors import PrinterTimeout, PrinterUnavailable, PrinterWriteError
from drivers.escpos_decode import decode_escpos
from drivers.print_worker import PrintDone, PrintFailed, PrintWorker
from drivers.printer_status import PrinterStatus, parse_status
from drivers.printers import FilePrinter, NetworkPrinter, Printer, SerialPrinter, UsbPrinter
from drivers.receipt_texts import ALPHABETS
from drivers.render import render_receipt
from drivers.sample_receipt import sample_receipt
from offline_cache.db import open_database
from offline_cache.print_jobs import PrintJobs

WAIT = 10.0
NOW = datetime(2026, 11, 22, 14, 5)


class Events:
    def __init__(self) -> None:
        self.queue: queue.Queue[object] = queue.Queue()

    def __call__(self, event: object) -> None:
        self.queue.put(event)

    def next(self) -> object:
        try:
            return self.queue.get(timeout=WAIT)
        except queue.Empty:
            pytest.fail(f"no print event within {WAIT} s")


def run_worker(db_path: Path, printer: Printer, events: Events) -> PrintWorker:
    worker = PrintWorker(
        lambda: PrintJobs(open_database(db_path)),
        lambda: printer,
        events,
        idle_poll=0.05,
        backoff_initial=0.02,
        backoff_max=0.1,
    )
    worker.start()
    return worker


def test_file_printer_end_to_end(tmp_path: Path) -> None:
    db_path, out = tmp_path / "till.db", tmp_path / "receipts.bin"
    jobs = PrintJobs(open_database(db_path))
    receipts = {
        lang: render_receipt(sample_receipt(lang, NOW), "TM-T88V", 42)
        for lang in ["ru", "uk", "kk"]
    }
    ids = {lang: jobs.enqueue(data, f"check-{lang}", "sale") for lang, data in receipts.items()}
    events = Events()
    worker = run_worker(db_path, FilePrinter(out), events)
    try:
        done = {events.next(), events.next(), events.next()}
    finally:
        worker.stop()
    assert done == {PrintDone(job_id) for job_id in ids.values()}
    assert out.read_bytes() == b"".join(receipts.values())  # appended, in order
    text = decode_escpos(out.read_bytes(), "TM-T88V").text
    for lang in ("ru", "uk", "kk"):
        assert set(ALPHABETS[lang]) <= set(text)
    assert all(jobs.get(job_id).state == "printed" for job_id in ids.values())


class Server:
    """A raw TCP printer on loopback that misbehaves on request."""

    def __init__(self, port: int = 0, mode: str = "read-all") -> None:
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", port))
        self.listener.listen(1)
        self.listener.settimeout(WAIT)
        self.port = self.listener.getsockname()[1]
        self.mode = mode
        self.received = bytearray()
        self.done = threading.Event()
        self.release = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        try:
            conn, _ = self.listener.accept()
        except OSError:
            self.done.set()
            return
        with conn:
            conn.settimeout(WAIT)
            if self.mode == "reset":
                self.received += conn.recv(1000)
                # Power off mid-job: close with RST while data is still coming.
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            elif self.mode == "stall":
                self.received += conn.recv(1000)
                self.release.wait(WAIT)  # paper jam: stop reading until the test lets go
            else:
                while chunk := conn.recv(65536):
                    self.received += chunk
        self.listener.close()
        self.done.set()


BIG = b"\x1b@" + b"x" * (16 * 1024 * 1024)  # larger than any loopback socket buffer


def test_a_printer_that_disappears_mid_job_keeps_the_job_and_prints_it_later(
    tmp_path: Path,
) -> None:
    db_path = tmp_path / "till.db"
    jobs = PrintJobs(open_database(db_path))
    job_id = jobs.enqueue(BIG, "check-1", "sale")
    failing = Server(mode="reset")
    events = Events()
    printer = NetworkPrinter("127.0.0.1", failing.port, timeout=2.0)
    worker = PrintWorker(
        lambda: PrintJobs(open_database(db_path)),
        lambda: printer,
        events,
        idle_poll=0.05,
        backoff_initial=0.2,
        backoff_max=0.2,
        check_status=False,
    )
    worker.start()
    try:
        failed = events.next()
        assert isinstance(failed, PrintFailed) and failed.job_id == job_id
        assert "broke" in failed.reason
        assert failing.done.wait(WAIT)
        job = jobs.get(job_id)
        assert job.state == "pending" and job.attempts >= 1 and job.last_error
        healthy = Server(port=failing.port)  # the printer comes back on the same address
        while not isinstance(event := events.next(), PrintDone):
            assert isinstance(event, PrintFailed)
        assert event.job_id == job_id
    finally:
        worker.stop()
    assert healthy.done.wait(WAIT)
    assert bytes(healthy.received) == BIG
    assert jobs.get(job_id).state == "printed"


def test_a_stalled_printer_times_out() -> None:
    stalled = Server(mode="stall")
    printer = NetworkPrinter("127.0.0.1", stalled.port, timeout=0.3)
    try:
        with pytest.raises(PrinterTimeout, match="stopped accepting"):
            printer.send(BIG)
    finally:
        printer.close()
        stalled.release.set()


def test_unreachable_printers_raise_printer_unavailable(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]
    with pytest.raises(PrinterUnavailable, match="cannot be reached"):
        NetworkPrinter("127.0.0.1", free_port, timeout=1.0).open()
    with pytest.raises(PrinterUnavailable, match="cannot be opened"):
        FilePrinter(tmp_path / "missing-dir" / "receipts.bin").open()
    with pytest.raises(PrinterUnavailable, match="cannot be opened"):
        SerialPrinter(str(tmp_path / "ttyNothing")).open()


# -- serial printer on a pty, answering status queries -----------------------------------


class PtyPrinter:
    """The far end of a pty playing a serial printer that answers DLE EOT queries."""

    def __init__(self, online: int, paper: int) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        self.path = os.ttyname(self.slave)
        self.replies = {1: bytes([online]), 4: bytes([paper])}
        self.received = bytearray()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        import select

        while not self.stop.is_set():
            ready, _, _ = select.select([self.master], [], [], 0.05)
            if not ready:
                continue
            try:
                chunk = os.read(self.master, 4096)
            except OSError:
                return
            self.received += chunk
            if chunk.endswith(b"\x10\x04\x01") or chunk.endswith(b"\x10\x04\x04"):
                os.write(self.master, self.replies[chunk[-1]])

    def close(self) -> None:
        self.stop.set()
        self.thread.join(WAIT)
        os.close(self.master)
        os.close(self.slave)


@pytest.fixture
def paper_out() -> Iterator[PtyPrinter]:
    far = PtyPrinter(online=0x12, paper=0x72)
    yield far
    far.close()


def test_serial_printer_reports_paper_out_and_the_worker_holds_the_job(
    tmp_path: Path, paper_out: PtyPrinter
) -> None:
    printer = SerialPrinter(paper_out.path, 9600, timeout=1.0)
    assert printer.status() == PrinterStatus(True, "out", "The printer is out of paper.")
    jobs = PrintJobs(open_database(tmp_path / "till.db"))
    job_id = jobs.enqueue(b"\x1b@receipt", None, "sale")
    worker = PrintWorker(lambda: jobs, lambda: printer)
    assert worker.print_next(jobs, printer) is False
    assert jobs.get(job_id).state == "pending"
    assert jobs.get(job_id).last_error == "The printer is out of paper."
    assert b"receipt" not in paper_out.received  # nothing was sent to an empty printer
    paper_out.replies[4] = b"\x12"  # paper loaded
    assert worker.print_next(jobs, printer) is True
    printer.close()
    assert jobs.get(job_id).state == "printed"


def test_status_is_unknown_not_ok_when_the_printer_says_nothing() -> None:
    assert parse_status(b"", b"") == PrinterStatus(
        None, "unknown", "The printer did not answer the status query."
    )
    assert parse_status(b"\x12", b"\x12").paper == "ok"
    assert parse_status(b"\x12", b"\x1e").paper == "near_end"
    assert parse_status(b"\x1a", b"\x12").online is False
    assert parse_status(b"\xff", b"\x00") == parse_status(b"", b"")  # not a status byte


# -- USB: no USB device can exist on a CI machine, so pyusb's device object is faked ------


class FakeEndpoint:
    def __init__(self, address: int) -> None:
        self.bEndpointAddress = address
        self.wMaxPacketSize = 64
        self.written = bytearray()

    def write(self, data: bytes, timeout: int) -> int:
        self.written += data
        return len(data)

    def read(self, size: int, timeout: int) -> bytes:
        return b"\x12"


class FakeUsbDevice:
    def __init__(self) -> None:
        self.endpoints = [FakeEndpoint(0x01), FakeEndpoint(0x81)]

    def is_kernel_driver_active(self, interface: int) -> bool:
        return False

    def set_configuration(self) -> None:
        return None

    def get_active_configuration(self) -> dict[tuple[int, int], Any]:
        return {(0, 0): self.endpoints}


def test_usb_printer_writes_to_the_out_endpoint() -> None:
    device = FakeUsbDevice()
    printer = UsbPrinter(0x0416, 0x5011, finder=lambda **kw: device)
    printer.open()
    printer.send(b"\x1b@hello")
    assert printer.status() == PrinterStatus(True, "ok", "The printer is ready.")
    printer.close()
    assert bytes(device.endpoints[0].written).startswith(b"\x1b@hello")
    with pytest.raises(PrinterUnavailable, match="0416:5011"):
        UsbPrinter(0x0416, 0x5011, finder=lambda **kw: None).open()


def test_write_errors_are_printer_errors(tmp_path: Path) -> None:
    printer = FilePrinter("/dev/full")
    with pytest.raises(PrinterWriteError):
        printer.send(b"x" * 10)
    printer.close()
