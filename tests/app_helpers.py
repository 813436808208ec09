"""Serve the real web app on a loopback port: config files, servers, row counts, a TCP proxy.

Test modules bind the fixture by name (``served_app = app_helpers.served_app``; a
``pytest_plugins`` entry would work too but warns that the module was imported before pytest could
rewrite its asserts) and import the plain helpers by name:

- ``served_app(config) -> ServedApp``: ``create_app`` on a real port. ``config`` is a Config, a path
  to an integration.yaml, or None for the built-in demo (on ``demo_database_url``, see below).
  The result *is* the base URL (a ``str``) and also carries ``.app``, ``.config``, ``.engine``.
- ``write_config(directory, database_url, stores=None, **top) -> Path``: an integration.yaml with
  the two example stores (the shop domains and secrets that signed ``tests/fixtures/examples``) and
  the real mappings under ``mappings/``; ``store_block`` builds one store for custom files.
- ``start_gunicorn(config_path) -> (process, url)`` / ``stop_gunicorn``: the app exactly as the
  Procfile runs it, in its own processes.
- ``TcpProxy``: a loopback TCP forwarder that can be stopped and started again on the same port,
  to take a real database away mid-test (every open connection is cut, as when it restarts).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa
import yaml
from flask import Flask

from integration import ledger
from integration.app import create_app
from integration.config import (
    DEMO_SHOPIFY_SECRET,
    DEMO_WOOCOMMERCE_SECRET,
    Config,
    load_config,
)
from integration.serving import ServerThread, serve_in_thread
from integration.state import AppState

ROOT = Path(__file__).resolve().parents[1]
MAPPINGS = ROOT / "mappings"
EXAMPLES = Path(__file__).resolve().parent / "fixtures" / "examples"
SHOPIFY_SHOP = "toko-contoh.myshopify.com"
SHOPIFY_SECRET = DEMO_SHOPIFY_SECRET
WOO_SOURCE = "https://toko-contoh.example/"
WOO_SECRET = DEMO_WOOCOMMERCE_SECRET
JNE_API_KEY = "apikey-for-tests-0123456789abcdef"  # unlike the demo key, so leaks are ours to find


def store_block(platform: str, shop: str, secret: str, **overrides: Any) -> dict[str, Any]:
    """One ``stores:`` entry with every required block filled in and the real mapping for ``platform``."""
    block: dict[str, Any] = {
        "platform": platform,
        "shop": shop,
        "webhook_secret": secret,
        "mapping": str(MAPPINGS / f"{platform}.yaml"),
        "lookups": {"destinations": str(MAPPINGS / "jne_destinations.csv"),
                    "hs_codes": str(MAPPINGS / "hs_codes.csv")},
        "order_prefix": "T",
        "account": {"cust_id": "10950700", "branch": "CGK000", "merchant_id": "TOKOTEST",
                    "origin_code": "CGK10000"},
        "pickup": {"name": "TOKO TEST", "pic": "ALI", "phone": "+6281234567890",
                   "address": "JL. D.I PANJAITAN NO 43", "district": "JELUTUNG", "city": "JAMBI"},
        "shipper": {"name": "TOKO TEST", "addr1": "JL. D.I PANJAITAN NO 43", "city": "JAMBI",
                    "zip": "36124", "region": "JAMBI", "contact": "ALI", "phone": "+6281234567890"},
    }
    block.update(overrides)
    return block


def default_stores() -> dict[str, dict[str, Any]]:
    """``toko-shopify`` and ``toko-woo``: the shops and secrets of the shared examples."""
    return {
        "toko-shopify": store_block("shopify", SHOPIFY_SHOP, SHOPIFY_SECRET),
        "toko-woo": store_block("woocommerce", WOO_SOURCE, WOO_SECRET),
    }


def write_config(directory: Path, database_url: str, stores: dict[str, Any] | None = None,
                 **top: Any) -> Path:
    """Write ``directory/integration.yaml``; ``top`` adds or replaces top-level keys (e.g. webhooks)."""
    doc: dict[str, Any] = {
        "database_url": database_url,
        "jne": {"url": "http://127.0.0.1:9/pickupcashless", "username": "TESTAPI",
                "api_key": JNE_API_KEY},
        "stores": stores if stores is not None else default_stores(),
    }
    doc.update(top)
    path = Path(directory) / "integration.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


class ServedApp(str):
    """The base URL of a served app (no trailing slash), with the app, config and engine behind it."""

    app: Flask
    config: Config
    engine: sa.Engine
    server: ServerThread

    def __new__(cls, server: ServerThread, app: Flask) -> ServedApp:
        self = super().__new__(cls, server.url)
        self.server, self.app = server, app
        self.config = AppState.of(app).config
        self.engine = AppState.of(app).engine
        return self

    @property
    def url(self) -> str:
        """The base URL as a plain string."""
        return str.__str__(self)

    def deliveries(self) -> int:
        """Rows in the inbox."""
        return count_rows(self.engine, ledger.deliveries)

    def shipments(self) -> int:
        """Rows in the shipments table (one per store and order)."""
        return count_rows(self.engine, ledger.shipments)


def count_rows(engine: sa.Engine, table: sa.Table) -> int:
    """Rows in ``table``."""
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def demo_config(database_url: str) -> Config:
    """The built-in demo configuration (no file), on ``database_url``."""
    return load_config(None, env={"DATABASE_URL": database_url})


@pytest.fixture
def served_app() -> Iterator[Any]:
    """Factory: ``served_app(config=None) -> ServedApp``; servers stop and engines close at teardown."""
    running: list[ServedApp] = []

    def serve(config: Config | str | Path | None = None) -> ServedApp:
        app = create_app(str(config) if isinstance(config, Path) else config)
        served = ServedApp(serve_in_thread(app), app)
        running.append(served)
        return served

    yield serve
    for served in running:
        # shutdown() waits for werkzeug's 0.5 s poll; nothing is in flight now, so let it finish
        # in the background instead of adding half a second to every test.
        threading.Thread(target=served.server.stop, daemon=True).start()
        served.engine.dispose()


def example(name: str) -> tuple[bytes, dict[str, str]]:
    """A shared example delivery: raw body bytes and its original headers."""
    body = (EXAMPLES / f"{name}.body").read_bytes()
    headers_file = EXAMPLES / f"{name}.headers.json"
    headers = json.loads(headers_file.read_text()) if headers_file.exists() else {}
    return body, headers


class TcpProxy:
    """Forward ``127.0.0.1:port`` to ``target``; ``stop()`` cuts every connection, ``start()`` resumes."""

    def __init__(self, target_host: str, target_port: int):
        self.target = (target_host, target_port)
        self.port = _free_port()
        self._listener: socket.socket | None = None
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()

    def start(self) -> TcpProxy:
        """Listen (again) on the same port."""
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop listening and reset every open connection, both sides."""
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self._sockets.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._sockets |= {client, upstream}
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                dst.shutdown(socket.SHUT_WR)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_gunicorn(config_path: Path, workers: int = 2, env: dict[str, str] | None = None,
                   extra: tuple[str, ...] = ()) -> tuple[subprocess.Popen, str]:
    """``gunicorn 'integration.app:create_app()'`` as the Procfile runs it, on a free loopback port."""
    port = _free_port()
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers",
         str(workers), *extra, "integration.app:create_app()"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "JNE_INTEGRATION_CONFIG": str(config_path), **(env or {})})
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if requests.get(f"{url}/healthz", timeout=2).status_code == 200:
                return proc, url
        except (requests.ConnectionError, requests.Timeout):  # a booting worker may accept, then be slow
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            stop_gunicorn(proc)
            raise AssertionError(f"gunicorn did not start: {proc.stderr.read()[-3000:]}")
        time.sleep(0.1)


def stop_gunicorn(proc: subprocess.Popen) -> tuple[str, str]:
    """Stop it (SIGTERM, graceful) and return its stdout and stderr."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        return proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.communicate()
