"""The retention setting, what counts as personal in each platform's order, and the worker's passes.

The worker's daily pass is driven through its own ``tick()`` with the clock it is given (a worker
passes ``time.monotonic``; the test passes a counter it moves by hand), against a real ledger.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import privacy_helpers as ph
import pytest
from privacy_helpers import Marks

from integration import ledger
from integration.config import load_config
from integration.errors import ConfigError
from integration.ledger.retention import PrivacyRequest, RequestKind
from integration.privacy import passes, personal
from integration.privacy.personal import ERASED, Scrubber

# -- the setting ---------------------------------------------------------------------------------


def test_retention_days_default_to_90_and_can_be_set(tmp_path, sqlite_url):
    assert ph.make_config(tmp_path, sqlite_url, "http://127.0.0.1:9/x").retention.personal_days == 90
    config = ph.make_config(tmp_path, sqlite_url, "http://127.0.0.1:9/x", retention={"personal_days": 30})
    assert config.retention.personal_days == 30


@pytest.mark.parametrize(("value", "words"), [(0, "must be at least 1, not 0"),
                                               (5000, "must be at most 3650, not 5000"),
                                               ("ninety", "must be a number, not the text 'ninety'"),
                                               (True, "must be a number, not true/false")])
def test_a_bad_retention_is_refused_naming_the_key(tmp_path, sqlite_url, value, words):
    path = ph.write_config(tmp_path, sqlite_url, "http://127.0.0.1:9/x", retention={"personal_days": value})
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert any("retention.personal_days" in p and words in p for p in caught.value.problems), caught.value.problems


# -- what is personal ----------------------------------------------------------------------------


def test_a_shopify_order_keeps_ids_amounts_products_and_places_only():
    marks = Marks.of("6101")
    _, order = ph.shopify_order(6101, marks)
    kept = personal.without_personal(order, "shopify")
    text = json.dumps(kept)
    assert marks.found_in(text) == [] and "203.0.113.77" not in text
    assert (kept["id"], kept["name"], kept["total_price"]) == (order["id"], "#6101", order["total_price"])
    assert kept["line_items"][0]["sku"] == order["line_items"][0]["sku"]
    assert [(x["title"], x["price"]) for x in kept["shipping_lines"]] == [
        (x["title"], x["price"]) for x in order["shipping_lines"]]
    assert "customer" not in kept and "shipping_address" not in kept and "note_attributes" not in kept
    assert marks.found_in(json.dumps(personal.personal_parts(order, "shopify"))) == list(marks.all)


def test_a_woocommerce_order_keeps_ids_amounts_products_and_places_only():
    marks = Marks.of("6102")
    _, order = ph.woocommerce_order(6102, marks)
    kept = personal.without_personal(order, "woocommerce")
    assert marks.found_in(json.dumps(kept)) == [] and "203.0.113.78" not in json.dumps(kept)
    assert (kept["id"], kept["customer_id"], kept["total"]) == (6102, 61020, order["total"])
    assert "billing" not in kept and "shipping" not in kept and "customer_note" not in kept


def test_values_are_found_in_free_text_in_their_other_spellings():
    scrub = Scrubber({"Andi Pratama", "+62 812-7731-0001", "Jl. Melati 5"}, keep={"Jakarta"})
    text = ("JNE refused RECEIVER_NAME 'ANDI PRATAMA' phone 081277310001 (6281277310001); "
            "form RECEIVER_ADDR1=Jl.+Melati+5&RECEIVER_CITY=Jakarta; Andi Pratamax stays a word")
    assert scrub.text(text) == (f"JNE refused RECEIVER_NAME '{ERASED}' phone {ERASED} ({ERASED}); "
                                f"form RECEIVER_ADDR1={ERASED}&RECEIVER_CITY=Jakarta; Andi Pratamax stays a word")
    assert Scrubber({"Andi"}).text("Andi ke Bandung") == f"{ERASED} ke Bandung"  # whole words only
    assert not Scrubber({"Li", ""})  # too short to search for without erasing half the language


def test_personal_jne_fields_are_erased_and_places_kept():
    sent = {"ORDER_ID": "PV1", "RECEIVER_NAME": "ANDI", "RECEIVER_ADDR1": "JL MELATI 5", "RECEIVER_ADDR3": "",
            "RECEIVER_CITY": "JAKARTA SELATAN", "RECEIVER_ZIP": "12170", "RECEIVER_PHONE": "+6281277310001",
            "SPECIAL_INS": "TITIP TETANGGA", "LAT": "-6.2", "COD_AMOUNT": "150000"}
    assert personal.erase_request(sent) == {**sent, "RECEIVER_NAME": ERASED, "RECEIVER_ADDR1": ERASED,
                                            "RECEIVER_PHONE": ERASED, "SPECIAL_INS": ERASED, "LAT": ERASED}


# -- the worker's passes -------------------------------------------------------------------------


class Clock:
    """Seconds the test moves by hand, for the pass's schedule."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_daily_pass_runs_once_a_day_and_erases_what_is_due(tmp_path, database_url):
    engine = ledger.make_engine(database_url)
    ledger.upgrade(engine)
    marks = Marks.of("6103")
    ref = ph.ingest(engine, "shopify", *ph.shopify_order(6103, marks, fixture="prepaid_on_create_skipped"))
    s = ledger.shipments  # skipped by the trigger, as the worker would have written it
    with engine.begin() as conn:
        conn.execute(s.update().where(s.c.order_ref == ref).values(status="skipped", next_attempt_at=None))
    ph.set_settled_days_ago(engine, 31, ref)
    clock = Clock()
    daily = passes.DailyPass(engine, 30, "en", lambda: datetime.now(UTC), monotonic=clock)
    daily.tick()  # just started: the worker books first
    assert marks.found_in(ph.dump_every_table(engine)) == list(marks.all)
    clock.now += passes.FIRST_PASS_AFTER_S
    daily.tick()
    assert marks.found_in(ph.dump_every_table(engine)) == []
    # The order comes back with new data (the shop saved it again); the next pass is a day away.
    _, order = ph.shopify_order(6103, marks, fixture="prepaid_on_create_skipped")
    ph.ingest(engine, "shopify", "orders/updated", order)
    with engine.begin() as conn:
        conn.execute(s.update().where(s.c.order_ref == ref).values(status="skipped", next_attempt_at=None))
    ph.set_settled_days_ago(engine, 31, ref)
    clock.now += passes.DAY_S - 1
    daily.tick()
    assert marks.found_in(ph.dump_every_table(engine)) != []
    clock.now += 1
    daily.tick()
    assert marks.found_in(ph.dump_every_table(engine)) == []
    engine.dispose()


def test_a_shop_erasure_larger_than_the_web_budget_is_finished_by_the_worker(tmp_path, database_url):
    engine = ledger.make_engine(database_url)
    ledger.upgrade(engine)
    marks = [Marks.of(f"64{i:02d}") for i in range(5)]
    for i, m in enumerate(marks):
        ph.ingest(engine, "shopify", *ph.shopify_order(6400 + i, m))
    now = datetime.now(UTC)
    request = PrivacyRequest(ph.STORES["shopify"], RequestKind.SHOP_REDACT, "ev-shop-redact", None, received_at=now)
    request_id, done = ledger.retention.record_request(engine, request)
    assert not done
    erased, finished = passes.fulfil(engine, replace(request, id=request_id), "id", now, limit=2)
    assert (erased, finished) == (2, False)
    assert [r.id for r in ledger.retention.pending_requests(engine)] == [request_id]
    clock = Clock()
    passes.DailyPass(engine, 90, "id", lambda: datetime.now(UTC), monotonic=clock).tick()
    assert ledger.retention.pending_requests(engine) == []
    text = ph.dump_every_table(engine)
    assert all(m.found_in(text) == [] for m in marks)
    rows = ledger.list_shipments(engine)
    assert {r["status"] for r in rows} == {"skipped"}
    assert all(r["skip_reason"].startswith("tidak dipesan: toko meminta data pribadi pelanggan dihapus") for r in rows)
    engine.dispose()
