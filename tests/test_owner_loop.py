"""The store owner's loop as the README tells it, against a running ``jne-integration serve``.

Send an order (signed with the store's own secret by ``send``), read ``status``, edit the mapping,
``replay``: the running service books it with the edited mapping, without a restart. A broken edit
keeps the last good mapping in use and says so in ``status``, ``/healthz`` and the log. Everything
runs for real: the console script in its own process, HTTP on loopback ports, the sandbox JNE, SQLite
and PostgreSQL.
"""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
import yaml
from app_helpers import write_config
from click.testing import CliRunner
from jne_helpers import sandbox, sandbox_server  # noqa: F401  (fixtures, bound by name)

from integration.cli import main
from integration.config import store_fact_keys
from integration.mapping import load_mapping

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "tests" / "fixtures" / "examples" / "shopify_cod.body"
SCRIPT = Path(sys.executable).with_name("jne-integration")

# The owner's first mapping reads the phone from a field their shop does not fill: needs attention.
FIRST = """extends: shopify.yaml
fields:
  RECEIVER_PHONE: {value: order.shipping_address.fax, then: [phone]}
"""
BROKEN = """extends: shopify.yaml
fields:
  RECEIVER_PHONE: {value: "order.shipping_address.phone ||", then: [phone]}
"""
FIXED = """extends: shopify.yaml
fields:
  RECEIVER_PHONE: {value: order.shipping_address.phone, then: [phone]}
  SPECIAL_INS: {const: EDITED WHILE RUNNING}
"""


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def wait_for(what: str, check: Callable[[], Any], seconds: float = 60) -> Any:
    """Poll ``check`` until it returns something true (a deadline, not a timing assertion)."""
    deadline = time.monotonic() + seconds
    while True:
        got = check()
        if got:
            return got
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def shop_folder(tmp_path: Path, sandbox_url: str, database_url: str) -> Path:
    """A store owner's folder: integration.yaml and their own mapping that extends the default."""
    shutil.copytree(ROOT / "mappings", tmp_path / "mappings")
    (tmp_path / "mappings" / "toko.yaml").write_text(FIRST, encoding="utf-8")
    path = write_config(tmp_path, database_url)
    doc = yaml.safe_load(path.read_text())
    doc["jne"].update(url=sandbox_url, username="TESTAPI", api_key="25c898a9faea1a100859ecd9ef674548")
    doc["stores"] = {"toko": {**doc["stores"]["toko-shopify"], "mapping": "mappings/toko.yaml",
                              "order_prefix": "TOKO"}}
    doc["stores"]["toko"]["lookups"] = {"destinations": "mappings/jne_destinations.csv"}
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


def version_of(folder: Path) -> str:
    return load_mapping(folder / "toko.yaml", {"destinations": str(folder / "jne_destinations.csv")},
                        store_keys=store_fact_keys()).version


def the_order(config: Path) -> dict[str, Any]:
    code, out = run("--config", str(config), "status", "--json")
    assert code == 0, out
    rows = json.loads(out)
    assert len(rows) == 1
    return rows[0]


def test_an_edit_under_a_running_serve_is_used_by_replay_and_a_broken_edit_is_refused(
        tmp_path, sandbox, database_url):  # noqa: F811
    config = shop_folder(tmp_path, sandbox.url, database_url)
    folder = tmp_path / "mappings"
    first = version_of(folder)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([str(SCRIPT), "--config", str(config), "serve", "--port", str(port)],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        def up() -> bool:
            try:
                return requests.get(f"{url}/healthz", timeout=1).status_code == 200
            except requests.ConnectionError:
                assert proc.poll() is None, "serve exited"
                return False

        wait_for("serve to answer", up)
        # the owner's own delivery, signed with the store's secret by the CLI
        code, out = run("--config", str(config), "send", "--store", "toko", "--url", url, str(EXAMPLE))
        assert code == 0, out
        assert "topic orders/create assumed" in out and "200" in out
        row = wait_for("needs attention", lambda: (r := the_order(config))["status"] == "needs_attention" and r)
        # the ORDER_ID is known before booking, and the mapping version the order was tried with
        assert (row["order_number"], row["order_id"], row["mapping_version"]) == ("#1042", "TOKO1042", first)
        assert "RECEIVER_PHONE" in row["errors"]

        # A broken edit: the service keeps the first mapping and says so.
        (folder / "toko.yaml").write_text(BROKEN, encoding="utf-8")
        refused = wait_for("the refused edit in /healthz",
                           lambda: requests.get(f"{url}/healthz", timeout=5).json().get("mappings"))
        assert refused == {"toko": {"version": first, "edit_refused": 1,
                                    "fix": "jne-integration check lists the problems"}}
        code, out = run("--config", str(config), "status")
        assert code == 0, out
        assert "the mapping files do not load as they are now" in out and "bad expression" in out
        assert "keeps using the version it last loaded" in out
        before = row["updated_at"]
        code, out = run("--config", str(config), "replay", "--store", "toko", "1042")
        assert code == 0 and "queued toko #1042" in out
        row = wait_for("the replay under the broken edit",
                       lambda: (r := the_order(config))["status"] != "queued" and r["updated_at"] != before and r)
        assert (row["status"], row["mapping_version"]) == ("needs_attention", first)

        # The fix: replay books it with the edited mapping, no restart.
        (folder / "toko.yaml").write_text(FIXED, encoding="utf-8")
        wait_for("the fixed edit to load", lambda: "mappings" not in requests.get(f"{url}/healthz", timeout=5).json())
        code, out = run("--config", str(config), "replay", "--store", "toko", "#1042")
        assert code == 0, out
        row = wait_for("booked", lambda: (r := the_order(config))["status"] == "booked" and r)
        assert row["mapping_version"] == version_of(folder) != first
        [booking] = sandbox.bookings()
        assert booking["cnote"] == row["cnote"]
        code, out = run("--config", str(config), "show", "--store", "toko", "1042", "--json")
        sent = json.loads(out)["fields"]
        assert sent["SPECIAL_INS"] == "EDITED WHILE RUNNING" and sent["RECEIVER_PHONE"] == "+6281234567890"
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=60)
    # the log told the same story
    assert f"the edited files do not load (1 problem(s)); still using version {first}" in output
    assert f"reloaded: version {first} -> " in output
    assert "Traceback" not in output
