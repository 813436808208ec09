"""The dashboard's view of the shop's side and of personal data, over real HTTP, on SQLite and PostgreSQL.

The served app with a worker, the sandbox JNE and the Shopify and WooCommerce stand-ins on loopback
ports: the worker books the seeded orders, then writes their cnotes back to the stand-ins, which do
not know the orders at first and refuse. The order page shows that refusal in the shop's words and
each attempt; `Retry write-back` queues it again once the shop knows the order. The stores page shows
write-backs by state, the last reconcile pass and mapping edits that did not load; erased orders say
so; customers' data requests link to what is held for the customer.
"""

from __future__ import annotations

import copy
import os
import shutil
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import dashboard_helpers
import jne_helpers
import pytest
import requests
import shop_helpers
import sqlalchemy as sa
from dashboard_helpers import ROOT, _fixture_order, csrf_token, login, seed
from shop_helpers import shopify_api, wait_until, woo_api
from test_dashboard_http import ledger_state

from integration import ledger
from integration.ledger.tables import writebacks
from integration.privacy import passes

sandbox_server, sandbox = jne_helpers.sandbox_server, jne_helpers.sandbox
make_system = dashboard_helpers.make_system
_shopify_server, shopify_shop = shop_helpers._shopify_server, shop_helpers.shopify_shop
_woo_server, woo_shop = shop_helpers._woo_server, shop_helpers.woo_shop

CUSTOMER = "7012345678901"  # the customer of the seeded order #1042 (shopify cod_jakarta_example)
CHILD = "extends: shopify.yaml\nfields:\n  SPECIAL_INS: {const: \"%s\"}\n"


def writeback_of(system, name: str) -> str | None:
    store, ref = system.refs[name]
    with system.engine.connect() as conn:
        return conn.execute(sa.select(writebacks.c.status).select_from(writebacks.join(
            ledger.shipments, ledger.shipments.c.id == writebacks.c.shipment_id)).where(
            ledger.shipments.c.store_id == store, ledger.shipments.c.order_ref == ref)).scalar()


def writeback_attempts_of(system, name: str) -> list[dict]:
    """The order's write-back attempts as the ledger holds them, oldest first."""
    return ledger.writeback.writeback_attempts_of(system.engine, *system.refs[name])


def page_with(http: requests.Session, url: str, text: str) -> str | None:
    """The page at ``url`` when it holds ``text`` (for waiting on the worker or a reload), else None."""
    page = http.get(url, timeout=10).text
    return page if text in page else None


@pytest.fixture
def shop_system(database_url, make_system, shopify_shop, woo_shop, tmp_path):
    # database_url first: its schema outlives the worker that make_system stops (see ``system``).
    own = tmp_path / "own-mappings"
    shutil.copytree(ROOT / "mappings", own)
    (own / "toko.yaml").write_text(CHILD % "FIRST", encoding="utf-8")
    system = seed(make_system(database_url, apis={"toko-contoh": shopify_api(shopify_shop),
                                                  "toko-woo": woo_api(woo_shop)},
                              mappings={"toko-contoh": own / "toko.yaml"}))
    # The stand-ins do not know the seeded orders: every write-back ends refused.
    for name in ("cod", "woo", "xss"):
        wait_until(lambda name=name: writeback_of(system, name) == "failed")
    system.own_mappings = own
    return system


def test_an_order_page_shows_a_refused_write_back_and_retry_writes_it_once_the_shop_knows_the_order(
        shop_system, shopify_shop):
    system = shop_system
    http = login(system.url, "owner")
    cnote = system.row("cod")["cnote"]
    page = http.get(system.order_url("cod"), timeout=10).text
    assert "Write-back to the shop" in page and 'class="badge w-failed">failed<' in page
    assert f"the shop did not take cnote {cnote}" in page           # the owner's words
    assert 'class="badge o-refused">refused<' in page              # the attempt, with its outcome
    # Shopify's GraphQL answers an unknown order with 200 and "order": null: the status kept is that 200.
    assert 'o-refused">refused</span></td><td>200</td>' in page
    assert {a["http_status"] for a in writeback_attempts_of(system, "cod")} == {200}
    assert ">Retry write-back</button>" in page
    # The order page of an order that is not booked has no write-back section.
    assert "Write-back to the shop" not in http.get(system.order_url("attention"), timeout=10).text

    # The shop learns the order; Retry write-back queues it again and the worker writes it.
    order, _ = _fixture_order("shopify", "cod_jakarta_example")
    shopify_shop.add(order)
    token = csrf_token(http, system.order_url("cod"))
    answer = http.post(system.order_url("cod", "/writeback-retry"), data={"csrf_token": token}, timeout=10)
    assert answer.status_code == 200 and f"Queued the write-back of cnote {cnote} again" in answer.text
    wait_until(lambda: writeback_of(system, "cod") == "done")
    assert [t["number"] for f in shopify_shop.fulfillments(int(order["id"])) for t in f["trackingInfo"]] == [cnote]
    page = http.get(system.order_url("cod"), timeout=10).text
    assert 'class="badge w-done">done<' in page and f"The shop shows cnote {cnote}" in page
    assert 'o-done">done</span></td><td>200</td>' in page         # the fulfillmentCreate's answer
    assert writeback_attempts_of(system, "cod")[-1]["http_status"] == 200
    assert page.count('class="badge o-refused">refused<') == 1 and page.count('class="badge o-done">done<') == 1
    assert ">Retry write-back</button>" not in page
    # Retrying a done write-back is refused in words, and changes nothing.
    before = ledger_state(system)
    again = http.post(system.order_url("cod", "/writeback-retry"), data={"csrf_token": token}, timeout=10)
    assert f"the shop already shows cnote {cnote}" in again.text
    assert ledger_state(system) == before


def test_a_restricted_user_cannot_retry_another_stores_write_back(shop_system):
    system = shop_system
    http = login(system.url, "ali")
    token = csrf_token(http, f"{system.url}/admin/")
    before = ledger_state(system)
    answer = http.post(system.order_url("cod", "/writeback-retry"), data={"csrf_token": token},
                       allow_redirects=False, timeout=10)
    assert answer.status_code == 404
    assert http.get(f"{system.url}/admin/customers/toko-contoh/{CUSTOMER}", timeout=10).status_code == 404
    assert ledger_state(system) == before and writeback_of(system, "cod") == "failed"
    # His own store's refused write-back: WooCommerce answered 404 for the unknown order, and he may retry
    # it (the stand-in still lacks the order: refused again).
    page = http.get(system.order_url("woo"), timeout=10).text
    assert "WooCommerce has no order" in page and 'o-refused">refused</span></td><td>404</td>' in page
    assert {a["http_status"] for a in writeback_attempts_of(system, "woo")} == {404}  # a number, not text
    mine = http.post(system.order_url("woo", "/writeback-retry"), data={"csrf_token": token}, timeout=10)
    assert mine.status_code == 200 and "Queued the write-back" in mine.text


def test_the_stores_page_shows_write_backs_by_state_the_last_reconcile_pass_and_refused_mapping_edits(shop_system):
    system = shop_system
    http = login(system.url, "owner")
    wait_until(lambda: "Last reconcile pass: <b>none yet</b>" not in http.get(f"{system.url}/admin/stores",
                                                                               timeout=10).text)
    page = http.get(f"{system.url}/admin/stores", timeout=10).text
    assert page.count("Write-back:") == 2
    assert '<span class="badge w-failed">failed</span> 2' in page     # toko-contoh: #1042 and the XSS one
    assert '<span class="badge w-failed">failed</span> 1' in page     # toko-woo
    assert "0 order(s) changed in the shop, 0 taken in" in page          # the stand-ins list nothing new
    assert "Webhooks: <b>not checked yet</b>" in page
    assert "A mapping edit did not load" not in page

    # An edit that does not load: the page names file and line, and the version still in use.
    version = system.raw("cod").mapping_version
    (system.own_mappings / "toko.yaml").write_text(
        'extends: shopify.yaml\nfields:\n  SPECIAL_INS: "order.note ||"\n', encoding="utf-8")
    page = wait_until(lambda: page_with(http, f"{system.url}/admin/stores", "A mapping edit did not load"))
    assert f'version <span class="mono">{version}</span>' in page
    assert "toko.yaml:3: fields.SPECIAL_INS: bad expression" in page


def test_an_order_page_names_the_mapping_version_and_says_when_the_files_changed_since(shop_system):
    system = shop_system
    http = login(system.url, "owner")
    tried = system.raw("attention").mapping_version
    assert tried
    page = http.get(system.order_url("attention"), timeout=10).text
    assert f"{tried} <span class=\"muted\">(in use now)</span>" in page
    # Saved whole, as an editor saves (a new file renamed over the old): the service looks once a
    # second and could otherwise load a half-written file, a valid mapping without the new field.
    edited = system.own_mappings / "toko.yaml.new"
    edited.write_text(CHILD % "SECOND", encoding="utf-8")
    os.replace(edited, system.own_mappings / "toko.yaml")
    page = wait_until(lambda: page_with(http, system.order_url("attention"),
                                        "were edited since this order was last tried"))
    now = system.app.extensions["dashboard"].config.stores["toko-contoh"].mapping.version
    assert now != tried and f"(version {tried}, now {now})" in page
    assert "SECOND" in page  # the preview's fields come from the edited files


@pytest.fixture
def system(database_url, make_system):
    # database_url first: its schema is dropped only after make_system has stopped the worker (fixtures
    # end in reverse order; dropping it under a running worker can deadlock on PostgreSQL).
    return seed(make_system(database_url))


def test_an_erased_order_says_when_and_why_and_shows_no_personal_data(system):
    http = login(system.url, "owner")
    assert "Siti Rahmawati" in http.get(system.order_url("cod"), timeout=10).text
    result = passes.prune(system.engine, 0, "en", datetime.now(UTC))
    assert result.report.erased >= 3
    day = system.raw("cod").personal_erased_at.astimezone(ZoneInfo("Asia/Jakarta")).date()
    for name in ("cod", "skipped"):
        page = http.get(system.order_url(name), timeout=10).text
        assert "Personal data erased on" in page and "(retention period over)" in page, name
        assert "Siti Rahmawati" not in page and "+6281234567890" not in page and "81234567890" not in page
    # JNE fields that held personal data say so, with the date in the store's time zone.
    page = http.get(system.order_url("cod"), timeout=10).text
    assert f"Personal data erased on {day.isoformat()} (retention period over)." in page
    assert f'(retention period over)">erased on {day.isoformat()}</span>' in page
    skipped = http.get(system.order_url("skipped"), timeout=10).text
    assert "No preview: its personal data was erased after the retention period" in skipped
    # An order still open is not erased: its page shows its data.
    assert "Personal data erased" not in http.get(system.order_url("attention"), timeout=10).text


def test_data_requests_list_customer_ids_and_link_to_what_is_held_for_the_customer(system):
    order, _ = _fixture_order("shopify", "cod_jakarta_example")
    request = {"shop_id": 1, "shop_domain": "toko-contoh.myshopify.com",
               "customer": {"id": int(CUSTOMER), "email": "siti@example.com", "phone": "+6281234567890"},
               "orders_requested": [order["id"]], "data_request": {"id": 9001}}
    system.send("toko-contoh", copy.deepcopy(request), "customers/data_request")
    owner = login(system.url, "owner")
    listing = owner.get(f"{system.url}/admin/requests", timeout=10).text
    assert CUSTOMER in listing and "siti@example.com" not in listing
    held = owner.get(f"{system.url}/admin/customers/toko-contoh/{CUSTOMER}", timeout=10)
    assert held.status_code == 200
    assert "Order #1042" in held.text and "Siti Rahmawati" in held.text and system.row("cod")["cnote"] in held.text
    assert "customer data request received" in held.text
    # The restricted user sees neither the request nor the customer.
    ali = login(system.url, "ali")
    assert CUSTOMER not in ali.get(f"{system.url}/admin/requests", timeout=10).text
    assert ali.get(f"{system.url}/admin/customers/toko-contoh/{CUSTOMER}", timeout=10).status_code == 404
    assert requests.get(f"{system.url}/admin/requests", allow_redirects=False, timeout=10).status_code == 303
