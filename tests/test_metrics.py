"""GET /metrics: counters after real deliveries, queue depth from the ledger, bounded labels, gunicorn."""

from __future__ import annotations

import json
import os

import app_helpers
import requests
from app_helpers import (
    SHOPIFY_SECRET,
    SHOPIFY_SHOP,
    WOO_SECRET,
    WOO_SOURCE,
    TcpProxy,
    example,
    start_gunicorn,
    stop_gunicorn,
    write_config,
)
from fixtures.sign import shopify_headers, woocommerce_headers
from prometheus_client.parser import text_string_to_metric_families

from integration import metrics

served_app = app_helpers.served_app  # the fixture, used by name in this module


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of ``/metrics`` by (name, sorted labels)."""
    r = requests.get(f"{url}/metrics", timeout=10)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(r.text) for s in family.samples}


def deliveries(samples, store: str, topic: str, outcome: str) -> float:
    key = ("integration_webhook_deliveries_total",
           (("outcome", outcome), ("store", store), ("topic", topic)))
    return samples.get(key, 0.0)


def test_deliveries_are_counted_by_store_topic_and_outcome(served_app, tmp_path, database_url):
    served = served_app(write_config(tmp_path, database_url, webhooks={"max_body_bytes": 8192}))
    before = scrape(served)
    body, _ = example("shopify_cod")
    signed = shopify_headers(body, SHOPIFY_SECRET, SHOPIFY_SHOP, "orders/create", event_id="m-1")
    for _ in range(2):  # stored, duplicate
        requests.post(f"{served}/webhooks/shopify", data=body, headers=signed, timeout=10)
    requests.post(f"{served}/webhooks/shopify", data=body, timeout=10,  # rejected_signature
                  headers=shopify_headers(body, "wrong", SHOPIFY_SHOP, "orders/create"))
    requests.post(f"{served}/webhooks/shopify", data=body, timeout=10,  # unknown_store
                  headers=shopify_headers(body, SHOPIFY_SECRET, "lain.myshopify.com", "orders/create"))
    product = json.dumps({"id": 1}).encode()
    requests.post(f"{served}/webhooks/shopify", data=product, timeout=10,  # ignored_topic
                  headers=shopify_headers(product, SHOPIFY_SECRET, SHOPIFY_SHOP, "products/update"))
    requests.post(f"{served}/webhooks/shopify", data=b"[]", timeout=10,  # bad_request
                  headers=shopify_headers(b"[]", SHOPIFY_SECRET, SHOPIFY_SHOP, "orders/paid"))
    requests.post(f"{served}/webhooks/shopify", data=b" " * 9000, timeout=10)  # too_large
    requests.post(f"{served}/webhooks/woocommerce", data=b"webhook_id=3", timeout=10)  # ping
    woo_body, woo_headers = example("woocommerce_cod")
    requests.post(f"{served}/webhooks/woocommerce", data=woo_body, headers=woo_headers, timeout=10)

    after = scrape(served)
    expected = {
        ("toko-shopify", "orders/create", "stored"): 1,
        ("toko-shopify", "orders/create", "duplicate"): 1,
        ("toko-shopify", "orders/create", "rejected_signature"): 1,
        ("unknown", "orders/create", "unknown_store"): 1,
        ("toko-shopify", "other", "ignored_topic"): 1,
        ("toko-shopify", "orders/paid", "bad_request"): 1,
        ("unknown", "other", "too_large"): 1,
        ("unknown", "other", "ping"): 1,
        ("toko-woo", "order.created", "stored"): 1,
    }
    for labels, n in expected.items():
        assert deliveries(after, *labels) - deliveries(before, *labels) == n, labels
    assert after[("integration_queue_depth", (("status", "queued"),))] == 2
    assert after[("integration_queue_depth", (("status", "booked"),))] == 0


def test_worker_metrics_are_exposed(served_app, tmp_path, sqlite_url):
    served = served_app(write_config(tmp_path, sqlite_url))
    before = scrape(served)
    metrics.BOOKINGS.labels(outcome="booked").inc()  # as the worker records them
    metrics.JNE_LATENCY.observe(0.2)
    after = scrape(served)
    booked = ("integration_bookings_total", (("outcome", "booked"),))
    assert after[booked] - before.get(booked, 0) == 1
    count = ("integration_jne_request_seconds_count", ())
    assert after[count] - before[count] == 1


def test_labels_stay_bounded_whatever_requests_send(served_app, tmp_path, sqlite_url):
    served = served_app(write_config(tmp_path, sqlite_url))
    body = b'{"id": 1}'
    for i in range(30):
        requests.post(f"{served}/webhooks/shopify", data=body, timeout=10,
                      headers=shopify_headers(body, SHOPIFY_SECRET, f"toko-{i}.myshopify.com", f"evil/{i}"))
        requests.post(f"{served}/webhooks/woocommerce", data=body, timeout=10,
                      headers=woocommerce_headers(body, WOO_SECRET, WOO_SOURCE, f"order.x{i}"))
    samples = scrape(served)
    stores = {dict(labels)["store"] for name, labels in samples if name == "integration_webhook_deliveries_total"}
    topics = {dict(labels)["topic"] for name, labels in samples if name == "integration_webhook_deliveries_total"}
    # (the registry is process-wide: other tests' real store ids may be there too)
    sent = {f"toko-{i}.myshopify.com" for i in range(30)} | {f"toko-{i}" for i in range(30)}
    assert not stores & sent
    assert not any("evil" in t or "order.x" in t for t in topics)


def test_metrics_answer_while_the_database_is_down(served_app, tmp_path, pg_url):
    proxy = TcpProxy("127.0.0.1", 5432).start()
    try:
        served = served_app(write_config(tmp_path, pg_url.replace(":5432/", f":{proxy.port}/")))
        assert ("integration_queue_depth", (("status", "queued"),)) in scrape(served)
        proxy.stop()
        samples = scrape(served)  # still 200, without the gauge it cannot read
        assert not any(name == "integration_queue_depth" for name, _ in samples)
        assert any(name == "integration_jne_request_seconds_count" for name, _ in samples)
    finally:
        proxy.stop()


def test_gunicorn_workers_share_counters_in_multiprocess_mode(tmp_path, sqlite_url):
    multiproc = tmp_path / "prometheus"
    multiproc.mkdir()
    proc, url = start_gunicorn(write_config(tmp_path, sqlite_url), workers=2,
                               env={"PROMETHEUS_MULTIPROC_DIR": str(multiproc)})
    try:
        for _ in range(12):  # spread over both workers by the kernel's accept queue
            requests.post(f"{url}/webhooks/shopify", data=b"{}", timeout=10)
        # Whichever process answers the scrape, it reports the sum over both.
        seen = {deliveries(scrape(url), "unknown", "other", "rejected_signature") for _ in range(6)}
    finally:
        stop_gunicorn(proc)
    assert seen == {12.0}
    assert any(name.endswith(".db") for name in os.listdir(multiproc))  # counts kept in files
