"""A fault-injecting HTTP/1.1 proxy on loopback, for the reliability tests only.

``FaultProxy(("127.0.0.1", server_port))`` listens on 127.0.0.1:<free port> and forwards each
request of each client connection to the upstream server over its own upstream connection.
:meth:`FaultProxy.set_fault` switches what happens to the next requests (after ``after``
requests have passed untouched):

- ``PASS``: forward the request and the answer.
- ``REFUSE``: the listener is closed, so ``connect()`` gets ECONNREFUSED; a request arriving on
  an already open connection is answered with a reset.
- ``RESET_ON_ACCEPT``: connections are accepted and reset at once (SO_LINGER 0); a request on
  an open connection is reset too.
- ``RESET_MID_RESPONSE``: the request is forwarded (the server applies it); the head and half
  of the answer's body reach the client, then a reset.
- ``STALL``: the request is held ``stall_seconds`` (2 s) before it is forwarded — meant to
  exceed the client's read timeout, so the client gives up while the server still applies it.
- ``TRUNCATE``: forwarded; the head and half of the body reach the client, then a clean close.
- ``ERROR_500``: the proxy answers 500 itself; the server never sees the request.
- ``ERROR_500_AFTER_FORWARD``: forwarded and applied by the server, then the answer is
  replaced with a 500 — the client sees an error for a write that happened.

A request the upstream cannot answer (refused, closed, reset) resets the client connection,
as a direct connection to a dead server would. Only ``Content-Length`` bodies are supported
(what httpx sends and uvicorn answers); anything else closes the connection.

Every socket operation has a timeout; :meth:`FaultProxy.close` shuts every socket down and
joins every thread it started, raising RuntimeError when one does not stop.
"""

from __future__ import annotations

import socket
import struct
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from enum import StrEnum
from types import TracebackType

MAX_HEAD = 64 * 1024
MAX_BODY = 16 * 1024 * 1024


class Fault(StrEnum):
    """What the proxy does to a request (see the module docstring)."""

    PASS = "pass"
    REFUSE = "refuse"
    RESET_ON_ACCEPT = "reset_on_accept"
    RESET_MID_RESPONSE = "reset_mid_response"
    STALL = "stall"
    TRUNCATE = "truncate"
    ERROR_500 = "error_500"
    ERROR_500_AFTER_FORWARD = "error_500_after_forward"


FORWARDING_FAULTS = frozenset(
    {Fault.RESET_MID_RESPONSE, Fault.STALL, Fault.TRUNCATE, Fault.ERROR_500_AFTER_FORWARD}
)
"""Faults under which the server receives (and applies) the request."""

_CONNECTION_FAULTS = frozenset({Fault.REFUSE, Fault.RESET_ON_ACCEPT})

_ERROR_BODY = b'{"code":"internal","message":"fault proxy: injected 500","details":{}}'
ERROR_500_RESPONSE = (
    b"HTTP/1.1 500 Internal Server Error\r\n"
    b"content-type: application/json\r\n"
    b"content-length: " + str(len(_ERROR_BODY)).encode() + b"\r\n"
    b"connection: close\r\n\r\n" + _ERROR_BODY
)


class ProxyError(Exception):
    """A peer sent something this proxy does not handle, or closed mid-message."""


@dataclass(frozen=True)
class Message:
    """One HTTP message: the head (start line and headers, with the blank line) and body."""

    head: bytes
    body: bytes

    @property
    def start_line(self) -> str:
        return self.head.split(b"\r\n", 1)[0].decode("latin-1")

    @property
    def path(self) -> str:
        """The request target (for a request)."""
        parts = self.start_line.split(" ")
        return parts[1] if len(parts) > 1 else ""

    @property
    def wants_close(self) -> bool:
        return _header(self.head, b"connection") == b"close"

    def raw(self) -> bytes:
        return self.head + self.body


@dataclass(frozen=True)
class Injected:
    """A fault that was applied to one request."""

    fault: Fault
    request: Message | None
    """None for a connection reset on accept (no request was read)."""


def _header(head: bytes, name: bytes) -> bytes | None:
    for line in head.split(b"\r\n")[1:]:
        key, sep, value = line.partition(b":")
        if sep and key.strip().lower() == name:
            return value.strip().lower()
    return None


class _Stream:
    """Buffered reads of HTTP messages from a blocking socket with a timeout."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""

    def _fill(self) -> bool:
        chunk = self.sock.recv(65536)
        if not chunk:
            return False
        self.buffer += chunk
        return True

    def read_message(self, *, response: bool) -> Message | None:
        """The next message; None on a clean end of stream before its first byte.

        Raises ProxyError for a cut or unsupported message, OSError from the socket.
        """
        while b"\r\n\r\n" not in self.buffer:
            if len(self.buffer) > MAX_HEAD:
                raise ProxyError("message head too large")
            if not self._fill():
                if self.buffer:
                    raise ProxyError("peer closed mid-head")
                return None
        end = self.buffer.index(b"\r\n\r\n") + 4
        head, self.buffer = self.buffer[:end], self.buffer[end:]
        if _header(head, b"transfer-encoding") is not None:
            raise ProxyError("chunked bodies are not supported")
        length_text = _header(head, b"content-length")
        if length_text is None:
            if response:
                # No length: the body runs to the end of the stream.
                while self._fill():
                    if len(self.buffer) > MAX_BODY:
                        raise ProxyError("body too large")
                body, self.buffer = self.buffer, b""
                return Message(head, body)
            return Message(head, b"")
        length = int(length_text)
        if length > MAX_BODY:
            raise ProxyError("body too large")
        while len(self.buffer) < length:
            if not self._fill():
                raise ProxyError("peer closed mid-body")
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return Message(head, body)


def reset(sock: socket.socket) -> None:
    """Close ``sock`` with a TCP RST instead of a FIN (SO_LINGER on, timeout 0)."""
    with suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with suppress(OSError):
        sock.close()


class FaultProxy:
    """A threaded loopback proxy with a switchable fault (see the module docstring).

    Use as a context manager, or call :meth:`start` and :meth:`close`.
    """

    def __init__(
        self,
        upstream: tuple[str, int],
        *,
        stall_seconds: float = 2.0,
        io_timeout: float = 15.0,
        join_timeout: float = 10.0,
    ) -> None:
        self.stall_seconds = stall_seconds
        self.io_timeout = io_timeout
        self.join_timeout = join_timeout
        self.on_forwarded: Callable[[Message], None] | None = None
        """Called in the connection's thread right after a request was sent upstream."""
        self.injected: list[Injected] = []
        """Every fault applied, in order."""
        self.forwarded = 0
        """Requests sent to the upstream server."""
        self.hook_errors: list[Exception] = []
        """Exceptions raised by ``on_forwarded``."""
        self._upstream = upstream
        self._fault = Fault.PASS
        self._passes_left = 0
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._in_flight = 0
        self._stop = threading.Event()
        self._listener: socket.socket | None = None
        self._port = 0
        self._sockets: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._accept_thread: threading.Thread | None = None

    # ------------------------------------------------------------ lifecycle

    def start(self) -> FaultProxy:
        """Listen on 127.0.0.1:<free port> and start accepting."""
        self._listen()
        self._accept_thread = threading.Thread(
            target=self._accept_loop, name="faultproxy-accept", daemon=True
        )
        self._accept_thread.start()
        return self

    def close(self) -> None:
        """Stop: close the listener and every connection, join every thread (bounded).

        Raises RuntimeError when a thread does not stop within ``join_timeout``.
        """
        self._stop.set()
        with self._lock:
            self._close_listener()
            sockets = list(self._sockets)
            self._idle.notify_all()
        for sock in sockets:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        threads = [*self._threads]
        if self._accept_thread is not None:
            threads.append(self._accept_thread)
        for thread in threads:
            thread.join(self.join_timeout)
        alive = [t.name for t in threads if t.is_alive()]
        for sock in sockets:
            with suppress(OSError):
                sock.close()
        if alive:
            raise RuntimeError(f"fault proxy threads did not stop: {alive}")

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ------------------------------------------------------------ control

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    @property
    def upstream(self) -> tuple[str, int]:
        with self._lock:
            return self._upstream

    @upstream.setter
    def upstream(self, address: tuple[str, int]) -> None:
        """Send the next requests to ``address`` (a restarted server's new port); open
        connections drop their socket to the old address before their next request."""
        with self._lock:
            self._upstream = address

    @property
    def fault(self) -> Fault:
        with self._lock:
            return self._fault

    def set_fault(self, fault: Fault, *, after: int = 0) -> None:
        """Apply ``fault`` to every request once ``after`` more requests have passed.

        ``REFUSE`` closes the listener when the fault takes effect; any other fault reopens
        it on the same port. Raises OSError when that port cannot be bound again.
        """
        with self._lock:
            self._fault = fault
            self._passes_left = after
            if fault is not Fault.REFUSE:
                if self._listener is None and not self._stop.is_set():
                    self._listen()
            elif after == 0:
                self._close_listener()

    def heal(self) -> None:
        """Pass everything through from now on."""
        self.set_fault(Fault.PASS)

    def count(self, fault: Fault) -> int:
        """How many times ``fault`` was applied."""
        with self._lock:
            return Counter(i.fault for i in self.injected)[fault]

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no request is being handled (a stalled one included); False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._in_flight == 0, timeout)

    def wait_busy(self, timeout: float) -> bool:
        """Wait until a request is being handled; False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._in_flight > 0, timeout)

    # ------------------------------------------------------------ internals

    def _listen(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", self._port))
        except OSError:
            sock.close()
            raise
        sock.listen(64)
        sock.settimeout(0.05)
        self._port = int(sock.getsockname()[1])
        self._listener = sock

    def _close_listener(self) -> None:
        if self._listener is not None:
            # shutdown first: it wakes an accept() blocked in another thread at once.
            with suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            with suppress(OSError):
                self._listener.close()
            self._listener = None

    def _take_fault(self) -> Fault:
        """The fault for the request just read (counts down the passes)."""
        with self._lock:
            if self._passes_left > 0:
                self._passes_left -= 1
                return Fault.PASS
            if self._fault is Fault.REFUSE:
                self._close_listener()
            return self._fault

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                listener = self._listener
            if listener is None:
                self._stop.wait(0.05)
                continue
            try:
                client, _ = listener.accept()
            except (TimeoutError, OSError):
                continue  # a timeout, or the listener closed under us
            with self._lock:
                reset_now = self._passes_left == 0 and self._fault is Fault.RESET_ON_ACCEPT
                if reset_now:
                    self.injected.append(Injected(Fault.RESET_ON_ACCEPT, None))
            if reset_now:
                reset(client)
                continue
            self._spawn(client)

    def _spawn(self, client: socket.socket) -> None:
        client.settimeout(self.io_timeout)
        with self._lock:
            if self._stop.is_set():
                client.close()
                return
            self._sockets.add(client)
            thread = threading.Thread(
                target=self._serve, args=(client,), name="faultproxy-conn", daemon=True
            )
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)
        thread.start()

    @contextmanager
    def _tracked(self, sock: socket.socket) -> Iterator[socket.socket]:
        with self._lock:
            self._sockets.add(sock)
        try:
            yield sock
        finally:
            with self._lock:
                self._sockets.discard(sock)

    @contextmanager
    def _request_in_flight(self) -> Iterator[None]:
        with self._idle:
            self._in_flight += 1
            self._idle.notify_all()
        try:
            yield
        finally:
            with self._idle:
                self._in_flight -= 1
                self._idle.notify_all()

    def _serve(self, client: socket.socket) -> None:
        upstream: socket.socket | None = None
        upstream_address: tuple[str, int] | None = None
        upstream_stream: _Stream | None = None
        stream = _Stream(client)
        closed = False
        try:
            while not self._stop.is_set():
                try:
                    request = stream.read_message(response=False)
                except (OSError, ProxyError):
                    return
                if request is None:
                    return
                with self._request_in_flight():
                    fault = self._take_fault()
                    if fault is not Fault.PASS:
                        with self._lock:
                            self.injected.append(Injected(fault, request))
                    if fault in _CONNECTION_FAULTS:
                        reset(client)
                        closed = True
                        return
                    if fault is Fault.ERROR_500:
                        with suppress(OSError):
                            client.sendall(ERROR_500_RESPONSE)
                        return
                    if fault is Fault.STALL and self._stop.wait(self.stall_seconds):
                        return
                    target = self.upstream
                    if upstream is not None and target != upstream_address:
                        # Repointed (a restarted server): never reuse the old server's socket.
                        with self._lock:
                            self._sockets.discard(upstream)
                        upstream.close()
                        upstream = None
                    if upstream is None:
                        try:
                            upstream = socket.create_connection(target, timeout=self.io_timeout)
                        except OSError:
                            reset(client)
                            closed = True
                            return
                        with self._lock:
                            self._sockets.add(upstream)
                        upstream_address = target
                        upstream_stream = _Stream(upstream)
                    assert upstream_stream is not None
                    try:
                        upstream.sendall(request.raw())
                        with self._lock:
                            self.forwarded += 1
                        self._run_hook(request)
                        answer = upstream_stream.read_message(response=True)
                    except (OSError, ProxyError):
                        answer = None
                    if answer is None:
                        reset(client)  # the server died or hung up without an answer
                        closed = True
                        return
                    if not self._answer(client, fault, answer):
                        return
                    if request.wants_close or answer.wants_close:
                        return
        finally:
            with self._lock:
                self._sockets.discard(client)
                if upstream is not None:
                    self._sockets.discard(upstream)
            if upstream is not None:
                with suppress(OSError):
                    upstream.close()
            if not closed:
                with suppress(OSError):
                    client.shutdown(socket.SHUT_WR)
                with suppress(OSError):
                    client.close()

    def _run_hook(self, request: Message) -> None:
        hook = self.on_forwarded
        if hook is None:
            return
        try:
            hook(request)
        except Exception as error:  # kept for the test to assert on, never lost in a thread
            with self._lock:
                self.hook_errors.append(error)

    def _answer(self, client: socket.socket, fault: Fault, answer: Message) -> bool:
        """Send (a faulty version of) ``answer``; False when the connection must end."""
        half = answer.head + answer.body[: len(answer.body) // 2]
        try:
            if fault is Fault.ERROR_500_AFTER_FORWARD:
                client.sendall(ERROR_500_RESPONSE)
                return False
            if fault is Fault.TRUNCATE:
                client.sendall(half)
                return False
            if fault is Fault.RESET_MID_RESPONSE:
                client.sendall(half)
                reset(client)
                return False
            client.sendall(answer.raw())  # PASS, and STALL once the stall is over
        except OSError:
            return False  # e.g. the client gave up during a stall
        return fault is Fault.PASS
