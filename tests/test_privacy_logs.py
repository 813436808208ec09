"""Logs carry no names, phones, e-mails or addresses, on any path an order can take.

Orders with marked personal data (tests/privacy_helpers.py) go through every path: delivered signed
over HTTP, booked at the sandbox JNE, needing attention, crashing the mapping (a line item quantity
the mapping's decimal arithmetic cannot hold: a real crash, with its traceback logged), refused by a
stand-in JNE that echoes the values it refuses, written back to a shop that refuses, and erased on
the customer's request. Logging is captured at DEBUG in this process, and a worker process started
as ``jne-integration worker --once`` has its stderr read; no mark may be in either. Each path's
own log line is looked for too, so the test fails if a path was not taken.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from urllib.parse import parse_qs

import app_helpers
import jne_helpers
import privacy_helpers as ph
import shop_helpers
from fixtures.sign import shopify_headers
from privacy_helpers import Marks

from integration import ledger
from integration.booking.worker import Worker
from integration.config import load_config
from integration.shop.settings import WritebackSettings
from integration.shop.writeback import write_back

served_app = app_helpers.served_app
sandbox_server, sandbox = jne_helpers.sandbox_server, jne_helpers.sandbox
fake_jne_server, fake_jne = jne_helpers.fake_jne_server, jne_helpers.fake_jne
shopify_shop, _shopify_server = shop_helpers.shopify_shop, shop_helpers._shopify_server

BOOKED, ATTENTION, CRASH, REFUSED, WRITEBACK, REDACTED = (Marks.of(t) for t in ("9101", "9102", "9103", "9104",
                                                                                 "9105", "9106"))
ALL = (BOOKED, ATTENTION, CRASH, REFUSED, WRITEBACK, REDACTED)


def echo_refusal(raw: str) -> str:
    """A JNE refusal quoting the receiver's name, address and phone, as a careless API would."""
    form = {k: v[0] for k, v in parse_qs(raw).items()}
    return json.dumps({"detail": [{"status": "Error", "reason": (
        f"RECEIVER_NAME '{form.get('RECEIVER_NAME')}' at RECEIVER_ADDR1 '{form.get('RECEIVER_ADDR1')}' "
        f"phone {form.get('RECEIVER_PHONE')} is not accepted")}]})


def send(url: str, number: int, marks: Marks, fixture: str = "prepaid_jakarta", **changes) -> str:
    topic, order = ph.shopify_order(number, marks, fixture=fixture)
    order.update(changes)
    body = json.dumps(order).encode()
    answer = app_helpers.requests.post(f"{url}/webhooks/shopify", data=body, timeout=10,
                                       headers=shopify_headers(body, ph.SECRETS["shopify"], ph.SHOPS["shopify"], topic))
    assert answer.status_code == 200, answer.text
    return str(order["id"])


def crashing_line_items(number: int, marks: Marks) -> list:
    _, order = ph.shopify_order(number, marks)
    items = order["line_items"]
    items[0]["quantity"] = 10 ** 400  # decimal.InvalidOperation inside the mapping's quantity transform
    return items


def test_no_personal_data_in_logs_on_any_path(served_app, tmp_path, sqlite_url, sandbox, fake_jne, shopify_shop,
                                               caplog, capfd):
    caplog.set_level(logging.DEBUG)
    served = served_app(ph.write_config(tmp_path, sqlite_url, sandbox.url))
    refs = {"booked": send(served, 9101, BOOKED),
            "attention": send(served, 9102, ATTENTION, fixture="missing_postal_code"),
            "crash": send(served, 9103, CRASH, line_items=crashing_line_items(9103, CRASH))}
    Worker(served.config, served.engine).run_once()
    status = {k: ledger.find_shipment(served.engine, ph.STORES["shopify"], r) for k, r in refs.items()}
    assert status["booked"]["status"] == "booked"
    assert status["attention"]["status"] == "needs_attention"
    assert status["crash"]["status"] == "needs_attention"
    assert any(p["code"] == "mapping.internal_error" for p in status["crash"]["problems"]), (
        "this order no longer crashes the mapping: give the test another real crash")

    # JNE refuses, quoting the values: the ledger keeps JNE's words for the owner, the log does not.
    fake_jne.reply(echo_refusal)
    refused = send(served, 9104, REFUSED)
    (tmp_path / "fake").mkdir()
    Worker(load_config(ph.write_config(tmp_path / "fake", sqlite_url, fake_jne.url)), served.engine).run_once()
    row = ledger.find_shipment(served.engine, ph.STORES["shopify"], refused)
    assert row["status"] == "needs_attention" and REFUSED.name in json.dumps(row["errors"])

    # The shop refuses the write-back of an order holding personal data.
    _, order = ph.shopify_order(9105, WRITEBACK)
    order.update(id=9105, admin_graphql_api_id="gid://shopify/Order/9105")
    shopify_shop.add(order)
    shopify_shop.cancel(9105)
    assert write_back(shopify_shop.client(), 9105, "0123456789012345", WritebackSettings()).outcome == "refused"

    # The customer asks for erasure: the request carries their e-mail and phone.
    redacted = send(served, 9106, REDACTED)
    body = json.dumps({"shop_id": 1, "shop_domain": ph.SHOPS["shopify"], "orders_to_redact": [int(redacted)],
                       "customer": {"id": 91060, "email": REDACTED.email, "phone": REDACTED.phone}}).encode()
    answer = app_helpers.requests.post(f"{served}/webhooks/shopify", data=body, timeout=10, headers=shopify_headers(
        body, ph.SECRETS["shopify"], ph.SHOPS["shopify"], "customers/redact"))
    assert answer.status_code == 200

    logged = caplog.text
    for expected in ("outcome=booked", "RECEIVER_ZIP:value.blank", "failed on an order", "Traceback",
                     "InvalidOperation (message left out", "fields named: RECEIVER_ADDR1, RECEIVER_NAME",
                     "write-back refused", "customers/redact for customer 91060"):
        assert expected in logged, expected
    err = capfd.readouterr()
    for marks in ALL:
        assert marks.found_in(logged + err.out + err.err) == [], marks


def test_a_worker_process_logs_no_personal_data(tmp_path, sqlite_url, fake_jne):
    fake_jne.reply(echo_refusal)
    config = ph.make_config(tmp_path, sqlite_url, fake_jne.url)
    engine = ledger.make_engine(sqlite_url)
    ledger.upgrade(engine)
    refs = [ph.ingest(engine, "shopify", *ph.shopify_order(9201, REFUSED)),
            ph.ingest(engine, "shopify", *ph.shopify_order(9202, ATTENTION, fixture="missing_postal_code"))]
    topic, crash = ph.shopify_order(9203, CRASH)
    crash["line_items"] = crashing_line_items(9203, CRASH)
    refs.append(ph.ingest(engine, "shopify", topic, crash))
    proc = subprocess.run([sys.executable, "-m", "integration.cli", "--config", str(config.path), "worker", "--once"],
                          capture_output=True, text=True, timeout=120, cwd=ph.ROOT,
                          env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert {ledger.find_shipment(engine, ph.STORES["shopify"], r)["status"] for r in refs} == {"needs_attention"}
    for expected in ("fields named: RECEIVER_ADDR1, RECEIVER_NAME", "failed on an order", "Traceback",
                     "RECEIVER_ZIP:value.blank"):
        assert expected in proc.stderr, (expected, proc.stderr[-3000:])
    for marks in (REFUSED, ATTENTION, CRASH):
        assert marks.found_in(proc.stdout + proc.stderr) == [], marks
    engine.dispose()
