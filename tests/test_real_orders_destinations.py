"""The corpus of real orders (``../shared/real-orders`` beside the repository): country, courier and
service, destination and RECEIVER_CITY of every file, written down per file.

The corpus is read where the project keeps it, beside the repository (for a git worktree, beside
the main checkout); where it is absent the tests skip and say so. The repository keeps no copy.
JNE's list is the sandbox's, synced over a loopback port.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from integration.config import JNEAccount
from integration.couriers import read_shipping_line
from integration.destinations import address_country, load_resolver
from integration.destinations.regions import regions
from integration.destinations.resolver import AMBIGUOUS, FOUND
from integration.destinations.sync import sync_account
from integration.jne.sandbox import DEFAULT_ACCOUNTS, create_sandbox_app
from integration.serving import serve_in_thread
from integration.text import decode_entities

ROOT = Path(__file__).resolve().parents[1]


def _corpus() -> Path | None:
    """``../shared/real-orders`` beside the repository, or beside the main checkout of this worktree."""
    roots = [ROOT]
    try:
        common = subprocess.run(["git", "rev-parse", "--path-format=absolute", "--git-common-dir"], cwd=ROOT,
                                capture_output=True, text=True, timeout=10, check=True).stdout.strip()
        roots.append(Path(common).parent)
    except (OSError, subprocess.SubprocessError):
        pass
    for root in roots:
        found = root.parent / "shared" / "real-orders"
        if found.is_dir():
            return found
    return None


CORPUS = _corpus()
pytestmark = pytest.mark.skipif(CORPUS is None, reason="../shared/real-orders is not beside the repository "
                                                       "(the corpus of real orders is kept outside it)")

JAKSEL, JAKTIM = "JAKARTA SELATAN", "JAKARTA TIMUR"
# file -> (in Indonesia, SERVICE_CODE, destination: JNE row, or every candidate of an ambiguous one, RECEIVER_CITY)
EXPECTED: dict[str, tuple[bool, str, tuple[str, ...] | None, str | None]] = {
    "payloads/shopify_S1_taxreceipts_order.json": (False, "REG", None, None),
    "payloads/shopify_S2_test_notification_orders_create.json": (False, "REG", None, None),
    "payloads/shopify_S3_api_ruby_order_wrapped.json": (False, "REG", None, None),
    "payloads/shopify_S4_doa_jakarta.json": (True, "OKE", ("PESANGGRAHAN,JAKARTA SELATAN",), JAKSEL),
    "payloads/shopify_S5_doa_jaktim_free.json": (True, "REG", ("PULOGADUNG,JAKARTA TIMUR",), JAKTIM),
    "payloads/shopify_S6_doa_bandung_ctc.json": (True, "CTC", ("CIBEUNYING KIDUL,BANDUNG",), "BANDUNG"),
    "payloads/shopify_S7_doa_malaysia.json": (False, "REG", None, None),
    "payloads/woo_W1_restdocs_727_processing.json": (False, "REG", None, None),
    "payloads/woo_W2_restdocs_723_completed.json": (False, "REG", None, None),
    "payloads/woo_W3_anchorsoap_897_stripe.json": (False, "REG", None, None),
    "payloads/woo_W4_multivendorx_480_cod.json": (False, "REG", None, None),
    "payloads/woo_W5_dokan_429_cod.json": (False, "REG", None, None),
    "payloads/woo_W6_legacy_v3_645_wrapped.json": (False, "REG", None, None),
    "id_variants/shopify_S1_taxreceipts_order_ID.json": (True, "REG", ("KEBAYORAN BARU,JAKARTA SELATAN",), JAKSEL),
    "id_variants/shopify_S2_test_notification_orders_create_ID.json": (True, "REG", ("COBLONG,BANDUNG",), "BANDUNG"),
    "id_variants/shopify_S3_api_ruby_order_wrapped_ID.json": (True, "REG", ("GUBENG,SURABAYA",), "SURABAYA"),
    "id_variants/shopify_S4_doa_jakarta_ID.json": (True, "OKE", ("MAMPANG PRAPATAN,JAKARTA SELATAN",), JAKSEL),
    "id_variants/shopify_S5_doa_jaktim_free_ID.json": (True, "REG", ("DUREN SAWIT,JAKARTA TIMUR",), JAKTIM),
    "id_variants/shopify_S6_doa_bandung_ctc_ID.json": (True, "CTC", ("COBLONG,BANDUNG",), "BANDUNG"),
    "id_variants/shopify_S7_doa_malaysia_ID.json": (True, "REG", ("GONDOKUSUMAN,YOGYAKARTA",), "YOGYAKARTA"),
    "id_variants/woo_W1_restdocs_727_processing_ID.json": (True, "REG", ("DENPASAR SELATAN,DENPASAR",), "DENPASAR"),
    "id_variants/woo_W2_restdocs_723_completed_ID.json": (True, "REG", ("MEDAN PETISAH,MEDAN",), "MEDAN"),
    "id_variants/woo_W3_anchorsoap_897_stripe_ID.json": (True, "REG", ("RAPPOCINI,MAKASSAR",), "MAKASSAR"),
    # 50241 covers two kecamatan of Semarang and the street line names neither: a person chooses
    "id_variants/woo_W4_multivendorx_480_cod_ID.json": (
        True, "REG", ("SEMARANG TENGAH,SEMARANG", "SEMARANG SELATAN,SEMARANG"), "SEMARANG"),
    "id_variants/woo_W5_dokan_429_cod_ID.json": (True, "REG", ("SERPONG,TANGERANG SELATAN",), "TANGERANG SELATAN"),
    "id_variants/woo_W6_legacy_v3_645_wrapped_ID.json": (True, "REG", ("GAMBIR,JAKARTA PUSAT",), "JAKARTA PUSAT"),
    "id_variants/probes/P1_shopify_S4_cod.json": (True, "OKE", ("MAMPANG PRAPATAN,JAKARTA SELATAN",), JAKSEL),
    "id_variants/probes/P2_shopify_S1_idr_us_address_PA.json": (False, "REG", None, None),
    "id_variants/probes/P3_woo_W5_empty_phone.json": (True, "REG", ("SERPONG,TANGERANG SELATAN",), "TANGERANG SELATAN"),
    # 29432 covers three kecamatan of Batam
    "id_variants/probes/P4_woo_W1_batam.json": (
        True, "REG", ("LUBUK BAJA,BATAM", "BENGKONG,BATAM", "BATAM KOTA,BATAM"), "BATAM"),
    "id_variants/probes/P5_woo_W4_phone_without_0.json": (
        True, "REG", ("SEMARANG TENGAH,SEMARANG", "SEMARANG SELATAN,SEMARANG"), "SEMARANG"),
    "id_variants/probes/P6_woo_W3_idr_us_address_PA.json": (False, "REG", None, None),
    "id_variants/probes/P7_shopify_S1_weight_1350.json": (True, "REG", ("KEBAYORAN BARU,JAKARTA SELATAN",), JAKSEL),
}


@pytest.fixture(scope="module")
def resolver(tmp_path_factory):
    folder = tmp_path_factory.mktemp("config")
    server = serve_in_thread(create_sandbox_app())
    try:
        username, key = next(iter(DEFAULT_ACCOUNTS.items()))
        summary = sync_account(JNEAccount(url=f"{server.url}/pickupcashless", username=username, api_key=key),
                               folder)
    finally:
        server.stop()
    return load_resolver(Path(summary["file"]))


def _order(name: str) -> dict:
    data = json.loads((CORPUS / name).read_text(encoding="utf-8"))
    return data["order"] if isinstance(data.get("order"), dict) else data


def _shipping(order: dict) -> dict:
    return order.get("shipping_address") or order.get("shipping") or {}


def test_every_corpus_file_has_an_expected_outcome():
    found = {str(p.relative_to(CORPUS)) for p in CORPUS.rglob("*.json")}
    assert found == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_country_service_and_destination(name, resolver):
    inside, service, destination, receiver_city = EXPECTED[name]
    order = _order(name)
    to = _shipping(order)
    verdict = address_country(to)
    assert verdict.inside is inside
    if not inside:
        assert verdict.problem().code == "address.outside_indonesia"
    line = (order.get("shipping_lines") or [{}])[0]
    choice = read_shipping_line(line.get("title") or line.get("method_title"))
    assert choice.is_jne and choice.service == service
    if destination is None:
        return
    result = resolver.resolve(to.get("zip") or to.get("postcode"), to.get("city"), "",
                              to.get("province_code") or to.get("province") or to.get("state"),
                              " ".join(filter(None, [to.get("address1") or to.get("address_1"),
                                                     to.get("address2") or to.get("address_2")])))
    assert [c.name for c in result.candidates] == list(destination)
    assert result.status == (FOUND if len(destination) == 1 else AMBIGUOUS)
    assert regions().receiver_city(result.city) == receiver_city


def test_ctc_titles_of_the_real_shop_are_never_reg():
    titles = {(_order(n).get("shipping_lines") or [{}])[0].get("title") for n in EXPECTED}
    assert "JNE - CTC" in titles
    assert read_shipping_line("JNE - CTC").service == "CTC"
    assert read_shipping_line("JNE - CTC", ctc_as="base").service == "REG"


def test_woocommerce_item_names_lose_their_entities():
    order = _order("payloads/woo_W1_restdocs_727_processing.json")
    names = [decode_entities(item["name"]) for item in order["line_items"]]
    assert "Ship Your Idea \u2013 Color: Black, Size: M Test" in names
    assert not any("&" in n and ";" in n for n in names)
