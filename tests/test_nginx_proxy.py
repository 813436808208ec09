"""deploy/nginx/jne-integration.conf, run by Debian's nginx, in front of the Procfile's web process.

nginx runs as a child process (``daemon off``) with a temporary prefix and a main configuration
that includes the site file as shipped; only its ``listen`` port and its upstream address are
changed, to free loopback ports. CI installs nginx (.ci/run); without it these tests fail and say
how to install it, they are never skipped.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import app_helpers
import pytest
import requests
from procfile_helpers import Web, procfile_web

PROJECT_ROOT = Path(__file__).resolve().parents[1]

SITE = PROJECT_ROOT / "deploy" / "nginx" / "jne-integration.conf"


def nginx_binary() -> str:
    """Debian's nginx; a clear failure when it is not installed."""
    found = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.path.exists(p)), None)
    if found is None:
        pytest.fail("nginx is not installed: apt-get install -y nginx (CI's .ci/run does)")
    return found


class Nginx:
    """nginx serving the shipped site file on ``port``, proxying to ``upstream_port``."""

    def __init__(self, directory: Path, upstream_port: int):
        self.directory = directory
        self.port = app_helpers._free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        site = SITE.read_text(encoding="utf-8")
        site, listens = re.subn(r"(?m)^(\s*)listen 80;", rf"\1listen 127.0.0.1:{self.port};", site)
        site, upstreams = re.subn(r"server 127\.0\.0\.1:8000;", f"server 127.0.0.1:{upstream_port};", site)
        assert (listens, upstreams) == (1, 1), "the site file's listen or upstream line changed"
        (directory / "site.conf").write_text(site, encoding="utf-8")
        temp = {name: directory / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
        for path in temp.values():
            path.mkdir()
        user = "user root;\n" if os.geteuid() == 0 else ""  # workers must reach the temp prefix
        (directory / "nginx.conf").write_text(
            f"{user}worker_processes 1;\nerror_log {directory}/error.log info;\npid {directory}/nginx.pid;\n"
            "events { worker_connections 256; }\n"
            "http {\n"
            f"  access_log {directory}/access.log;\n"
            f"  client_body_temp_path {temp['body']}; proxy_temp_path {temp['proxy']};\n"
            f"  fastcgi_temp_path {temp['fastcgi']}; uwsgi_temp_path {temp['uwsgi']}; scgi_temp_path {temp['scgi']};\n"
            f"  include {directory}/site.conf;\n"
            "}\n", encoding="utf-8")
        self.proc = subprocess.Popen(
            [nginx_binary(), "-p", str(directory), "-c", str(directory / "nginx.conf"), "-g", "daemon off;"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 20
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"nginx did not start: {self.output()}")
            time.sleep(0.05)

    def output(self) -> str:
        """nginx's error log."""
        path = self.directory / "error.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def stop(self) -> None:
        """Stop nginx and wait for it."""
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


class Recorder:
    """A stand-in upstream that records when connections and bytes arrive, and answers 200 JSON."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.received: list[bytes] = []  # every chunk received, in order
        self.requests: list[bytes] = []  # every complete request
        self.connections = 0
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        self.listener.settimeout(0.2)
        while not self._stop:
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(20)
        data = b""
        with conn:
            while True:
                try:
                    chunk = conn.recv(65536)
                except OSError:
                    return
                if not chunk:
                    return
                self.received.append(chunk)
                data += chunk
                head, sep, body = data.partition(b"\r\n\r\n")
                match = re.search(rb"(?i)content-length:\s*(\d+)", head)
                if sep and len(body) >= (int(match.group(1)) if match else 0):
                    self.requests.append(data)
                    answer = b'{"status":"accepted"}'
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                                 + str(len(answer)).encode() + b"\r\nConnection: close\r\n\r\n" + answer)
                    return

    def close(self) -> None:
        """Stop accepting."""
        self._stop = True
        self.listener.close()


@pytest.fixture
def recorder_behind_nginx(tmp_path) -> Iterator[tuple[Nginx, Recorder]]:
    """nginx with the shipped site file in front of a recording upstream."""
    recorder = Recorder()
    nginx = Nginx(tmp_path, recorder.port)
    yield nginx, recorder
    nginx.stop()
    recorder.close()


@pytest.fixture(scope="module")
def web_behind_nginx(tmp_path_factory) -> Iterator[tuple[Nginx, Web]]:
    """nginx with the shipped site file in front of the Procfile's web process."""
    with procfile_web(tmp_path_factory.mktemp("web")) as web:
        nginx = Nginx(tmp_path_factory.mktemp("nginx"), web.port)
        try:
            yield nginx, web
        finally:
            nginx.stop()


def test_a_slow_body_is_buffered_by_nginx_and_reaches_the_upstream_whole(recorder_behind_nginx):
    nginx, recorder = recorder_behind_nginx
    body = b'{"id": 1, "note": "' + b"x" * 200 + b'"}'
    with socket.create_connection(("127.0.0.1", nginx.port), timeout=15) as sock:
        sock.sendall(b"POST /webhooks/shopify HTTP/1.1\r\nHost: shop\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\n\r\n" % len(body))
        for i in range(0, 6):  # three seconds of a trickling body: nothing may reach the upstream
            sock.sendall(body[i:i + 1])
            time.sleep(0.5)
        assert recorder.connections == 0 and recorder.received == []
        sock.sendall(body[6:])
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 200")
    assert recorder.connections == 1
    assert recorder.requests[0].endswith(b"\r\n\r\n" + body)


def test_slow_headers_never_open_an_upstream_connection(recorder_behind_nginx):
    nginx, recorder = recorder_behind_nginx
    with socket.create_connection(("127.0.0.1", nginx.port), timeout=15) as sock:
        sock.sendall(b"POST /webhooks/shopify HTTP/1.1\r\nHost: shop\r\n")
        for byte in b"X-Slow: abc":
            sock.sendall(bytes([byte]))
            time.sleep(0.25)
    assert recorder.connections == 0


def test_deliveries_pass_through_nginx_and_are_stored(web_behind_nginx):
    nginx, web = web_behind_nginx
    before = web.deliveries()
    body, headers = app_helpers.example("shopify_cod")
    response = requests.post(f"{nginx.url}/webhooks/shopify", data=body,
                             headers={**headers, "X-Shopify-Event-Id": str(uuid.uuid4())}, timeout=10)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "accepted"
    assert web.deliveries() == before + 1


def test_metrics_are_not_served_through_nginx(web_behind_nginx):
    nginx, web = web_behind_nginx
    public = requests.get(f"{nginx.url}/metrics", timeout=10)
    assert (public.status_code, public.json()) == (404, {"error": "not found"})
    assert requests.get(f"{web.url}/metrics", timeout=10).status_code == 200  # still there privately


@pytest.mark.parametrize(("send", "status", "error"), [
    (lambda url: requests.post(f"{url}/webhooks/shopify", data=b"x" * (3 * 1024 * 1024), timeout=20),
     413, "body too large"),
    (lambda url: requests.get(f"{url}/" + "a" * 10000, timeout=10), 414, "uri too long"),
    (lambda url: requests.get(f"{url}/healthz", headers={"X-Big": "a" * 9000}, timeout=10), 400, "bad request"),
    (lambda url: requests.get(f"{url}/no-such-page", timeout=10), 404, "not found"),
], ids=["body over 2 MiB", "long URI", "header over 8 KiB", "unknown path"])
def test_every_answer_through_nginx_is_json(web_behind_nginx, send, status, error):
    nginx, _ = web_behind_nginx
    response = send(nginx.url)
    assert response.status_code == status
    assert response.headers["Content-Type"].startswith("application/json")
    assert json.loads(response.text) == {"error": error}
