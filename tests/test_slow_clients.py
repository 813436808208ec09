"""Slow and malformed clients against the web process exactly as the Procfile runs it (issue 14).

The Procfile's ``web`` line runs through a shell as a process manager would (``PORT`` set, bound to
loopback), with its gunicorn.conf.py. Slow clients are real sockets on loopback; every loop here is
bounded in count and time and stops by itself.

Before the fix (2 sync workers) four slow connections left 0 of 12 deliveries answered within
Shopify's 5 s; plain gthread with 4 threads answered 5 of 12 with 64 slow connections open.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator

import app_helpers
import pytest
import requests
from procfile_helpers import Web, procfile_web, procfile_web_line

from integration.gunicorn_worker import REQUEST_READ_TIMEOUT_S

SHOPIFY_TIMEOUT_S = 5.0  # Shopify gives a delivery this long before it counts as failed
SLOW_CLIENTS = 64


@pytest.fixture(scope="module")
def web(tmp_path_factory) -> Iterator[Web]:
    """The Procfile's web line, run by a shell with PORT set, on a fresh SQLite ledger."""
    with procfile_web(tmp_path_factory.mktemp("slow")) as server:
        yield server


def signed_delivery() -> tuple[bytes, dict[str, str]]:
    """The shared Shopify example with a fresh event id (each one is a new delivery)."""
    body, headers = app_helpers.example("shopify_cod")
    return body, {**headers, "X-Shopify-Event-Id": str(uuid.uuid4())}


def read_answer(sock: socket.socket, limit_s: float) -> bytes:
    """Everything the server sends until it closes, or ``limit_s`` passes."""
    return read_until_closed(sock, limit_s)[0]


def read_until_closed(sock: socket.socket, limit_s: float) -> tuple[bytes, bool]:
    """(what the server sent, whether it closed the connection within ``limit_s``)."""
    sock.settimeout(0.5)
    got = b""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(4096)
        except TimeoutError:
            continue
        except ConnectionResetError:
            return got, True
        if not chunk:
            return got, True
        got += chunk
    return got, False


def status_and_json(answer: bytes) -> tuple[int, object]:
    """(status code, parsed JSON body) of a raw HTTP answer."""
    head, _, body = answer.partition(b"\r\n\r\n")
    assert b"content-type: application/json" in head.lower(), head
    return int(head.split(b" ", 2)[1]), json.loads(body)


class SlowClients:
    """``count`` connections that send a request a byte a second: half the head, half the body."""

    def __init__(self, port: int, count: int, seconds: float):
        self.port, self.count, self.stop_at = port, count, time.monotonic() + seconds
        self.opened = 0
        self.sockets: list[socket.socket] = []
        self.threads = [threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(count)]
        self._lock = threading.Lock()

    def __enter__(self) -> SlowClients:
        for thread in self.threads:
            thread.start()
        deadline = time.monotonic() + 10
        while self.opened < self.count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert self.opened == self.count, f"only {self.opened} slow connections opened"
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_at = 0.0
        for thread in self.threads:
            thread.join(timeout=5)
        for sock in self.sockets:
            sock.close()

    def _run(self, i: int) -> None:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        with self._lock:
            self.sockets.append(sock)
        if i % 2:  # headers that never end
            sock.sendall(b"POST /webhooks/shopify HTTP/1.1\r\nHost: localhost\r\n")
            drip = b"X-Slow: " + b"a" * 100
        else:  # a body that never ends
            sock.sendall(b"POST /webhooks/shopify HTTP/1.1\r\nHost: localhost\r\n"
                         b"Content-Type: application/json\r\nContent-Length: 2000\r\n\r\n")
            drip = b"{" + b" " * 1990
        with self._lock:
            self.opened += 1
        for byte in drip:
            if time.monotonic() >= self.stop_at:
                return
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                return  # the server cut it (408 after its read timeout)
            time.sleep(1.0)


def test_deliveries_are_answered_while_64_slow_connections_are_open(web):
    before = web.deliveries()
    answered: list[int] = []
    with SlowClients(web.port, SLOW_CLIENTS, seconds=REQUEST_READ_TIMEOUT_S - 2):
        time.sleep(1.0)  # every slow connection has sent part of its request and is waiting
        for _ in range(12):
            body, headers = signed_delivery()
            response = requests.post(f"{web.url}/webhooks/shopify", data=body, headers=headers,
                                     timeout=SHOPIFY_TIMEOUT_S)
            answered.append(response.status_code)
            time.sleep(0.2)
    assert answered == [200] * 12
    assert web.deliveries() == before + 12


def test_a_request_that_never_arrives_whole_gets_408_json(web):
    with socket.create_connection(("127.0.0.1", web.port), timeout=5) as sock:
        sock.sendall(b"POST /webhooks/shopify HTTP/1.1\r\nHost: localhost\r\nContent-Length: 500\r\n\r\n{")
        deadline = time.monotonic() + REQUEST_READ_TIMEOUT_S + 6
        answer = b""
        sock.settimeout(1.0)
        while time.monotonic() < deadline and not answer:
            try:
                sock.sendall(b" ")
                answer = sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                break
    assert answer, "the server neither answered nor closed"
    assert status_and_json(answer) == (408, {"error": "request timeout"})


@pytest.mark.parametrize(("request_bytes", "status", "error"), [
    (b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(101)) + b"\r\n",
     431, "request header fields too large"),
    (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n",
     431, "request header fields too large"),
    (b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414, "uri too long"),
    (b"G\x01T / HTTP/1.1\r\nHost: x\r\n\r\n", 400, "bad request"),
    (b"POST /webhooks/shopify HTTP/1.1\r\nHost: x\r\nContent-Length: 12\r\nContent-Length: 13\r\n\r\n",
     400, "bad request"),
], ids=["101 headers", "9000-byte header", "5000-byte URI", "control in method", "two lengths"])
def test_requests_gunicorn_refuses_are_answered_in_json(web, request_bytes, status, error):
    with socket.create_connection(("127.0.0.1", web.port), timeout=5) as sock:
        sock.sendall(request_bytes)
        answer = read_answer(sock, 10)
    assert status_and_json(answer) == (status, {"error": error})


def test_a_body_declared_over_the_limit_is_refused_without_waiting_for_it(web):
    with socket.create_connection(("127.0.0.1", web.port), timeout=5) as sock:
        sock.sendall(b"POST /webhooks/shopify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 50000000\r\n\r\n{")
        answer = read_answer(sock, 5)
    assert status_and_json(answer) == (413, {"error": "body too large"})


def test_pipelined_requests_on_one_connection_are_each_answered(web):
    with socket.create_connection(("127.0.0.1", web.port), timeout=5) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                     b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        answer = read_answer(sock, 5)
    assert answer.count(b"HTTP/1.1 200 OK") == 2
    assert answer.count(b'{"status":"ok"}') == 2


def test_a_connection_that_sends_nothing_is_closed(web):
    with socket.create_connection(("127.0.0.1", web.port), timeout=5) as sock:
        answer, closed = read_until_closed(sock, 20)
    assert closed, "the idle connection was never closed"
    assert answer == b""


def test_the_procfile_binds_loopback_unless_told_otherwise():
    line = procfile_web_line()
    assert "--bind ${WEB_HOST:-127.0.0.1}:${PORT:-8000}" in line
    assert "0.0.0.0" not in line


def test_gunicorns_refusals_are_counted_in_metrics(web):
    with socket.create_connection(("127.0.0.1", web.port), timeout=5) as sock:
        sock.sendall(b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        read_answer(sock, 5)
    seen = requests.get(f"{web.url}/metrics", timeout=5).text  # both processes, added up
    assert 'integration_http_refusals_total{cause="uri_too_long"}' in seen
