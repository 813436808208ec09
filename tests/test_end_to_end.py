"""The whole product over real HTTP: signed deliveries -> web app -> ledger -> worker -> sandbox JNE.

The app is served on a loopback port and the worker runs beside it as `serve` runs them; every
mapping fixture of both platforms (and the Batam-origin store) is sent signed with `requests`.
Then the ledger, the sandbox's own record of what it booked, and each fixture's hand-written
expectation must agree: bookable orders booked once with exactly the expected fields as JNE
received them, skipped ones skipped with their reason, broken ones in needs_attention with
messages, and no secret anywhere.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

import jne_helpers
import pytest
import requests
import yaml
from click.testing import CliRunner
from fixtures.expect import fixtures
from fixtures.sign import shopify_headers, woocommerce_headers
from ledger_helpers import dump_text

from integration import ledger
from integration.app import create_app
from integration.booking.worker import Worker
from integration.cli import main as cli
from integration.serving import serve_in_thread
from integration.state import AppState

sandbox_server, sandbox = jne_helpers.sandbox_server, jne_helpers.sandbox

ROOT = Path(__file__).resolve().parents[1]
ORDERS = ROOT / "tests" / "fixtures" / "orders"
STORE_FACTS = yaml.safe_load((ORDERS / "stores.yaml").read_text(encoding="utf-8"))
SECRETS = {"shopify": "shp-secret-e2e-5f1c9a", "woocommerce": "wc-secret-e2e-77ab01"}
API_KEY = "25c898a9faea1a100859ecd9ef674548"  # the sandbox's account: the document's test key
SHOPS = {("toko-contoh", "shopify"): "toko-contoh.myshopify.com",
         ("toko-contoh", "woocommerce"): "https://toko-contoh.example/",
         ("toko-batam", "shopify"): "toko-batam.myshopify.com"}


def store_block(facts_name: str, platform: str) -> dict:
    facts = dict(STORE_FACTS[facts_name])
    facts.pop("shop"), facts.pop("source")
    facts["lookups"] = {k: str(ORDERS / v) for k, v in facts["lookups"].items()}
    return {"platform": platform, "shop": SHOPS[(facts_name, platform)],
            "webhook_secret": SECRETS[platform],
            "mapping": str(ROOT / "mappings" / f"{platform}.yaml"), **facts}


def store_id(facts_name: str, platform: str) -> str:
    return f"{facts_name}-{platform}"


@pytest.fixture
def system(tmp_path, database_url, sandbox):
    """integration.yaml for three stores, the app on a port, a worker thread; torn down after."""
    doc = {
        "database_url": database_url,
        "jne": {"url": sandbox.url, "username": "TESTAPI", "api_key": API_KEY, "timeout_s": 10},
        "stores": {store_id(f, p): store_block(f, p) for f, p in SHOPS},
        "worker": {"concurrency": 8, "poll_s": 0.05, "backoff_base_s": 0.05, "backoff_max_s": 0.5},
    }
    path = tmp_path / "integration.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    app = create_app(str(path))
    config = AppState.of(app).config
    engine = AppState.of(app).engine
    stop = threading.Event()
    worker = Worker(config, engine)
    thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    with serve_in_thread(app) as server:
        thread.start()
        yield server.url, engine, path
        stop.set()
        thread.join(timeout=30)


def send(url: str, fx, event_id: str) -> requests.Response:
    body = fx.body()
    shop = SHOPS[(fx.store, fx.platform)]
    secret = SECRETS[fx.platform]
    if fx.platform == "shopify":
        headers = shopify_headers(body, secret, shop, fx.topic, event_id=event_id)
    else:
        headers = woocommerce_headers(body, secret, shop, fx.topic)
    return requests.post(f"{url}/webhooks/{fx.platform}", data=body, headers=headers, timeout=10)


def newest_per_order(everything: list) -> list:
    """One fixture per (store, order): the newest snapshot, which is the one the ledger keeps."""
    def moment(fx) -> datetime:
        raw = fx.order.get("updated_at") or fx.order.get("date_modified_gmt") + "+00:00"
        return datetime.fromisoformat(raw)

    newest: dict = {}
    for fx in everything:
        key = (fx.store, fx.platform, fx.order["id"])
        if key not in newest or moment(fx) > moment(newest[key]):
            newest[key] = fx
    return list(newest.values())


def wait_until_drained(engine, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while ledger.queue_depth(engine)["queued"]:
        assert time.monotonic() < deadline, f"still queued: {ledger.queue_depth(engine)}"
        time.sleep(0.1)


def test_every_fixture_through_the_whole_product(system, sandbox, caplog):
    caplog.set_level(logging.DEBUG)
    url, engine, path = system
    everything = list(fixtures())
    assert len(everything) >= 40
    for fx in everything:
        answer = send(url, fx, event_id=f"evt-{fx.id}")
        assert answer.status_code == 200, (fx.id, answer.text)
    wait_until_drained(engine)

    booked_at_jne = {b["order_id"]: b for b in sandbox.bookings()}
    rows = {(r["store"], r["order"]): r for r in ledger.list_shipments(engine)}
    expected_bookings = 0
    # Two fixtures are one order (pending bank transfer, then paid): the newer one decides.
    orders = newest_per_order(everything)
    assert len(orders) < len(everything)
    for fx in orders:
        row = rows[(store_id(fx.store, fx.platform), str(fx.order["id"]))]
        expect = fx.expect
        if not expect["book"]:
            assert row["status"] == "skipped", (fx.id, row)
            wanted = expect.get("skip_reason_contains")
            if wanted:
                assert wanted.casefold() in (row["skip_reason"] or "").casefold(), (fx.id, row)
            continue
        if expect["errors"]:
            assert row["status"] == "needs_attention", (fx.id, row)
            for key in expect["errors"]:
                assert row["errors"].get(key), (fx.id, key, row["errors"])
            assert row["cnote"] is None
            continue
        expected_bookings += 1
        assert row["status"] == "booked", (fx.id, row)
        sent = booked_at_jne[row["order_id"]]
        assert sent["cnote"] == row["cnote"]
        # what JNE received is exactly what a person would have typed for this order
        for name, value in expect["fields"].items():
            assert sent["fields"].get(name) == value, (fx.id, name, sent["fields"].get(name), value)
        for name in expect["absent"]:
            assert name not in sent["fields"], (fx.id, name)

    assert len(booked_at_jne) == expected_bookings
    assert set(sandbox.stats()["by_order_id"].values()) == {1}  # every ORDER_ID sent once

    # Every delivery again (platform retries): nothing new is booked.
    for fx in everything:
        assert send(url, fx, event_id=f"evt-{fx.id}").status_code == 200
    wait_until_drained(engine)
    assert len(sandbox.bookings()) == expected_bookings
    assert sandbox.stats()["requests"] == expected_bookings

    # No secret in the ledger, the status output or the logs.
    status = CliRunner().invoke(cli, ["--config", str(path), "status", "--json"])
    assert status.exit_code == 0
    assert len(json.loads(status.output)) == len(orders)
    haystacks = {"ledger": dump_text(engine), "status": status.output, "logs": caplog.text}
    for where, text in haystacks.items():
        for secret in (API_KEY, *SECRETS.values()):
            assert secret not in text, f"a secret reached the {where}"


def test_flash_sale_of_one_order_many_times_books_once(system, sandbox):
    url, engine, _ = system
    fx = next(f for f in fixtures("shopify") if f.name == "cod_jakarta_example")
    threads = [threading.Thread(target=send, args=(url, fx, f"evt-{i % 7}")) for i in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wait_until_drained(engine)
    assert Counter(r["status"] for r in ledger.list_shipments(engine)) == {"booked": 1}
    assert len(sandbox.bookings()) == 1 and sandbox.stats()["requests"] == 1
