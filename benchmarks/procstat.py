"""The CPU time of the processes a benchmark started: the server and its workers, read from
``/proc``, and its traceback when one failed."""

from __future__ import annotations

import os
import resource
from pathlib import Path

CLOCK_TICK = os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    """Process ids whose parent is ``pid``."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry))
    return found


def server_processes() -> list[int]:
    """The server processes this process started: ``python -m processing.server serve`` and
    its workers (its children)."""
    servers = []
    for pid in children(os.getpid()):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if b"processing.server" in argv:
            servers.append(pid)
    workers = []
    for pid in servers:
        for child in children(pid):  # worker processes, not multiprocessing's tracker
            with open(f"/proc/{child}/cmdline", "rb") as f:
                if b"spawn_main" in f.read():
                    workers.append(child)
    return servers + workers


def cpu_seconds(pids: list[int], *, reaped_of: int | None = None) -> float:
    """User + system CPU seconds of ``pids`` so far (their own, not their children's).

    ``reaped_of``: that process's reaped children count too (cutime, cstime). A PostgreSQL
    backend can end between listing and reading: it is skipped here, and its time shows up
    in the postmaster's reaped children instead, so the total stays whole.
    """
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
        if pid == reaped_of:
            total += int(fields[13]) + int(fields[14])  # cutime, cstime (fields 16 and 17)
    return total / CLOCK_TICK


def self_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def server_errors(log: Path) -> str | None:
    """The last traceback in a server's log (``server_process(log=…)``), for a broken
    figure's report: a 500 must say why."""
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return None
    start = text.rfind("Traceback (most recent call last)")
    if start < 0:
        return None
    lines = text[start:].splitlines()
    ends = [i for i, line in enumerate(lines) if line and not line.startswith((" ", "Traceback"))]
    last = ends[0] if ends else len(lines) - 1
    return "\n".join(lines[: last + 3])[-3000:]


def cmdline(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read()
    except OSError:
        return b""
