"""``jne-integration destinations sync`` as a new user runs it, then ``preview`` across Indonesia.

Issue 9's "done when": a configuration pointing at ``jne-integration sandbox`` (the real command,
run as a process on a loopback port), ``destinations sync``, then ``preview`` of orders to Medan,
Makassar, Jayapura, Sleman and Batam gives each its JNE code. Also the sync's failures: refused
credentials, an unreachable JNE, a list that shrank by more than a tenth (refused, then ``--force``),
each exit 1 with the reason and never the api_key.
"""

from __future__ import annotations

import copy
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import yaml
from click.testing import CliRunner
from test_mapping_fixtures import ORDERS

from integration.cli import main
from integration.jne.sandbox_lists import destination_rows

ROOT = Path(__file__).resolve().parents[1]
COMMAND = Path(sys.executable).with_name("jne-integration")
API_KEY = "25c898a9faea1a100859ecd9ef674548"  # the sandbox's account: JNE's documented test key
WRONG_KEY = "0123456789abcdef0123456789abcdef"
NOW = "2026-03-13T10:00:00+07:00"  # a Friday before the cutoff, no holiday

# city, postal code, province (as the checkout sends it), the JNE code the sandbox's list gives
# that kecamatan, RECEIVER_CITY
DESTINATIONS = {
    "medan": ("Medan", "20112", "Sumatera Utara", "MES10119", "MEDAN"),
    "makassar": ("Makassar", "90222", "Sulawesi Selatan", "UPG10113", "MAKASSAR"),
    "jayapura": ("Jayapura", "99224", "Papua", "DJJ10102", "JAYAPURA"),
    "sleman": ("Sleman", "55581", "DI Yogyakarta", "JOG50112", "SLEMAN"),
    "batam": ("Batam", "29461", "Kepulauan Riau", "BTH10110", "BATAM"),
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def sandbox_process():
    """``jne-integration sandbox --port P`` as a process; its base URL."""
    port = _free_port()
    proc = subprocess.Popen([str(COMMAND), "sandbox", "--port", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(f"{url}/_sandbox/stats", timeout=1)
                break
            except requests.ConnectionError:
                assert proc.poll() is None and time.monotonic() < deadline, "the sandbox did not start"
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def cli(*args: str, cwd: Path) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if k != "JNE_INTEGRATION_CONFIG"}
    done = subprocess.run([str(COMMAND), *args], cwd=cwd, capture_output=True, text=True, timeout=300, env=env)
    return done.returncode, done.stdout, done.stderr


def preview(config: Path, order_file: Path, *extra: str) -> tuple[int, dict]:
    """``preview --json`` in this process (the regions index is built once for all the orders)."""
    result = CliRunner().invoke(main, ["--config", str(config), "preview", "--store", "toko-baru", "--topic",
                                       "orders/paid", "--json", *extra, str(order_file)], catch_exceptions=False)
    return result.exit_code, json.loads(result.stdout)


def new_user_config(folder: Path, jne_url: str, api_key: str = API_KEY) -> Path:
    """What a new user writes: one store, the JNE account, no destinations table."""
    facts = yaml.safe_load((ORDERS / "stores.yaml").read_text(encoding="utf-8"))["toko-contoh"]
    block = {k: v for k, v in facts.items() if k not in ("shop", "source", "lookups")}
    doc = {"database_url": "sqlite:///ledger.db",
           "jne": {"url": f"{jne_url}/pickupcashless", "username": "TESTAPI", "api_key": api_key},
           "stores": {"toko-baru": {"platform": "shopify", "shop": "toko-baru.myshopify.com",
                                    "webhook_secret": "shpss_0123456789abcdef0123456789ab",
                                    "mapping": str(ROOT / "mappings" / "shopify.yaml"), **block}}}
    path = folder / "integration.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def order_to(city: str, postal: str, province: str) -> dict:
    """A paid Shopify order shipped to that city (its one line declared for Batam's customs)."""
    order = copy.deepcopy(json.loads((ORDERS / "shopify" / "prepaid_jakarta.json").read_text(encoding="utf-8"))["order"])
    order["shipping_address"].update(city=city, zip=postal, province=province, province_code=None,
                                     address1="Jl. Contoh No. 1", address2="", company=None)
    for line in order["line_items"]:
        line["properties"] = [{"name": "HS Code", "value": "0901.21"}]
    return order


def test_a_new_user_syncs_then_previews_orders_across_indonesia(tmp_path, sandbox_process):
    config = new_user_config(tmp_path, sandbox_process)
    order_file = tmp_path / "order.json"
    order_file.write_text(json.dumps(order_to("Medan", "20112", "Sumatera Utara")), encoding="utf-8")

    # before the sync: the order needs attention, saying what to run
    code, doc = preview(config, order_file)
    assert code == 1
    assert "destinations sync" in doc["errors"]["DESTINATION_CODE"][0]

    code, out, err = cli("--config", str(config), "destinations", "sync", cwd=tmp_path)
    assert code == 0, err
    real_rows = len(destination_rows()) - 11 - 1  # the sandbox's noise rows and its duplicate
    assert f"{real_rows:,} destinations" in out, out
    assert "rows ignored:" in out and "test row" in out
    assert API_KEY not in out + err
    assert (tmp_path / "jne-lists").is_dir()

    for name, (city, postal, province, code_expected, receiver_city) in DESTINATIONS.items():
        order_file.write_text(json.dumps(order_to(city, postal, province)), encoding="utf-8")
        code, doc = preview(config, order_file, "--now", NOW)
        assert (code, doc["outcome"], doc["errors"]) == (0, "book", {}), (name, doc["errors"])
        assert doc["fields"]["DESTINATION_CODE"] == code_expected, name
        assert doc["fields"]["RECEIVER_CITY"] == receiver_city, name
    # Batam's customs fields come with a Batam destination
    assert doc["fields"]["HS_CODE"].endswith(";0901.21")


def test_sync_failures_exit_1_with_the_reason_and_never_the_api_key(tmp_path, sandbox_process):
    config = new_user_config(tmp_path, sandbox_process, api_key=WRONG_KEY)
    code, out, err = cli("--config", str(config), "destinations", "sync", cwd=tmp_path)
    assert code == 1 and "refused the credentials" in err and "jne.api_key" in err
    assert WRONG_KEY not in out + err

    closed = new_user_config(tmp_path, f"http://127.0.0.1:{_free_port()}", api_key=WRONG_KEY)
    code, out, err = cli("--config", str(closed), "destinations", "sync", "--store", "toko-baru", cwd=tmp_path)
    assert code == 1 and "could not be reached" in err and "nothing was changed" in err
    assert WRONG_KEY not in out + err

    code, out, err = cli("--config", str(config), "destinations", "sync", "--store", "nope", cwd=tmp_path)
    assert code == 1 and "unknown store 'nope'" in err


def test_a_shrunken_list_is_refused_until_forced(tmp_path, sandbox_process):
    config = new_user_config(tmp_path, sandbox_process)
    assert cli("--config", str(config), "destinations", "sync", cwd=tmp_path)[0] == 0
    requests.post(f"{sandbox_process}/_sandbox/lists", json={"fraction": 0.8}, timeout=5).raise_for_status()
    try:
        code, out, err = cli("--config", str(config), "destinations", "sync", cwd=tmp_path)
        assert code == 1 and "more than a tenth" in err and "--force" in err
        code, out, err = cli("--config", str(config), "destinations", "sync", "--force", cwd=tmp_path)
        assert code == 0 and "(forced)" in out, err
        assert "the list before kept in" in out
    finally:
        requests.post(f"{sandbox_process}/_sandbox/lists", json={"fraction": 1}, timeout=5).raise_for_status()
