"""Shopify's compliance topics end to end: signed deliveries over HTTP to the served app, both databases.

Orders with marked personal data arrive as signed webhooks (so the customer id is recorded as the
receiver records it); the worker books some at the sandbox JNE. Then ``customers/redact``,
``customers/data_request`` and ``shop/redact`` arrive signed like any delivery, with Shopify's
documented payloads, and what the ledger holds afterwards is read back: the customer's marks are
gone, other customers' stay, an order still queued is not booked afterwards and says why, the
request is kept by customer id and time only, and ``status --customer ID`` prints what is held.
"""

from __future__ import annotations

import json
import uuid

import app_helpers
import jne_helpers
import privacy_helpers as ph
import requests
from click.testing import CliRunner
from fixtures.sign import shopify_headers
from privacy_helpers import Marks
from test_metrics import scrape

from integration import ledger
from integration.booking.worker import Worker
from integration.cli import main as cli

served_app = app_helpers.served_app
sandbox_server, sandbox = jne_helpers.sandbox_server, jne_helpers.sandbox

SHOP = ph.SHOPS["shopify"]
SECRET = ph.SECRETS["shopify"]
STORE = ph.STORES["shopify"]
# What the request itself carries about the customer: it must be stored nowhere.
REQUEST_EMAIL = "request-mail-5150@example.com"
REQUEST_PHONE = "555-625-5150"


def post(url: str, topic: str, payload: dict, event_id: str | None = None, secret: str = SECRET) -> requests.Response:
    body = json.dumps(payload).encode()
    headers = shopify_headers(body, secret, SHOP, topic, event_id=event_id)
    return requests.post(f"{url}/webhooks/shopify", data=body, headers=headers, timeout=10)


def send_order(url: str, number: int, marks: Marks, fixture: str = "prepaid_jakarta") -> str:
    topic, order = ph.shopify_order(number, marks, fixture=fixture)
    answer = post(url, topic, order)
    assert answer.status_code == 200 and answer.json()["status"] == "accepted", answer.text
    return str(order["id"])


def customer_of(number: int) -> int:
    return number * 10  # as privacy_helpers.shopify_order sets it


def redact_payload(customer: int, orders: list[str]) -> dict:
    return {"shop_id": 954889, "shop_domain": SHOP,
            "customer": {"id": customer, "email": REQUEST_EMAIL, "phone": REQUEST_PHONE},
            "orders_to_redact": [int(o) for o in orders]}


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_customers_redact_erases_that_customers_orders_at_once(served_app, tmp_path, database_url, sandbox):
    served = served_app(ph.write_config(tmp_path, database_url, sandbox.url))
    worker = Worker(served.config, served.engine)
    alice, bob = Marks.of("8101"), Marks.of("8102")
    booked = send_order(served, 7001, alice)
    other = send_order(served, 7002, bob)
    worker.run_once()
    # Alice orders again (same customer id); it is still queued when her request arrives.
    topic, again = ph.shopify_order(7001, alice)
    again.update(id=6_100_000_007_003, order_number=7003, name="#7003")
    assert post(served, topic, again).status_code == 200
    queued = str(again["id"])
    assert ledger.find_shipment(served.engine, STORE, queued)["status"] == "queued"
    bookings = len(sandbox.bookings())
    counted = scrape(served)  # counters are per process: compare with what earlier tests left

    # The request names the customer and one of the orders (Shopify names those of the last months).
    event = str(uuid.uuid4())
    answer = post(served, "customers/redact", redact_payload(customer_of(7001), [booked]), event_id=event)
    assert (answer.status_code, answer.json()) == (200, {"status": "accepted", "store": STORE})

    text = ph.dump_every_table(served.engine)
    assert alice.found_in(text) == []
    assert bob.found_in(text) == list(bob.all)
    assert REQUEST_EMAIL not in text and "625-5150" not in text
    assert ledger.find_shipment(served.engine, STORE, booked)["status"] == "booked"
    ended = ledger.find_shipment(served.engine, STORE, queued)
    assert ended["status"] == "skipped"
    assert ended["skip_reason"].startswith("not booked: the customer asked for the customer's personal data "
                                           "to be erased (Shopify customers/redact")
    # Not booked afterwards: not by the worker, not by a newer delivery of the order, not by a replay.
    worker.run_once()
    again["updated_at"] = "2031-01-01T00:00:00+07:00"
    assert post(served, topic, again).status_code == 200
    worker.run_once()
    assert len(sandbox.bookings()) == bookings
    assert ledger.find_shipment(served.engine, STORE, queued)["status"] == "skipped"
    code, out = run("--config", str(served.config.path), "replay", "--store", STORE, queued)
    assert code == 1 and "erased at the customer's request" in out
    assert ledger.find_shipment(served.engine, STORE, other)["status"] == "booked"

    # The request is kept by customer id and time; a repeat of the same event is a duplicate.
    repeat = post(served, "customers/redact", redact_payload(customer_of(7001), [booked]), event_id=event)
    assert (repeat.status_code, repeat.json()["status"]) == (200, "duplicate")
    code, out = run("--config", str(served.config.path), "status", "--customer", str(customer_of(7001)), "--json")
    held = json.loads(out)
    assert code == 0 and held["customer"] == str(customer_of(7001))
    assert [r["kind"] for r in held["requests"]] == ["customer_redact"] and held["requests"][0]["erased"] == 2
    assert {o["order"] for o in held["orders"]} == {booked, queued}
    assert all(o["erasure"] == "customer_request" for o in held["orders"])
    # The delivery the shop sent again is held until the worker's next minute pass erases it.
    assert [len(o["held"]["deliveries"]) for o in held["orders"] if o["order"] == queued] == [1]
    worker.privacy.run_requests()
    held = json.loads(run("--config", str(served.config.path), "status", "--customer", str(customer_of(7001)),
                          "--json")[1])
    assert all(o["held"] == {"deliveries": [], "sent_to_jne": []} for o in held["orders"])
    assert alice.found_in(ph.dump_every_table(served.engine)) == []
    samples = scrape(served)
    erased = ("integration_personal_data_erased_total", (("reason", "customer_request"),))
    assert samples[erased] - counted.get(erased, 0) == 2
    stored = ("integration_webhook_deliveries_total",
              (("outcome", "stored"), ("store", STORE), ("topic", "customers/redact")))
    assert samples[stored] - counted.get(stored, 0) == 1


def test_data_request_is_recorded_and_status_prints_what_is_held(served_app, tmp_path, database_url, sandbox):
    served = served_app(ph.write_config(tmp_path, database_url, sandbox.url))
    carol = Marks.of("8103")
    ref = send_order(served, 7011, carol)
    Worker(served.config, served.engine).run_once()
    payload = {"shop_id": 954889, "shop_domain": SHOP,
               "customer": {"id": customer_of(7011), "email": REQUEST_EMAIL, "phone": REQUEST_PHONE},
               "orders_requested": [int(ref)], "data_request": {"id": 9999}}
    answer = post(served, "customers/data_request", payload)
    assert (answer.status_code, answer.json()["status"]) == (200, "accepted")
    text = ph.dump_every_table(served.engine)
    assert REQUEST_EMAIL not in text and "625-5150" not in text
    assert carol.found_in(text) == list(carol.all)  # a data request erases nothing

    code, out = run("--config", str(served.config.path), "status", "--customer", str(customer_of(7011)), "--json")
    held = json.loads(out)
    assert code == 0 and [r["kind"] for r in held["requests"]] == ["customer_data_request"]
    [order] = held["orders"]
    assert (order["order"], order["order_number"], order["status"]) == (ref, "#7011", "booked")
    [delivery] = order["held"]["deliveries"]
    assert delivery["personal"]["email"] == carol.email
    assert delivery["personal"]["shipping_address"]["address1"] == f"Jl. {carol.street} No. 88"
    [sent] = order["held"]["sent_to_jne"]
    assert sent["personal"]["RECEIVER_NAME"] == f"{carol.name} {carol.surname}".upper()
    assert "RECEIVER_CITY" not in sent["personal"]  # places are not personal (see privacy/personal.py)
    # The human form says the same to a person, and an unknown customer gets a plain answer.
    code, out = run("--config", str(served.config.path), "status", "--customer", str(customer_of(7011)))
    assert code == 0 and carol.email in out and "RECEIVER_PHONE: +62" in out
    code, out = run("--config", str(served.config.path), "status", "--customer", "424242")
    assert code == 0 and out.strip() == "nothing is held for customer 424242"


def test_shop_redact_erases_the_whole_store(served_app, tmp_path, database_url, sandbox):
    served = served_app(ph.write_config(tmp_path, database_url, sandbox.url))
    marks = [Marks.of(f"82{i:02d}") for i in range(3)]
    refs = [send_order(served, 7100 + i, m) for i, m in enumerate(marks)]
    Worker(served.config, served.engine).run_once()
    woo = Marks.of("8299")
    ph.ingest(served.engine, "woocommerce", *ph.woocommerce_order(7199, woo))  # another store
    answer = post(served, "shop/redact", {"shop_id": 954889, "shop_domain": SHOP})
    assert (answer.status_code, answer.json()["status"]) == (200, "accepted")
    text = ph.dump_every_table(served.engine)
    assert all(m.found_in(text) == [] for m in marks)
    assert woo.found_in(text) == list(woo.all)
    assert {ledger.find_shipment(served.engine, STORE, r)["status"] for r in refs} == {"booked"}


def test_privacy_requests_are_checked_like_any_delivery(served_app, tmp_path, sqlite_url, sandbox):
    served = served_app(ph.write_config(tmp_path, sqlite_url, sandbox.url))
    payload = redact_payload(42, [])
    assert post(served, "customers/redact", payload, secret="wrong-secret-0123456789abcdef").status_code == 401
    body = json.dumps(payload).encode()
    unknown = shopify_headers(body, SECRET, "someone-else.myshopify.com", "customers/redact")
    assert requests.post(f"{served}/webhooks/shopify", data=body, headers=unknown, timeout=10).status_code == 401
    not_json = shopify_headers(b"customer=42", SECRET, SHOP, "customers/redact")
    answer = requests.post(f"{served}/webhooks/shopify", data=b"customer=42", headers=not_json, timeout=10)
    assert (answer.status_code, answer.json()) == (400, {"error": "body is not JSON"})
    nobody = post(served, "customers/redact", {"shop_id": 1, "customer": {"email": REQUEST_EMAIL}})
    assert (nobody.status_code, nobody.json()) == (400, {"error": "request names no customer id and no orders"})
    assert app_helpers.count_rows(served.engine, ledger.privacy_requests) == 0
    assert REQUEST_EMAIL not in ph.dump_every_table(served.engine)
