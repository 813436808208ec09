"""Quiet under floods (issue 14): refusals logged at a bounded rate, every one counted.

Before: each refused request logged a line, 830 KB from 4,000 requests in 3 s.
"""

from __future__ import annotations

import logging
import time

import app_helpers
import requests
from app_helpers import SHOPIFY_SHOP, example

from integration.log_throttle import ThrottledLog
from integration.metrics import DELIVERIES
from integration.webhooks import intake

served_app = app_helpers.served_app  # the fixture, used by name in this module


def test_first_event_logged_then_one_summary_per_interval(caplog):
    now = [100.0]
    throttled = ThrottledLog(logging.getLogger("test.throttle"), interval_s=60, clock=lambda: now[0])
    with caplog.at_level(logging.WARNING, logger="test.throttle"):
        written = [throttled.warning("bad_signature", "refused %d", i) for i in range(500)]
        throttled.warning("unknown_store", "refused store")
        throttled.flush()
        now[0] += 61
        throttled.warning("bad_signature", "refused again")
    messages = [r.getMessage() for r in caplog.records]
    assert written.count(True) == 1
    assert messages == ["refused 0", "refused store", 'bad_signature: 499 more like "refused %d" in the last 60 s',
                        "refused again"]


def test_the_summary_arrives_by_itself_when_the_interval_ends(caplog):
    throttled = ThrottledLog(logging.getLogger("test.throttle.timer"), interval_s=0.3)
    with caplog.at_level(logging.WARNING, logger="test.throttle.timer"):
        for _ in range(50):
            throttled.warning("flood", "refused")
        deadline = time.monotonic() + 10
        while len(caplog.records) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    assert [r.getMessage() for r in caplog.records] == ["refused", 'flood: 49 more like "refused" in the last 0.3 s']


def test_a_flood_of_wrong_signatures_is_counted_but_logged_twice_at_most(served_app, sqlite_url, caplog):
    url = served_app(app_helpers.demo_config(sqlite_url))
    body, headers = example("shopify_cod")
    headers = {**headers, "X-Shopify-Shop-Domain": SHOPIFY_SHOP, "X-Shopify-Hmac-Sha256": "d3Jvbmc="}
    counter = DELIVERIES.labels(store="demo", topic="orders/create", outcome="rejected_signature")
    before = counter._value.get()
    intake.REFUSALS.reset()
    with caplog.at_level(logging.WARNING, logger="integration.webhooks.intake"), requests.Session() as http:
        for _ in range(300):
            assert http.post(f"{url}/webhooks/shopify", data=body, headers=headers, timeout=10).status_code == 401
        intake.REFUSALS.flush()
    lines = [r.getMessage() for r in caplog.records if r.name == "integration.webhooks.intake"]
    assert lines == ["store demo: shopify delivery with a wrong signature refused",
                     'rejected_signature: 299 more like "store %s: %s delivery with a wrong signature '
                     'refused" in the last 10 s']
    assert counter._value.get() - before == 300
