"""A scanner you can feed from a shell, for ``till demo``: two pseudo-terminals and a relay.

The till's serial reader opens the inside pty's device by name like any scanner port; the
demo user writes codes to the outside pty's device (``printf '…\\r' > /dev/pts/N``). A relay
thread copies what arrives on the outside master to the inside master, as a cable would.
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
import tty


class PtyScanner:
    """Owns both pty pairs and the relay thread; :meth:`close` stops and releases everything."""

    def __init__(self) -> None:
        self._in_master, self._in_slave = os.openpty()
        self._out_master, self._out_slave = os.openpty()
        for fd in (self._in_slave, self._out_slave):
            tty.setraw(fd)  # no echo, no CR→LF translation: bytes pass as the scanner sent them
        self.port = os.ttyname(self._in_slave)
        """What the till's serial reader opens."""
        self.feed_path = os.ttyname(self._out_slave)
        """Where a user writes codes."""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._relay, name="pty-scanner", daemon=True)
        self._thread.start()

    def _relay(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self._out_master], [], [], 0.1)
            if not ready:
                continue
            try:
                data = os.read(self._out_master, 4096)
            except OSError:
                return
            if data:
                os.write(self._in_master, data)

    def close(self) -> None:
        """Stop the relay (bounded) and close the four descriptors."""
        self._stop.set()
        self._thread.join(timeout=1.0)
        for fd in (self._in_master, self._in_slave, self._out_master, self._out_slave):
            with contextlib.suppress(OSError):
                os.close(fd)
