"""An ambiguous destination, end to end: the worker files the candidates, the dashboard lists them,
the owner's choice is written to the overrides, and the resolver books the next mapping with it.

Real parts throughout: the sandbox JNE on a loopback port (its list synced with `destinations
sync`), the app served with its dashboard, the booking worker in a thread, SQLite.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import jne_helpers
import pytest
import requests
import sqlalchemy as sa
import yaml
from dashboard_helpers import API_KEY, csrf_token, dashboard_block, login
from fixtures.sign import shopify_headers
from test_mapping_fixtures import ORDERS

from integration import ledger
from integration.app import create_app
from integration.booking.worker import Worker
from integration.destinations.overrides import load_overrides
from integration.destinations.sync import destinations_sync
from integration.serving import serve_in_thread
from integration.state import AppState

ROOT = Path(__file__).resolve().parents[1]
sandbox_server, sandbox = jne_helpers.sandbox_server, jne_helpers.sandbox
SECRET = "shp-secret-choice-5e1f9a"
SHOP = "toko-pilih.myshopify.com"


def _order() -> dict:
    """A paid Shopify order to Batam 29432, which covers three kecamatan; the street names none."""
    order = json.loads((ORDERS / "shopify" / "prepaid_jakarta.json").read_text(encoding="utf-8"))["order"]
    order["id"], order["order_number"], order["name"] = 7300000000001, 2901, "#2901"
    order["shipping_address"].update(address1="Jl. Contoh Raya No. 7", address2="", city="Batam", zip="29432",
                                     province="Kepulauan Riau", province_code="KR", company=None)
    return order


@pytest.fixture
def system(tmp_path, sandbox):
    overrides = tmp_path / "pilihan.csv"
    facts = yaml.safe_load((ORDERS / "stores.yaml").read_text(encoding="utf-8"))["toko-contoh"]
    block = {k: v for k, v in facts.items() if k not in ("shop", "source", "lookups")}
    doc = {"database_url": f"sqlite:///{tmp_path / 'ledger.db'}",
           "jne": {"url": sandbox.url, "username": "TESTAPI", "api_key": API_KEY, "timeout_s": 10},
           "stores": {"toko-pilih": {"platform": "shopify", "shop": SHOP, "webhook_secret": SECRET,
                                     "mapping": str(ROOT / "mappings" / "shopify.yaml"),
                                     "lookups": {"destination_overrides": str(overrides)}, **block}},
           "worker": {"concurrency": 2, "poll_s": 0.05, "backoff_base_s": 0.05, "backoff_max_s": 0.5},
           "dashboard": {**dashboard_block(), "users": {"owner": dashboard_block()["users"]["owner"]}}}
    path = tmp_path / "integration.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    assert destinations_sync(path)["failed"] == []  # a new store's first step
    app = create_app(str(path))
    state = AppState.of(app)
    server = serve_in_thread(app)
    stop = threading.Event()
    worker = threading.Thread(target=Worker(state.config, state.engine).run, args=(stop,), daemon=True)
    worker.start()
    yield server.url, state.engine, overrides, sandbox
    stop.set()
    worker.join(timeout=30)
    threading.Thread(target=server.stop, daemon=True).start()


def _settled(engine: sa.Engine, order_ref: str, status: str) -> dict:
    deadline = time.monotonic() + 60
    while True:
        row = ledger.find_shipment(engine, "toko-pilih", order_ref)
        if row is not None and row["status"] == status:
            return row
        assert time.monotonic() < deadline, row
        time.sleep(0.05)


def test_the_choice_made_in_the_dashboard_is_what_the_resolver_books_next(system):
    url, engine, overrides, jne = system
    order = _order()
    body = json.dumps(order).encode("utf-8")
    answer = requests.post(f"{url}/webhooks/shopify", data=body, timeout=10,
                           headers=shopify_headers(body, SECRET, SHOP, "orders/paid"))
    assert answer.status_code == 200, answer.text
    row = _settled(engine, str(order["id"]), "needs_attention")
    (message,) = row["errors"]["DESTINATION_CODE"]
    assert "29432" in message and "3 JNE destinations" in message

    # The stored problem carries the candidates as data, with the key a choice is kept under.
    with engine.connect() as conn:
        stored = conn.execute(sa.select(ledger.shipments.c.problems)).scalar_one()
    (problem,) = [p for p in stored if p["field"] == "DESTINATION_CODE"]
    candidates = problem["params"]["candidates"]
    assert [c["name"] for c in candidates] == ["LUBUK BAJA,BATAM", "BENGKONG,BATAM", "BATAM KOTA,BATAM"]
    assert (problem["params"]["zip"], problem["params"]["district"]) == ("29432", "")

    # The dashboard lists exactly those to pick from; the owner picks Bengkong.
    http = login(url, "owner")
    page_url = f"{url}/admin/orders/toko-pilih/{order['id']}"
    page = http.get(page_url, timeout=10).text
    for candidate in candidates:
        assert candidate["code"] in page and candidate["name"] in page
    chosen = candidates[1]["code"]
    answer = http.post(f"{page_url}/destination", data={"code": chosen, "csrf_token": csrf_token(http, page_url)},
                       timeout=10)
    assert answer.status_code == 200 and f"-&gt; {chosen}" in answer.text

    # Written where the resolver reads, in its format; the replayed order books with it.
    assert load_overrides(overrides).find("29432") == chosen
    booked = _settled(engine, str(order["id"]), "booked")
    (sent,) = [b["fields"] for b in jne.bookings() if b["fields"].get("ORDER_ID") == booked["order_id"]]
    assert sent["DESTINATION_CODE"] == chosen
    assert (sent["RECEIVER_CITY"], sent["RECEIVER_REGION"]) == ("BATAM", "KEPULAUAN RIAU")
