"""The gunicorn worker of the web service: slow clients cost a socket, never a thread; errors are JSON.

Why not gunicorn's own workers as they are:

- ``sync`` gives each connection the whole process until its request has arrived. Four clients
  sending headers a byte at a time held both workers of the Procfile, and no delivery was answered.
- ``gthread`` frees the thread while a connection sends nothing at all, but once the first byte
  is in, the thread blocks until the rest arrives: 64 slow clients hold 64 threads.
- An async worker (gevent) would also hold no thread, at the price of monkey-patching the
  database drivers and the SQLite write lock; measured and kept simpler here.

``BufferedThreadWorker`` is gthread with one change in how a request arrives: whatever the socket
holds is read without blocking (``MSG_DONTWAIT``) into a buffer kept with the connection, and the
connection goes back to the poller until the request head and its whole ``Content-Length`` body
(or a chunked body's last chunk) are buffered. Only then does a thread run the app, reading from
that buffer. A request must arrive whole within ``REQUEST_READ_TIMEOUT_S`` of its first byte (408
otherwise), and at most ``keepalive`` seconds may pass between two packets (the poller closes the
connection). gunicorn's own parser still decides what the bytes mean: this reader only decides
*when* they are all there, then hands them over unchanged. A body declared larger than the app
accepts is handed over at once, so the app answers 413 without waiting for it.

Every answer the worker writes itself (408, 400, 414, 431, 501 ...) is short JSON like the app's,
never gunicorn's HTML page, is counted in ``integration_http_refusals{cause}`` and is logged at a
bounded rate (see ``log_throttle``).
"""

from __future__ import annotations

import json
import logging
import socket
import time
from typing import Any

from gunicorn.http import errors as http_errors
from gunicorn.workers import gthread

from integration.log_throttle import ThrottledLog
from integration.metrics import HTTP_REFUSALS
from integration.terminal import escape

# The parts of gthread this worker builds on; a gunicorn without them must fail loudly at start.
_DEFER = gthread._DEFER  # noqa: SLF001 - handle() returns it to park a connection on the poller

REQUEST_READ_TIMEOUT_S = 10.0  # Shopify waits 5 s for the whole exchange; a real sender is far faster
DEFAULT_BODY_CAP = 2 * 1024 * 1024 + 1
_RECV_CHUNK = 256 * 1024

log = logging.getLogger("integration.http")
REFUSALS = ThrottledLog(log)

# (exception classes, status, reason, metrics cause): the client errors gunicorn's parser raises.
_CLIENT_ERRORS: tuple[tuple[tuple[type[Exception], ...], int, str, str], ...] = (
    ((http_errors.LimitRequestHeaders,), 431, "Request Header Fields Too Large", "headers_too_large"),
    ((http_errors.LimitRequestLine,), 414, "URI Too Long", "uri_too_long"),
    ((http_errors.UnsupportedTransferCoding,), 501, "Not Implemented", "unsupported"),
    ((http_errors.ExpectationFailed,), 417, "Expectation Failed", "expectation_failed"),
    ((http_errors.ForbiddenProxyRequest,), 403, "Forbidden", "forbidden"),
    ((http_errors.ParseException, http_errors.InvalidProxyHeader), 400, "Bad Request", "bad_request"),
)


class _BoundedSocket(socket.socket):
    """A client socket whose "blocking" mode still times out.

    gthread switches a connection to blocking mode before its parser reads. When the reader below
    guessed wrong (a client that lies about its body), a read must not wait forever: blocking here
    means "wait at most REQUEST_READ_TIMEOUT_S".
    """

    __slots__ = ()

    def setblocking(self, flag: bool) -> None:
        """Blocking with a timeout, or non-blocking as asked."""
        if flag:
            self.settimeout(REQUEST_READ_TIMEOUT_S)
        else:
            super().setblocking(False)


class BufferedThreadWorker(gthread.ThreadWorker):
    """gthread that dispatches a connection to a thread only once its request has fully arrived."""

    def load_wsgi(self) -> None:
        """Load the app, then learn its body limit and the parser's header limits."""
        super().load_wsgi()
        app_config = getattr(self.wsgi, "config", None) or {}
        self.body_cap = int(app_config.get("MAX_CONTENT_LENGTH") or DEFAULT_BODY_CAP)
        cfg = self.cfg
        self.head_cap = (cfg.limit_request_line + 2
                         + max(cfg.limit_request_fields, 1) * (cfg.limit_request_field_size + 2) + 2)

    def handle(self, conn: Any) -> Any:
        """Buffer what has arrived; park the connection until the request is whole, then serve it."""
        if type(conn.sock) is socket.socket:
            conn.sock.__class__ = _BoundedSocket
        state = getattr(conn, "incoming", None)
        if state is None:
            state = conn.incoming = _Incoming()
            if conn.parser is not None:  # a kept-alive connection: pipelined bytes the parser read ahead
                state.add(conn.parser.unreader.take_buffered())
        conn.sock.setblocking(False)  # a socket with a timeout would wait for data even with MSG_DONTWAIT
        try:
            closed = state.receive(conn.sock)
        except OSError:
            return False
        if state.started is None:
            if closed:
                return False
            return _DEFER  # nothing yet: wait on the poller, no thread held
        if not closed and not state.complete(self.body_cap, self.head_cap):
            if time.monotonic() - state.started > REQUEST_READ_TIMEOUT_S:
                self._refuse(conn.sock, conn.client, 408, "Request Timeout", "read_timeout",
                             "request not received within %g s", REQUEST_READ_TIMEOUT_S)
                return False
            return _DEFER
        if closed and not state.data:
            return False
        # The whole request is here (or the client closed its side): hand it to gunicorn's parser.
        data = bytes(state.data)
        conn.incoming = None
        conn.sock.setblocking(True)
        conn.init()
        conn.parser.unreader.unread(data)
        conn.data_ready = True
        return super().handle(conn)

    def finish_request(self, conn: Any, fs: Any) -> None:
        """As gthread, except that a connection to close is closed at once.

        gthread's graceful close lingers up to 2 s reading what the client still sends, on the
        worker's main thread: a client that keeps sending after its answer would stall accepting
        for everyone. The request has been read whole before it was served, so there is nothing
        of it left to drain.
        """
        if not fs.cancelled() and fs.exception() is None and fs.result() is False:
            self.nr_conns -= 1
            _close_now(conn.sock)
            return
        super().finish_request(conn, fs)

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        """Answer a request gunicorn could not parse (or an app crash) with JSON instead of HTML."""
        addr = addr or ("", -1)
        for classes, status, reason, cause in _CLIENT_ERRORS:
            if isinstance(exc, classes) and not isinstance(
                    exc, (http_errors.InvalidResponseHeader, http_errors.InvalidResponseHeaderName)):
                self._refuse(client, addr, status, reason, cause, "%s", escape(str(exc))[:300])
                return
        self.log.exception("Error handling request")
        _write_json(client, 500, "Internal Server Error")

    def _refuse(self, sock: Any, addr: Any, status: int, reason: str, cause: str, detail: str,
                *args: object) -> None:
        HTTP_REFUSALS.labels(cause=cause).inc()
        peer = addr[0] if isinstance(addr, tuple) and addr else "-"
        REFUSALS.warning(cause, "refused %d from %s: " + detail, status, escape(peer), *args)
        _write_json(sock, status, reason)


class _Incoming:
    """The bytes of one request received so far, and where its head ends."""

    __slots__ = ("data", "started", "scanned", "head_end")

    def __init__(self) -> None:
        self.data = bytearray()
        self.started: float | None = None
        self.scanned = 0  # bytes already searched for the end of the head
        self.head_end: int | None = None

    def add(self, chunk: bytes) -> None:
        """Append ``chunk``; the request's clock starts with its first byte."""
        if chunk:
            if self.started is None:
                self.started = time.monotonic()
            self.data += chunk

    def receive(self, sock: socket.socket) -> bool:
        """Read everything the socket holds now without waiting; True when the client has closed."""
        while True:
            try:
                chunk = sock.recv(_RECV_CHUNK, socket.MSG_DONTWAIT)
            except (BlockingIOError, InterruptedError):
                return False
            if not chunk:
                return True
            self.add(chunk)
            if len(chunk) < _RECV_CHUNK:
                return False

    def complete(self, body_cap: int, head_cap: int) -> bool:
        """True when the head and the body it announces are all here, or waiting is pointless."""
        if self.head_end is None:
            found = self.data.find(b"\r\n\r\n", max(0, self.scanned - 3))
            if found < 0:
                self.scanned = len(self.data)
                return len(self.data) > head_cap  # the parser will answer 414 or 431
            self.head_end = found + 4
        length, chunked = _body_framing(bytes(self.data[:self.head_end]))
        body = len(self.data) - self.head_end
        if chunked:
            return body > body_cap or self.data.endswith(b"0\r\n\r\n")
        if length is None:
            return True  # no body, or framing the parser will refuse: nothing to wait for
        return length > body_cap or body >= length  # over the limit: the app answers 413 at once


def _body_framing(head: bytes) -> tuple[int | None, bool]:
    """(Content-Length or None, chunked?) from a request head; a malformed length reads as None."""
    length: int | None = None
    chunked = False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            text = value.strip()
            if not text.isdigit() or length is not None:
                return None, False
            length = int(text)
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    return length, chunked


def _close_now(sock: socket.socket) -> None:
    """Send FIN after what was written, then close; never read or wait."""
    try:
        sock.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


def _write_json(sock: Any, status: int, reason: str) -> None:
    """Send a short JSON answer and ask to close, without ever waiting on the client."""
    body = json.dumps({"error": reason.lower()}, separators=(",", ":")).encode("ascii")
    head = (f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode("ascii")
    try:
        sock.send(head + body, socket.MSG_DONTWAIT)
    except OSError:
        pass  # the client is gone or not reading: nothing more to do for it
