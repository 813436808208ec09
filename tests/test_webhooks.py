"""The webhook endpoints over real HTTP, on a real SQLite file and the real PostgreSQL server.

Platforms are faked only by signed payloads: the shared example deliveries with their original
headers, and fixture orders signed the way Shopify and WooCommerce sign them.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path

import app_helpers
import pytest
import requests
import sqlalchemy as sa
from app_helpers import (
    SHOPIFY_SECRET,
    SHOPIFY_SHOP,
    WOO_SECRET,
    WOO_SOURCE,
    TcpProxy,
    demo_config,
    example,
    write_config,
)
from fixtures.sign import shopify_headers, woocommerce_headers

from integration import ledger

served_app = app_helpers.served_app  # the fixture, used by name in this module

LIMIT = 16 * 1024  # small, so oversized bodies are cheap; the examples are about 6 KB


def post(url: str, platform: str, body: bytes | object, headers: dict[str, str] | None = None
         ) -> requests.Response:
    """POST ``body`` to the platform's webhook; a generator body is sent chunked."""
    return requests.post(f"{url}/webhooks/{platform}", data=body, headers=headers or {}, timeout=10)


@pytest.fixture
def served(database_url, tmp_path, served_app):
    """The app on the test database with the example stores and a 16 KiB body limit."""
    return served_app(write_config(tmp_path, database_url, webhooks={"max_body_bytes": LIMIT}))


def inbox(served) -> list[dict]:
    """Every stored delivery, oldest first."""
    with served.engine.connect() as conn:
        rows = conn.execute(sa.select(ledger.deliveries).order_by(ledger.deliveries.c.id))
        return [dict(r._mapping) for r in rows]


def shopify(body: bytes, topic: str = "orders/create", event_id: str | None = None,
            secret: str = SHOPIFY_SECRET, shop: str = SHOPIFY_SHOP) -> dict[str, str]:
    return shopify_headers(body, secret, shop, topic, event_id=event_id)


def woo(body: bytes, topic: str = "order.created", secret: str = WOO_SECRET, source: str = WOO_SOURCE,
        delivery_id: str | None = None) -> dict[str, str]:
    return woocommerce_headers(body, secret, source, topic, delivery_id=delivery_id)


# -- accepted ---------------------------------------------------------------------------------

def test_the_shared_examples_are_stored_by_the_demo_app(served_app, database_url):
    served = served_app(demo_config(database_url))
    shop_body, shop_headers = example("shopify_cod")
    woo_body, woo_headers = example("woocommerce_cod")

    r1 = post(served, "shopify", shop_body, shop_headers)
    r2 = post(served, "woocommerce", woo_body, woo_headers)

    assert (r1.status_code, r1.json()) == (200, {"status": "accepted", "store": "demo",
                                                 "order": "5891234567890"})
    assert (r2.status_code, r2.json()) == (200, {"status": "accepted", "store": "demo-woo", "order": "4821"})
    first, second = inbox(served)
    assert first["store_id"] == "demo" and first["topic"] == "orders/create"
    assert first["event_id"] == shop_headers["X-Shopify-Event-Id"]
    assert (first["order_ref"], first["order_number"]) == ("5891234567890", "#1042")
    assert first["order_updated_at"] == datetime(2025, 3, 14, 3, 21, 34, tzinfo=UTC)
    assert bytes(first["body"]) == shop_body  # raw, byte for byte
    assert first["headers"]["X-Shopify-Event-Id"] == shop_headers["X-Shopify-Event-Id"]
    assert first["headers"]["Content-Type"] == "application/json"
    assert not any(k.lower() == "x-shopify-hmac-sha256" for k in first["headers"])
    assert "Accept" not in first["headers"]

    assert second["store_id"] == "demo-woo" and second["topic"] == "order.created"
    assert second["event_id"] == f"4821:order.created:{hashlib.sha256(woo_body).hexdigest()}"
    assert (second["order_ref"], second["order_number"]) == ("4821", "4821")
    assert second["order_updated_at"] == datetime(2025, 3, 14, 3, 25, 8, tzinfo=UTC)  # *_gmt is UTC
    assert bytes(second["body"]) == woo_body
    assert not any(k.lower() == "x-wc-webhook-signature" for k in second["headers"])
    # WSGI does not keep the case of header names; HTTP says it does not matter.
    kept = {k.lower(): v for k, v in second["headers"].items()}
    assert kept["x-wc-webhook-delivery-id"] == woo_headers["X-WC-Webhook-Delivery-ID"]
    assert kept["x-wc-webhook-source"] == "https://toko-contoh.example/"
    assert ledger.queue_depth(served.engine)["queued"] == 2


def test_the_same_delivery_five_times_is_stored_once(served):
    shop_body, _ = example("shopify_cod")
    woo_body, _ = example("woocommerce_cod")
    shop_headers = shopify(shop_body, event_id="ev-5-times")

    answers = [post(served, "shopify", shop_body, shop_headers).json()["status"] for _ in range(5)]
    # WooCommerce gives every send a new delivery id; the payload is what makes it a repeat.
    answers += [post(served, "woocommerce", woo_body, woo(woo_body, delivery_id=f"d{i}")).json()["status"]
                for i in range(5)]

    assert answers == ["accepted"] + ["duplicate"] * 4 + ["accepted"] + ["duplicate"] * 4
    assert served.deliveries() == 2
    assert ledger.queue_depth(served.engine)["queued"] == 2


def test_the_same_order_under_three_event_ids_is_one_shipment(served):
    shop_body, _ = example("shopify_cod")
    for i, topic in enumerate(["orders/create", "orders/updated", "orders/create"]):
        r = post(served, "shopify", shop_body, shopify(shop_body, topic=topic, event_id=f"ev-{i}"))
        assert r.json()["status"] == "accepted"
    woo_order = json.loads(example("woocommerce_cod")[0])
    for i, topic in enumerate(["order.created", "order.updated", "order.updated"]):
        woo_order["date_modified_gmt"] = f"2025-03-14T03:25:1{i}"
        body = json.dumps(woo_order).encode()
        assert post(served, "woocommerce", body, woo(body, topic=topic)).json()["status"] == "accepted"

    assert served.deliveries() == 6
    assert served.shipments() == 2
    assert ledger.queue_depth(served.engine)["queued"] == 2


def test_a_signed_delivery_without_any_event_id_is_stored_once(served):
    # A hand-made or old-API delivery: refusing it would lose the order; a byte-identical repeat
    # is still recognised by the key derived from the payload.
    body = _order_body()
    headers = {k: v for k, v in shopify(body).items()
               if k.lower() not in ("x-shopify-event-id", "x-shopify-webhook-id")}
    answers = [post(served, "shopify", body, headers).json()["status"] for _ in range(3)]
    assert answers == ["accepted", "duplicate", "duplicate"]
    assert served.deliveries() == 1 and served.shipments() == 1


def test_shopify_event_id_falls_back_to_the_webhook_id(served):
    body, _ = example("shopify_cod")
    headers = {k: v for k, v in shopify(body).items() if k.lower() != "x-shopify-event-id"}
    headers["X-Shopify-Webhook-Id"] = "wh-1"

    assert post(served, "shopify", body, headers).json()["status"] == "accepted"
    assert post(served, "shopify", body, headers).json()["status"] == "duplicate"
    assert [row["event_id"] for row in inbox(served)] == ["wh-1"]


def test_woocommerce_source_ignores_case_and_trailing_slash(served):
    body, _ = example("woocommerce_cod")
    r = post(served, "woocommerce", body, woo(body, source="HTTPS://Toko-Contoh.example"))
    assert (r.status_code, r.json()["status"]) == (200, "accepted")


def test_a_body_of_exactly_the_limit_is_accepted(served):
    body, _ = example("shopify_cod")
    body = body + b" " * (LIMIT - len(body))  # JSON allows trailing white space
    r = post(served, "shopify", body, shopify(body))
    assert (r.status_code, r.json()["status"]) == (200, "accepted")


# -- answered, not stored ---------------------------------------------------------------------

@pytest.mark.parametrize(("platform", "topic"), [
    ("shopify", "products/update"), ("shopify", "customers/create"), ("shopify", "orders/delete"),
    ("shopify", "app/uninstalled"), ("woocommerce", "product.updated"),
    ("woocommerce", "customer.created"), ("woocommerce", "order.deleted"),
])
def test_topics_that_are_not_orders_get_200_and_are_not_stored(served, platform, topic):
    body = json.dumps({"id": 632910392, "title": "Kaos Batik"}).encode()
    headers = shopify(body, topic=topic) if platform == "shopify" else woo(body, topic=topic)
    r = post(served, platform, body, headers)
    assert (r.status_code, r.json()) == (200, {"status": "ignored", "reason": "not an order topic"})
    assert served.deliveries() == 0


def test_the_woocommerce_ping_gets_200_and_is_stored_nowhere(served):
    ping, _ = example("woocommerce_ping")
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    r = post(served, "woocommerce", ping, form)
    assert (r.status_code, r.json()) == (200, {"status": "ignored", "reason": "ping"})
    # WooCommerce's own ping carries no X-WC headers; one that names the site is still a ping.
    assert post(served, "woocommerce", b"webhook_id=12", {**form, "X-WC-Webhook-Source": WOO_SOURCE}
                ).status_code == 200
    assert served.deliveries() == 0 and served.shipments() == 0


def _signed_shopify(body: bytes) -> tuple[str, bytes, dict[str, str]]:
    return "shopify", body, shopify(body)


def _signed_woo(body: bytes) -> tuple[str, bytes, dict[str, str]]:
    return "woocommerce", body, woo(body)


def _order_body() -> bytes:
    return example("shopify_cod")[0]


REJECTED = {
    # case: (request builder, status, error)
    "shopify wrong secret": (lambda b: ("shopify", b, shopify(b, secret="not-the-secret")), 401,
                             "invalid signature"),
    "shopify signature of another body": (
        lambda b: ("shopify", b + b" ", shopify(b)), 401, "invalid signature"),
    "shopify signed with the woocommerce secret": (
        lambda b: ("shopify", b, shopify(b, secret=WOO_SECRET)), 401, "invalid signature"),
    "shopify missing signature": (
        lambda b: ("shopify", b, {k: v for k, v in shopify(b).items() if "Hmac" not in k}), 401,
        "missing signature"),
    "shopify empty signature": (
        lambda b: ("shopify", b, {**shopify(b), "X-Shopify-Hmac-Sha256": ""}), 401, "missing signature"),
    "shopify signature not base64": (
        lambda b: ("shopify", b, {**shopify(b), "X-Shopify-Hmac-Sha256": "é!".encode()}), 401,
        "invalid signature"),
    "shopify unknown shop": (
        lambda b: ("shopify", b, shopify(b, shop="toko-lain.myshopify.com")), 401, "unknown store"),
    "shopify shop of a woocommerce store": (
        lambda b: ("shopify", b, shopify(b, shop=WOO_SOURCE)), 401, "unknown store"),
    "shopify no headers at all": (lambda b: ("shopify", b, {}), 401, "missing signature"),
    "woocommerce wrong secret": (lambda b: ("woocommerce", b, woo(b, secret="nope-nope")), 401,
                                 "invalid signature"),
    "woocommerce missing signature": (
        lambda b: ("woocommerce", b, {k: v for k, v in woo(b).items() if "Signature" not in k}), 401,
        "missing signature"),
    "woocommerce unknown source": (
        lambda b: ("woocommerce", b, woo(b, source="https://toko-lain.example/")), 401, "unknown store"),
    "woocommerce no headers at all": (lambda b: ("woocommerce", b, {}), 401, "missing signature"),
    "shopify-signed delivery at the woocommerce endpoint": (
        lambda b: ("woocommerce", b, shopify(b)), 401, "missing signature"),
    "signed, not JSON": (lambda b: _signed_shopify(b"<html>not json</html>"), 400, "body is not JSON"),
    "signed, empty body": (lambda b: _signed_woo(b""), 400, "body is not JSON"),
    "signed, not UTF-8": (lambda b: _signed_shopify(b'{"id": "\xff\xfe"}'), 400, "body is not JSON"),
    "signed, deeply nested": (lambda b: _signed_shopify(b"[" * 100_00), 400, "body is not JSON"),
    "signed, huge integer": (lambda b: _signed_shopify(b'{"id": ' + b"9" * 5000 + b"}"), 400,
                             "body is not JSON"),
    "signed, a JSON array": (lambda b: _signed_shopify(b"[1, 2]"), 400, "body is not a JSON object"),
    "signed, a JSON string": (lambda b: _signed_woo(b'"order"'), 400, "body is not a JSON object"),
    "signed, no order id": (lambda b: _signed_shopify(b'{"name": "#1"}'), 400, "order has no id"),
    "signed, id is an object": (lambda b: _signed_woo(b'{"id": {"a": 1}}'), 400, "order has no id"),
    "signed, id is true": (lambda b: _signed_woo(b'{"id": true}'), 400, "order has no id"),
    "signed, id is blank": (lambda b: _signed_woo(b'{"id": "  "}'), 400, "order has no id"),
    "signed, no topic": (
        lambda b: ("shopify", b, {k: v for k, v in shopify(b).items() if k.lower() != "x-shopify-topic"}),
        400, "missing X-Shopify-Topic"),
    "woocommerce signed, no topic": (
        lambda b: ("woocommerce", b, {k: v for k, v in woo(b).items() if k.lower() != "x-wc-webhook-topic"}),
        400, "missing X-WC-Webhook-Topic"),
    "ping body with a signature": (
        lambda b: ("woocommerce", b"webhook_id=7", {"X-WC-Webhook-Signature": "AAAA"}), 401,
        "unknown store"),
    "body over the limit": (lambda b: _signed_shopify(b + b" " * LIMIT), 413, "body too large"),
    "body one byte over the limit": (
        lambda b: _signed_shopify(b + b" " * (LIMIT + 1 - len(b))), 413, "body too large"),
    "chunked body over the limit": (
        lambda b: ("woocommerce", (b" " * 4096 for _ in range(LIMIT // 4096 + 2)), {}), 413,
        "body too large"),
}


@pytest.mark.parametrize("case", list(REJECTED))
def test_rejected_requests_get_their_status_and_store_nothing(served, case):
    build, status, error = REJECTED[case]
    platform, body, headers = build(_order_body())
    r = post(served, platform, body, headers)
    assert (r.status_code, r.json()) == (status, {"error": error})
    assert r.headers["Content-Type"] == "application/json"
    assert served.deliveries() == 0 and served.shipments() == 0


def test_the_default_limit_is_two_mebibytes(served_app, database_url):
    served = served_app(demo_config(database_url))
    body, _ = example("shopify_cod")
    at_limit = body + b" " * (2 * 1024 * 1024 - len(body))
    assert post(served, "shopify", at_limit, shopify(at_limit)).status_code == 200
    over = at_limit + b" "
    assert post(served, "shopify", over, shopify(over)).status_code == 413
    assert served.deliveries() == 1


# -- the database goes away and comes back ----------------------------------------------------

def _assert_unavailable(served, body: bytes, event_id: str) -> None:
    r = post(served, "shopify", body, shopify(body, event_id=event_id))
    assert (r.status_code, r.json()) == (503, {"error": "database unavailable"})
    assert r.headers["Retry-After"]
    health = requests.get(f"{served}/healthz", timeout=10)
    assert (health.status_code, health.json()) == (503, {"status": "unavailable"})


def _assert_available(served, body: bytes, event_id: str) -> None:
    r = post(served, "shopify", body, shopify(body, event_id=event_id))
    assert (r.status_code, r.json()["status"]) == (200, "accepted")
    assert requests.get(f"{served}/healthz", timeout=10).json() == {"status": "ok"}


def test_sqlite_gone_answers_503_then_recovers(served_app, tmp_path):
    home = tmp_path / "db"
    home.mkdir()
    served = served_app(write_config(tmp_path, f"sqlite:///{home / 'ledger.db'}"))
    body, _ = example("shopify_cod")
    _assert_available(served, body, "before")

    away = tmp_path / "db-away"
    os.rename(home, away)  # the file's directory disappears (unmounted volume, deleted path)
    _assert_unavailable(served, body, "during")  # the open connections would write to the moved file
    os.rename(away, home)
    _assert_available(served, body, "after")
    assert [row["event_id"] for row in inbox(served)] == ["before", "after"]


def test_sqlite_directory_deleted_answers_503(served_app, tmp_path):
    home = tmp_path / "db"
    home.mkdir()
    served = served_app(write_config(tmp_path, f"sqlite:///{home / 'ledger.db'}"))
    body, _ = example("shopify_cod")
    _assert_available(served, body, "before")
    shutil.rmtree(home)
    _assert_unavailable(served, body, "gone")
    _assert_unavailable(served, body, "before")  # not "duplicate": the ledger that knew it is gone


def _copy_ledger(source: Path, target: Path) -> None:
    """A consistent copy of a live SQLite ledger (SQLite's backup API), as a backup would be made."""
    import sqlite3

    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()


def test_sqlite_ledger_file_deleted_under_the_server_answers_503_never_200(served_app, tmp_path):
    db = tmp_path / "ledger.db"
    served = served_app(write_config(tmp_path, f"sqlite:///{db}"))
    body, _ = example("shopify_cod")
    _assert_available(served, body, "before")
    db.unlink()  # the connections still hold the deleted file: whatever they wrote would be lost
    _assert_unavailable(served, body, "after-delete")
    _assert_unavailable(served, body, "before")  # a repeat is not "duplicate" either


@pytest.mark.parametrize("replacement", [b"", b"not a database at all" * 100], ids=["empty file", "garbage"])
def test_sqlite_ledger_file_replaced_by_a_non_ledger_answers_503(served_app, tmp_path, replacement):
    db = tmp_path / "ledger.db"
    served = served_app(write_config(tmp_path, f"sqlite:///{db}"))
    body, _ = example("shopify_cod")
    _assert_available(served, body, "before")
    db.unlink()
    db.write_bytes(replacement)  # another file at the path: the old connections must not be used
    r = post(served, "shopify", body, shopify(body, event_id="after-replace"))
    assert (r.status_code, r.json()) == (503, {"error": "database unavailable"})


def test_a_restored_sqlite_ledger_is_written_again_without_a_restart(served_app, tmp_path):
    db = tmp_path / "ledger.db"
    backup = tmp_path / "backup.db"
    served = served_app(write_config(tmp_path, f"sqlite:///{db}"))
    body, _ = example("shopify_cod")
    _assert_available(served, body, "before")
    _copy_ledger(db, backup)
    db.unlink()
    _assert_unavailable(served, body, "while-gone")
    shutil.copyfile(backup, db)  # the owner restores the ledger from the backup
    _assert_available(served, body, "after")
    r = post(served, "shopify", body, shopify(body, event_id="before"))
    assert (r.status_code, r.json()["status"]) == (200, "duplicate")  # the restored ledger knows it
    assert [row["event_id"] for row in inbox(served)] == ["before", "after"]


def test_postgresql_stopped_answers_503_then_recovers(served_app, tmp_path, pg_url):
    proxy = TcpProxy("127.0.0.1", 5432).start()
    try:
        served = served_app(write_config(tmp_path, pg_url.replace(":5432/", f":{proxy.port}/")))
        body, _ = example("shopify_cod")
        _assert_available(served, body, "before")
        proxy.stop()  # every connection cut, nothing listening: PostgreSQL is down
        _assert_unavailable(served, body, "during")
        proxy.start()
        _assert_available(served, body, "after")
        assert [row["event_id"] for row in inbox(served)] == ["before", "after"]
    finally:
        proxy.stop()


def test_postgresql_on_a_closed_port_answers_503(served_app, tmp_path, pg_url):
    closed = TcpProxy("127.0.0.1", 5432)  # a free port nobody listens on
    served = served_app(write_config(tmp_path, pg_url.replace(":5432/", f":{closed.port}/")))
    body, _ = example("shopify_cod")
    _assert_unavailable(served, body, "never")


def test_started_while_postgresql_is_down_recovers_by_itself(served_app, tmp_path, pg_url):
    proxy = TcpProxy("127.0.0.1", 5432)
    try:
        served = served_app(write_config(tmp_path, pg_url.replace(":5432/", f":{proxy.port}/")))
        body, _ = example("shopify_cod")
        _assert_unavailable(served, body, "early")
        proxy.start()
        deadline = time.monotonic() + 15  # the app retries creating its tables every few seconds
        while requests.get(f"{served}/healthz", timeout=10).status_code != 200:
            assert time.monotonic() < deadline, "never recovered"
            time.sleep(0.2)
        _assert_available(served, body, "later")
    finally:
        proxy.stop()


FIXTURE_ORDERS = sorted((Path(__file__).parent / "fixtures" / "orders").glob("*/*.json"))


def test_every_fixture_order_is_accepted_with_its_id_number_and_time(served_app, tmp_path, database_url):
    served = served_app(write_config(tmp_path, database_url))  # the default limit: 20 line items fit
    sent = {}
    for path in FIXTURE_ORDERS:
        fixture = json.loads(path.read_text(encoding="utf-8"))
        platform, order, topic = path.parent.name, fixture["order"], fixture["topic"]
        body = json.dumps(order, ensure_ascii=False).encode("utf-8")
        headers = shopify(body, topic=topic) if platform == "shopify" else woo(body, topic=topic)
        r = post(served, platform, body, headers)
        assert (r.status_code, r.json()["status"]) == (200, "accepted"), path.name
        if platform == "shopify":
            sent[str(order["id"])] = (order["name"], datetime.fromisoformat(order["updated_at"]))
        else:
            sent[str(order["id"])] = (order["number"],
                                      datetime.fromisoformat(order["date_modified_gmt"]).replace(tzinfo=UTC))
    got = {row["order_ref"]: (row["order_number"], row["order_updated_at"]) for row in inbox(served)}
    assert got == sent  # the last delivery per order, on both sides
    assert served.deliveries() == len(FIXTURE_ORDERS)
    assert served.shipments() == len(sent)  # two fixtures are one order under two topics
