"""The api/writeback/reconcile store blocks in integration.yaml, and the demo's embedded shops.

The README's quick start runs as written: ``jne-integration serve`` without a configuration file, the
signed example deliveries, then ``jne-integration status`` shows each order booked and ``writeback:
done`` (written to the embedded shop stand-ins the demo stores point at).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import yaml
from app_helpers import example
from shop_helpers import STORE_IDS, shop_store

from integration.config import DEMO_SHOP_TOKEN, DEMO_WOO_SECRET, EMBEDDED_SHOP, load_config
from integration.embedded import demo_order
from integration.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "tests" / "fixtures" / "examples"
TOKEN = "shpat_0123456789abcdef0123456789abcdef"


def _write(tmp_path, stores) -> Path:
    path = tmp_path / "integration.yaml"
    path.write_text(yaml.safe_dump({"database_url": "sqlite:///ledger.db",
                                    "jne": {"url": "http://127.0.0.1:9/x", "username": "U", "api_key": "k" * 20},
                                    "stores": stores}), encoding="utf-8")
    return path


def test_the_api_block_is_read_its_secrets_redacted_and_never_a_store_fact(tmp_path):
    path = _write(tmp_path, {STORE_IDS["shopify"]: shop_store("shopify", {
        "url": "https://toko-contoh.myshopify.com", "access_token": TOKEN},
        writeback={"complete_order": True}, reconcile={"every_s": 600})})
    config = load_config(path)
    store = config.stores["toko-shopify"]
    assert store.shop_api.api.url == "https://toko-contoh.myshopify.com"
    assert (store.shop_api.writeback.enabled, store.shop_api.reconcile.every_s) == (True, 600)
    assert "api" not in store.facts  # a mapping cannot read store.api.access_token
    assert TOKEN in config.secrets()
    assert TOKEN not in repr(store) and TOKEN not in repr(config)


def test_platform_mismatches_and_missing_credentials_are_reported_by_key(tmp_path):
    path = _write(tmp_path, {
        "a": shop_store("shopify", {"url": "https://a.myshopify.com"}),
        "b": {**shop_store("woocommerce", {"url": "https://b.example", "consumer_key": "ck", "consumer_secret": "cs",
                                           "access_token": "tok"}), "shop": "https://b.example/"}})
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    text = "\n".join(caught.value.problems)
    assert "stores.a.api: Shopify needs access_token, or client_id with client_secret" in text
    assert "stores.b.api.access_token: a Shopify setting; this store is on WooCommerce" in text
    path = _write(tmp_path, {"c": shop_store("shopify", {"url": "ftp://c", "access_token": TOKEN})})
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert "stores.c.api.url: 'ftp://c' does not have the expected form" in "\n".join(caught.value.problems)


def test_the_demo_stores_write_back_to_embedded_shops_seeded_with_the_example_orders():
    config = load_config(None, env={})
    demo, woo = config.stores["demo"], config.stores["demo-woo"]
    assert demo.shop_api.api.url == woo.shop_api.api.url == EMBEDDED_SHOP
    assert demo.shop_api.api.access_token == DEMO_SHOP_TOKEN and woo.shop_api.api.consumer_secret == DEMO_WOO_SECRET
    assert not demo.shop_api.reconcile.enabled  # the demo's orders are the ones you send
    # The package's copies are the signed examples, byte for byte (a copy that drifted would not book).
    for platform, name in (("shopify", "shopify_cod"), ("woocommerce", "woocommerce_cod")):
        shipped = ROOT / "integration" / "shop" / "demo" / f"{name}.body"
        assert shipped.read_bytes() == (EXAMPLES / f"{name}.body").read_bytes()
        assert demo_order(platform) == json.loads(example(name)[0])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_quick_start_shows_each_example_order_booked_and_written_back(tmp_path):
    script = Path(sys.executable).with_name("jne-integration")
    env = {k: v for k, v in os.environ.items() if k not in ("JNE_INTEGRATION_CONFIG", "DATABASE_URL", "JNE_URL")}
    port = _free_port()
    proc = subprocess.Popen([str(script), "serve", "--port", str(port)], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline and proc.poll() is None, "serve did not come up"
            time.sleep(0.1)
        for name, platform in (("shopify_cod", "shopify"), ("woocommerce_cod", "woocommerce")):
            body, headers = example(name)
            answer = requests.post(f"{url}/webhooks/{platform}", data=body, headers=headers, timeout=10)
            assert answer.status_code == 200, answer.text
        while True:
            status = subprocess.run([str(script), "status", "--json"], cwd=tmp_path, env=env, capture_output=True,
                                    text=True, timeout=60)
            rows = json.loads(status.stdout)
            if len(rows) == 2 and {r["writeback"] for r in rows} == {"done"}:
                break
            assert time.monotonic() < deadline + 60, status.stdout
            time.sleep(0.2)
        human = subprocess.run([str(script), "status"], cwd=tmp_path, env=env, capture_output=True, text=True,
                               timeout=60).stdout
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert {r["status"] for r in rows} == {"booked"} and all(r["cnote"] for r in rows)
    assert "WRITEBACK" in human and human.count(" done ") == 2
    assert proc.returncode == 0 and "Traceback" not in output
    assert "write-back done (2 calls)" in output
