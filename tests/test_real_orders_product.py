"""Every file of the corpus of real orders (``../shared/real-orders``) through the product: ``preview``,
and the served app with signed deliveries, then the worker against the sandbox JNE.

Per file, the expected outcome is written down here: booked with which key fields, skipped with
which reason, or needing attention with which field and problem. No answer may be a 5xx, nothing
may log a traceback. Each file is one store of its platform (so that a payload and its Indonesian
variant, which share an order id, are two orders), with the default mapping, no destinations table,
and JNE's list synced from the sandbox by ``destinations sync``, as a new store has it.

Shopify files are delivered as ``orders/paid`` (the COD probe as ``orders/create``, as Shopify
sends a COD order), WooCommerce files as ``order.created``. The corpus is read from ``../shared/real-orders``
beside the repository (see test_real_orders_destinations.py); without it these tests skip.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path

import jne_helpers
import pytest
import requests
import sqlalchemy as sa
import yaml
from click.testing import CliRunner
from fixtures.sign import shopify_headers, woocommerce_headers
from test_mapping_fixtures import ORDERS
from test_real_orders_destinations import CORPUS

from integration import ledger
from integration.app import create_app
from integration.booking.worker import Worker
from integration.cli import main
from integration.destinations.sync import destinations_sync
from integration.serving import serve_in_thread
from integration.state import AppState

pytestmark = pytest.mark.skipif(CORPUS is None, reason="../shared/real-orders is not beside the repository "
                                                       "(the corpus of real orders is kept outside it)")
sandbox_server = jne_helpers.sandbox_server

ROOT = Path(__file__).resolve().parents[1]
API_KEY = "25c898a9faea1a100859ecd9ef674548"
NOW = "2026-03-13T10:00:00+07:00"  # a Friday morning, no holiday: preview's pickup is that day
BOOK, SKIP, ATTENTION = "book", "skip", "needs_attention"

# file -> (topic, outcome, what it is: the key fields sent to JNE | the skip reason | {field: problem})
# (CGK40110 is PESANGGRAHAN for the real shop's "Jakarta Selata" 12260; the US and Malaysian
# addresses are outside Indonesia, never Tangerang or a lookup error; SICEPAT titles do not occur
# in this corpus, see test_couriers; 50241 Semarang and 29432 Batam each cover several kecamatan.)
EXPECTED: dict[str, tuple[str, str, object]] = {
    "id_variants/probes/P1_shopify_S4_cod.json": ("orders/create", BOOK, {'DESTINATION_CODE': 'CGK40103', 'SERVICE_CODE': 'OKE', 'RECEIVER_CITY': 'JAKARTA SELATAN', 'RECEIVER_REGION': 'DKI JAKARTA', 'COD_AMOUNT': '257500'}),
    "id_variants/probes/P2_shopify_S1_idr_us_address_PA.json": ("orders/paid", ATTENTION, {'RECEIVER_COUNTRY': 'address.outside_indonesia'}),
    "id_variants/probes/P3_woo_W5_empty_phone.json": ("order.created", ATTENTION, {'RECEIVER_PHONE': 'value.blank'}),
    "id_variants/probes/P4_woo_W1_batam.json": ("order.created", ATTENTION, {'DESTINATION_CODE': 'destination.ambiguous'}),
    "id_variants/probes/P5_woo_W4_phone_without_0.json": ("order.created", ATTENTION, {'DESTINATION_CODE': 'destination.ambiguous'}),
    "id_variants/probes/P6_woo_W3_idr_us_address_PA.json": ("order.created", ATTENTION, {'RECEIVER_COUNTRY': 'address.outside_indonesia'}),
    "id_variants/probes/P7_shopify_S1_weight_1350.json": ("orders/paid", BOOK, {'DESTINATION_CODE': 'CGK40107', 'SERVICE_CODE': 'REG', 'RECEIVER_CITY': 'JAKARTA SELATAN', 'RECEIVER_REGION': 'DKI JAKARTA'}),
    "id_variants/shopify_S1_taxreceipts_order_ID.json": ("orders/paid", BOOK, {'DESTINATION_CODE': 'CGK40107', 'SERVICE_CODE': 'REG', 'RECEIVER_CITY': 'JAKARTA SELATAN', 'RECEIVER_REGION': 'DKI JAKARTA'}),
    "id_variants/shopify_S2_test_notification_orders_create_ID.json": ("orders/paid", SKIP, 'test order'),
    "id_variants/shopify_S3_api_ruby_order_wrapped_ID.json": ("orders/paid", BOOK, {'DESTINATION_CODE': 'SUB10108', 'SERVICE_CODE': 'REG', 'RECEIVER_CITY': 'SURABAYA', 'RECEIVER_REGION': 'JAWA TIMUR'}),
    "id_variants/shopify_S4_doa_jakarta_ID.json": ("orders/paid", BOOK, {'DESTINATION_CODE': 'CGK40103', 'SERVICE_CODE': 'OKE', 'RECEIVER_CITY': 'JAKARTA SELATAN', 'RECEIVER_REGION': 'DKI JAKARTA'}),
    "id_variants/shopify_S5_doa_jaktim_free_ID.json": ("orders/paid", BOOK, {'DESTINATION_CODE': 'CGK50107', 'SERVICE_CODE': 'REG', 'RECEIVER_CITY': 'JAKARTA TIMUR', 'RECEIVER_REGION': 'DKI JAKARTA'}),
    "id_variants/shopify_S6_doa_bandung_ctc_ID.json": ("orders/paid", BOOK, {'DESTINATION_CODE': 'BDO10102', 'SERVICE_CODE': 'CTC', 'RECEIVER_CITY': 'BANDUNG', 'RECEIVER_REGION': 'JAWA BARAT'}),
    "id_variants/shopify_S7_doa_malaysia_ID.json": ("orders/paid", BOOK, {'DESTINATION_CODE': 'JOG10103', 'SERVICE_CODE': 'REG', 'RECEIVER_CITY': 'YOGYAKARTA', 'RECEIVER_REGION': 'DI YOGYAKARTA'}),
    "id_variants/woo_W1_restdocs_727_processing_ID.json": ("order.created", BOOK, {'DESTINATION_CODE': 'DPS10101', 'SERVICE_CODE': 'REG', 'RECEIVER_CITY': 'DENPASAR', 'RECEIVER_REGION': 'BALI'}),
    "id_variants/woo_W2_restdocs_723_completed_ID.json": ("order.created", SKIP, 'not a booking event: order.created/completed'),
    "id_variants/woo_W3_anchorsoap_897_stripe_ID.json": ("order.created", BOOK, {'DESTINATION_CODE': 'UPG10113', 'SERVICE_CODE': 'REG', 'RECEIVER_CITY': 'MAKASSAR', 'RECEIVER_REGION': 'SULAWESI SELATAN'}),
    "id_variants/woo_W4_multivendorx_480_cod_ID.json": ("order.created", ATTENTION, {'DESTINATION_CODE': 'destination.ambiguous'}),
    "id_variants/woo_W5_dokan_429_cod_ID.json": ("order.created", BOOK, {'DESTINATION_CODE': 'TGR20101', 'SERVICE_CODE': 'REG', 'RECEIVER_CITY': 'TANGERANG SELATAN', 'RECEIVER_REGION': 'BANTEN', 'COD_AMOUNT': '250'}),
    "id_variants/woo_W6_legacy_v3_645_wrapped_ID.json": ("order.created", BOOK, {'DESTINATION_CODE': 'CGK10101', 'SERVICE_CODE': 'REG', 'RECEIVER_CITY': 'JAKARTA PUSAT', 'RECEIVER_REGION': 'DKI JAKARTA'}),
    "payloads/shopify_S1_taxreceipts_order.json": ("orders/paid", SKIP, 'shop currency is not IDR'),
    "payloads/shopify_S2_test_notification_orders_create.json": ("orders/paid", SKIP, 'test order'),
    "payloads/shopify_S3_api_ruby_order_wrapped.json": ("orders/paid", SKIP, 'shop currency is not IDR'),
    "payloads/shopify_S4_doa_jakarta.json": ("orders/paid", BOOK, {'DESTINATION_CODE': 'CGK40110', 'SERVICE_CODE': 'OKE', 'RECEIVER_CITY': 'JAKARTA SELATAN', 'RECEIVER_REGION': 'DKI JAKARTA'}),
    "payloads/shopify_S5_doa_jaktim_free.json": ("orders/paid", BOOK, {'DESTINATION_CODE': 'CGK50102', 'SERVICE_CODE': 'REG', 'RECEIVER_CITY': 'JAKARTA TIMUR', 'RECEIVER_REGION': 'DKI JAKARTA'}),
    "payloads/shopify_S6_doa_bandung_ctc.json": ("orders/paid", BOOK, {'DESTINATION_CODE': 'BDO10114', 'SERVICE_CODE': 'CTC', 'RECEIVER_CITY': 'BANDUNG', 'RECEIVER_REGION': 'JAWA BARAT'}),
    "payloads/shopify_S7_doa_malaysia.json": ("orders/paid", ATTENTION, {'RECEIVER_COUNTRY': 'address.outside_indonesia'}),
    "payloads/woo_W1_restdocs_727_processing.json": ("order.created", SKIP, 'shop currency is not IDR'),
    "payloads/woo_W2_restdocs_723_completed.json": ("order.created", SKIP, 'shop currency is not IDR'),
    "payloads/woo_W3_anchorsoap_897_stripe.json": ("order.created", SKIP, 'shop currency is not IDR'),
    "payloads/woo_W4_multivendorx_480_cod.json": ("order.created", SKIP, 'shop currency is not IDR'),
    "payloads/woo_W5_dokan_429_cod.json": ("order.created", SKIP, 'shop currency is not IDR'),
    "payloads/woo_W6_legacy_v3_645_wrapped.json": ("order.created", SKIP, 'shop currency is not IDR'),
}
STATUS = {BOOK: "booked", SKIP: "skipped", ATTENTION: "needs_attention"}
NAMES = sorted(EXPECTED)


def _store(name: str) -> str:
    return f"c{NAMES.index(name):02d}"


def _platform(name: str) -> str:
    return "shopify" if "shopify" in Path(name).name else "woocommerce"


def _shop(name: str) -> str:
    store = _store(name)
    return f"{store}.myshopify.com" if _platform(name) == "shopify" else f"https://{store}.example"


SECRET = "real-orders-secret-7f3a91c2"


@pytest.fixture(scope="module")
def config_path(tmp_path_factory, sandbox_server):
    """One store per corpus file, the sandbox's JNE account, its list synced."""
    folder = tmp_path_factory.mktemp("real-orders")
    facts = yaml.safe_load((ORDERS / "stores.yaml").read_text(encoding="utf-8"))["toko-contoh"]
    block = {k: v for k, v in facts.items() if k not in ("shop", "source", "lookups", "order_prefix")}
    stores = {_store(name): {"platform": _platform(name), "shop": _shop(name), "webhook_secret": SECRET,
                             "mapping": str(ROOT / "mappings" / f"{_platform(name)}.yaml"),
                             "order_prefix": f"RO{_store(name)[1:]}", **block} for name in NAMES}
    doc = {"database_url": f"sqlite:///{folder / 'ledger.db'}",
           "jne": {"url": f"{sandbox_server.url}/pickupcashless", "username": "TESTAPI", "api_key": API_KEY},
           "stores": stores,
           "worker": {"concurrency": 4, "poll_s": 0.05, "backoff_base_s": 0.05, "backoff_max_s": 0.5}}
    path = folder / "integration.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    assert destinations_sync(path)["failed"] == []
    return path


def test_every_corpus_file_has_its_outcome_written_down():
    assert {str(p.relative_to(CORPUS)) for p in CORPUS.rglob("*.json")} == set(EXPECTED)


def _check(name: str, status: str, fields: dict, skip_reason: str | None, problems: dict) -> None:
    topic, outcome, what = EXPECTED[name]
    assert status == STATUS[outcome], (name, skip_reason, problems)
    if outcome == BOOK:
        assert {k: fields.get(k) for k in what} == what, name
        assert "COD_AMOUNT" in what or fields.get("COD_FLAG") == "NO", name
    elif outcome == SKIP:
        assert skip_reason == what, name
    else:
        assert problems == what, name


@pytest.mark.parametrize("name", NAMES)
def test_preview(name, config_path):
    topic = EXPECTED[name][0]
    result = CliRunner().invoke(main, ["--config", str(config_path), "preview", "--store", _store(name), "--topic",
                                       topic, "--now", NOW, "--json", str(CORPUS / name)], catch_exceptions=False)
    assert "Traceback" not in result.output
    doc = json.loads(result.stdout)
    assert result.exit_code == (1 if doc["outcome"] == ATTENTION else 0)
    problems = {p["field"]: p["code"] for p in doc["problems"]}
    _check(name, {"book": "booked", "skip": "skipped"}.get(doc["outcome"], doc["outcome"]), doc["fields"],
           doc["skip_reason"], problems)


class _Tracebacks(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info:
            self.records.append(record)


@pytest.fixture(scope="module")
def served(config_path, sandbox_server):
    """Every file delivered signed to the served app, then booked by the worker: (answers, rows, bookings)."""
    tracebacks = _Tracebacks()
    logging.getLogger().addHandler(tracebacks)
    app = create_app(str(config_path))
    state = AppState.of(app)
    server = serve_in_thread(app)
    stop = threading.Event()
    worker = threading.Thread(target=Worker(state.config, state.engine).run, args=(stop,), daemon=True)
    worker.start()
    answers = {}
    try:
        for name in NAMES:
            body = (CORPUS / name).read_bytes()  # byte for byte as published
            topic = EXPECTED[name][0]
            if _platform(name) == "shopify":
                headers = shopify_headers(body, SECRET, _shop(name), topic)
            else:
                headers = woocommerce_headers(body, SECRET, _shop(name), topic)
            answer = requests.post(f"{server.url}/webhooks/{_platform(name)}", data=body, headers=headers, timeout=30)
            answers[name] = (answer.status_code, answer.json())
        deadline = time.monotonic() + 120
        while ledger.queue_depth(state.engine)["queued"]:
            assert time.monotonic() < deadline, ledger.queue_depth(state.engine)
            time.sleep(0.1)
        with state.engine.connect() as conn:
            s = ledger.shipments
            rows = {r.store_id: r for r in conn.execute(sa.select(s))}
        bookings = {b["fields"]["ORDER_ID"]: b["fields"]
                    for b in requests.get(f"{sandbox_server.url}/_sandbox/bookings", timeout=10).json()}
        yield answers, rows, bookings, tracebacks.records
    finally:
        stop.set()
        worker.join(timeout=30)
        threading.Thread(target=server.stop, daemon=True).start()
        logging.getLogger().removeHandler(tracebacks)


@pytest.mark.parametrize("name", NAMES)
def test_served_and_booked(name, served):
    answers, rows, bookings, _ = served
    status, body = answers[name]
    assert (status, body["status"]) == (200, "accepted"), body
    row = rows[_store(name)]
    sent = bookings.get(row.jne_order_id, {}) if row.status == "booked" else {}
    problems = {p["field"]: p["code"] for p in (row.problems or [])}
    _check(name, row.status, sent, row.skip_reason, problems)


def test_nothing_logged_a_traceback(served):
    assert [r.getMessage() for r in served[3]] == []
