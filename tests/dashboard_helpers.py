"""A whole system for the dashboard tests: app with a dashboard on a loopback port, worker, sandbox JNE.

``make_system(database_url)`` writes an integration.yaml with two stores and two dashboard users,
serves ``create_app`` on a free port and runs the booking worker beside it against the sandbox
JNE; ``seed(system)`` sends signed real-looking orders and waits until the worker has dealt with
them, so the ledger holds booked, needs-attention and skipped orders made the way production makes
them. Test modules bind the fixtures by name (``make_system = dashboard_helpers.make_system``).

Users: ``owner`` (every store) and ``ali`` (toko-woo only), passwords in :data:`PASSWORDS`.
"""

from __future__ import annotations

import copy
import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa
import yaml
from fixtures.expect import load
from fixtures.sign import shopify_headers, woocommerce_headers
from werkzeug.security import generate_password_hash

from integration import ledger
from integration.app import create_app
from integration.booking.worker import Worker
from integration.serving import serve_in_thread
from integration.state import AppState

ORDERS = Path(__file__).resolve().parent / "fixtures" / "orders"
STORE_FACTS = yaml.safe_load((ORDERS / "stores.yaml").read_text(encoding="utf-8"))
SECRETS = {"shopify": "shp-secret-dash-41c2", "woocommerce": "wc-secret-dash-9d0e"}
SHOPS = {"toko-contoh": ("shopify", "toko-contoh.myshopify.com"),
         "toko-woo": ("woocommerce", "https://toko-contoh.example/")}
PREFIXES = {"toko-contoh": "TC", "toko-woo": "TW"}
API_KEY = "25c898a9faea1a100859ecd9ef674548"  # the sandbox's account: the document's test key
PASSWORDS = {"owner": "owner-pass-7Hk2", "ali": "ali-pass-3Qm8"}
SECRET_KEY = "dashboard-test-secret-key-0123456789"
XSS = "<img src=x onerror=alert(1)>"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')

ROOT = Path(__file__).resolve().parents[1]


def store_block(store_id: str, overrides_csv: Path) -> dict[str, Any]:
    """One store of the fixture facts, with its destination override table."""
    platform, shop = SHOPS[store_id]
    facts = copy.deepcopy(STORE_FACTS["toko-contoh"])
    facts.pop("shop"), facts.pop("source")
    facts["lookups"] = {k: str(ORDERS / v) for k, v in facts["lookups"].items()}
    facts["lookups"]["destination_overrides"] = str(overrides_csv)
    facts["order_prefix"] = PREFIXES[store_id]
    return {"platform": platform, "shop": shop, "webhook_secret": SECRETS[platform],
            "mapping": str(ROOT / "mappings" / f"{platform}.yaml"), **facts}


def dashboard_block(**extra: Any) -> dict[str, Any]:
    """The ``dashboard:`` block of the test configuration (cheap pbkdf2 hashes: tests log in often)."""
    def hashed(name: str) -> str:
        return generate_password_hash(PASSWORDS[name], "pbkdf2:sha256:1000")

    return {"secret_key": SECRET_KEY, **extra,
            "users": {"owner": {"password_hash": hashed("owner"), "stores": ["*"]},
                      "ali": {"password_hash": hashed("ali"), "stores": ["toko-woo"]}}}


@dataclass
class System:
    """The served app (``url``), its engine, the worker, and where the override tables are."""

    url: str
    engine: sa.Engine
    config_path: Path
    overrides: dict[str, Path]
    app: Any
    refs: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (store, order_ref)

    def send(self, store: str, order: dict[str, Any], topic: str) -> None:
        """Deliver ``order`` signed, as the store's platform does."""
        platform, shop = SHOPS[store]
        body = json.dumps(order, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        if platform == "shopify":
            headers = shopify_headers(body, SECRETS[platform], shop, topic)
        else:
            headers = woocommerce_headers(body, SECRETS[platform], shop, topic)
        answer = requests.post(f"{self.url}/webhooks/{platform}", data=body, headers=headers, timeout=10)
        assert answer.status_code == 200, answer.text

    def wait_drained(self, timeout: float = 60) -> None:
        """Until no shipment is queued."""
        deadline = time.monotonic() + timeout
        while ledger.queue_depth(self.engine)["queued"]:
            assert time.monotonic() < deadline, ledger.queue_depth(self.engine)
            time.sleep(0.05)

    def row(self, name: str) -> dict[str, Any]:
        """The ledger row of a seeded order, as ``status --json`` shows it."""
        store, ref = self.refs[name]
        found = ledger.find_shipment(self.engine, store, ref)
        assert found is not None
        return found

    def raw(self, name: str) -> Any:
        """The whole shipments row of a seeded order."""
        store, ref = self.refs[name]
        s = ledger.shipments
        with self.engine.connect() as conn:
            return conn.execute(sa.select(s).where(s.c.store_id == store, s.c.order_ref == ref)).one()

    def order_url(self, name: str, suffix: str = "") -> str:
        """The dashboard URL of a seeded order."""
        store, ref = self.refs[name]
        return f"{self.url}/admin/orders/{store}/{ref}{suffix}"


def _fixture_order(platform: str, name: str) -> tuple[dict[str, Any], str]:
    fx = load(ORDERS / platform / f"{name}.json")
    return copy.deepcopy(fx.order), fx.topic


def seed(system: System) -> System:
    """Orders of both stores, booked, needing attention, skipped, and one named like an XSS attack."""
    orders = {
        "cod": ("toko-contoh", *_fixture_order("shopify", "cod_jakarta_example")),
        "attention": ("toko-contoh", *_fixture_order("shopify", "unknown_destination")),
        "skipped": ("toko-contoh", *_fixture_order("shopify", "test_order")),
        "woo": ("toko-woo", *_fixture_order("woocommerce", "cod_bandung_example")),
        "woo_attention": ("toko-woo", *_fixture_order("woocommerce", "unknown_destination")),
    }
    xss, topic = _fixture_order("shopify", "cod_jakarta_example")
    xss.update(id=5891299999001, name=XSS, order_number=7001, note=XSS)
    xss["shipping_address"].update(name=XSS, first_name=XSS)
    xss["customer"] = {**(xss.get("customer") or {}), "first_name": XSS}
    orders["xss"] = ("toko-contoh", xss, topic)
    for name, (store, order, topic) in orders.items():
        system.send(store, order, topic)
        system.refs[name] = (store, str(order["id"]))
    system.wait_drained()
    return system


@pytest.fixture
def make_system(tmp_path, sandbox) -> Iterator[Any]:
    """Factory: ``make_system(database_url, dashboard=True, apis=None, mappings=None, **dashboard_extra)``.

    ``apis`` gives stores an ``api:`` block (store id -> block: the worker then writes back and
    reconciles with that shop); ``mappings`` gives stores their own mapping file (store id -> path).
    """
    running: list[tuple[Any, threading.Event, threading.Thread]] = []

    def make(database_url: str, dashboard: bool = True, apis: dict[str, Any] | None = None,
             mappings: dict[str, Path] | None = None, **extra: Any) -> System:
        overrides = {}
        for store in SHOPS:
            overrides[store] = tmp_path / f"{store}-destination-overrides.csv"
            overrides[store].write_text("zip,district,code\n", encoding="utf-8")
        doc: dict[str, Any] = {
            "database_url": database_url,
            "jne": {"url": sandbox.url, "username": "TESTAPI", "api_key": API_KEY, "timeout_s": 10},
            "stores": {s: {**store_block(s, overrides[s]),
                           **({"api": apis[s]} if s in (apis or {}) else {}),
                           **({"mapping": str(mappings[s])} if s in (mappings or {}) else {})} for s in SHOPS},
            "worker": {"concurrency": 4, "poll_s": 0.05, "backoff_base_s": 0.05, "backoff_max_s": 0.5},
        }
        if dashboard:
            doc["dashboard"] = dashboard_block(**extra)
        path = tmp_path / "integration.yaml"
        path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
        app = create_app(str(path))
        state = AppState.of(app)
        server = serve_in_thread(app)
        stop = threading.Event()
        thread = threading.Thread(target=Worker(state.config, state.engine).run, args=(stop,), daemon=True)
        thread.start()
        running.append((server, stop, thread))
        return System(server.url, state.engine, path, overrides, app)

    yield make
    for server, stop, thread in running:
        stop.set()
        thread.join(timeout=30)
        threading.Thread(target=server.stop, daemon=True).start()


def login(url: str, user: str, password: str | None = None) -> requests.Session:
    """A requests session logged in to the dashboard as ``user`` (through the real login form)."""
    http = requests.Session()
    page = http.get(f"{url}/admin/login", timeout=10)
    token = CSRF.search(page.text)
    assert token, page.text
    answer = http.post(f"{url}/admin/login", data={"username": user, "password": password or PASSWORDS[user],
                                                   "csrf_token": token.group(1)},
                       allow_redirects=False, timeout=10)
    assert answer.status_code == 303, answer.text
    return http


def csrf_token(http: requests.Session, url: str) -> str:
    """A CSRF token of ``http``'s session, read from a dashboard page's form."""
    found = CSRF.search(http.get(url, timeout=10).text)
    assert found
    return found.group(1)
