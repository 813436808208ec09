"""The jne-integration command: check, preview, status, replay, db upgrade, worker --once.

Commands run in-process through click's runner (the real code, the real files and databases);
one test runs the installed console script to prove the entry point itself.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests
import yaml
from app_helpers import write_config
from click.testing import CliRunner
from fixtures.sign import shopify_headers
from jne_helpers import sandbox, sandbox_server  # noqa: F401  (fixtures, bound by name)

from integration.cli import main

ROOT = Path(__file__).resolve().parents[1]
ORDERS = ROOT / "tests" / "fixtures" / "orders"
EXAMPLES = ROOT / "tests" / "fixtures" / "examples"


def run(*args: str) -> tuple[int, str]:
    """Invoke the CLI in-process; return (exit code, stdout + stderr)."""
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_check_demo_and_real_config(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out = run("check")
    assert code == 0, out
    assert "built-in demo configuration: ok" in out and "store demo:" in out
    path = write_config(tmp_path, f"sqlite:///{tmp_path / 'l.db'}")
    code, out = run("check", "--config", str(path))
    assert code == 0, out
    assert str(path) in out


def test_check_names_file_rule_and_line_of_a_broken_mapping(tmp_path):
    mappings = tmp_path / "mappings"
    shutil.copytree(ROOT / "mappings", mappings)
    text = (mappings / "shopify.yaml").read_text(encoding="utf-8")
    broken = text.replace("then: [alnum_upper, {max_bytes: 20}]", "then: [alnum_uper, {max_bytes: 20}]", 1)
    assert broken != text
    (mappings / "shopify.yaml").write_text(broken, encoding="utf-8")
    line = next(i for i, t in enumerate(broken.splitlines(), 1) if "alnum_uper" in t)
    path = write_config(tmp_path, f"sqlite:///{tmp_path / 'l.db'}")
    config = yaml.safe_load(path.read_text())
    for store in config["stores"].values():
        store["mapping"] = str(mappings / f"{store['platform']}.yaml")
    path.write_text(yaml.safe_dump(config), encoding="utf-8")

    code, out = run("--config", str(path), "check")
    assert code == 1
    assert "shopify.yaml" in out and "ORDER_ID" in out and "alnum_uper" in out
    assert f":{line}" in out
    assert "Traceback" not in out


def test_check_reports_config_problems_without_traceback(tmp_path):
    path = tmp_path / "integration.yaml"
    path.write_text("jne: {url: x}\nstores: {}\n", encoding="utf-8")
    code, out = run("check", "--config", str(path))
    assert code == 1
    assert "jne.username" in out and "Traceback" not in out


def test_preview_json_of_the_example_order(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out = run("preview", "--store", "demo", "--topic", "orders/create",
                    "--now", "2025-03-14T10:21:33+07:00", "--json", str(EXAMPLES / "shopify_cod.body"))
    assert code == 0, out
    doc = json.loads(out)
    # the contract's keys, and the outcome, the topic used and the problems as data beside them
    assert {"store", "book", "skip_reason", "fields", "errors"} <= set(doc)
    assert set(doc) - {"store", "book", "skip_reason", "fields", "errors"} == {
        "outcome", "topic", "topic_assumed", "problems", "mapping_version", "pickup_notes"}
    assert doc["store"] == "demo" and doc["book"] is True and doc["errors"] == {}
    assert (doc["outcome"], doc["topic"], doc["problems"]) == ("book", "orders/create", [])
    fields = doc["fields"]
    assert fields["ORDER_ID"] == "DEMO1042"
    assert fields["COD_FLAG"] == "YES" and fields["COD_AMOUNT"] == "185000"
    assert fields["WEIGHT"] == "2" and fields["QTY"] == "3"
    assert fields["RECEIVER_PHONE"] == "+6281234567890"
    # before the 15:00 cutoff on a Friday: picked up the same day at 16:00
    assert fields["PICKUP_DATE"] == "14-03-2025" and fields["PICKUP_TIME"] == "16:00"
    assert all(isinstance(v, str) for v in fields.values())


def test_preview_after_cutoff_moves_to_next_pickup_day(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    # Saturday 16:30 local time is after the cutoff; Sunday is no pickup day
    code, out = run("preview", "--store", "demo", "--now", "2025-03-15T16:30", "--json",
                    str(EXAMPLES / "shopify_cod.body"))
    assert code == 0, out
    assert json.loads(out)["fields"]["PICKUP_DATE"] == "17-03-2025"


def test_preview_exit_codes_skip_and_needs_attention(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out = run("preview", "--store", "demo", "--json", str(ORDERS / "shopify" / "test_order.json"))
    doc = json.loads(out)
    assert code == 0 and doc["book"] is False and "test" in doc["skip_reason"]
    code, out = run("preview", "--store", "demo", "--json", str(ORDERS / "shopify" / "phone_unparseable.json"))
    doc = json.loads(out)
    assert code == 1 and doc["book"] is True and "RECEIVER_PHONE" in doc["errors"]


def test_preview_table_is_readable(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out = run("preview", "--store", "demo", str(ORDERS / "shopify" / "phone_unparseable.json"))
    assert code == 1
    assert "needs attention" in out
    assert any(line.startswith("RECEIVER_PHONE") for line in out.splitlines())
    assert "! " in out


def test_preview_unknown_store_and_bad_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out = run("preview", "--store", "nope", str(EXAMPLES / "shopify_cod.body"))
    assert code == 2 and "no store 'nope'" in out
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    code, out = run("preview", "--store", "demo", str(bad))
    assert code == 2 and "not JSON" in out
    code, out = run("preview", "--store", "demo", "--now", "yesterday", str(EXAMPLES / "shopify_cod.body"))
    assert code == 2 and "ISO-8601" in out


def _config_at(tmp_path: Path, sandbox_url: str, database_url: str) -> Path:
    path = write_config(tmp_path, database_url)
    doc = yaml.safe_load(path.read_text())
    doc["jne"]["url"] = sandbox_url
    doc["jne"]["username"] = "TESTAPI"
    doc["jne"]["api_key"] = "25c898a9faea1a100859ecd9ef674548"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


def test_status_replay_and_worker_once(tmp_path, sandbox, database_url):  # noqa: F811
    from integration import ledger
    from integration.app import create_app
    from integration.serving import serve_in_thread

    path = _config_at(tmp_path, sandbox.url, database_url)
    code, out = run("--config", str(path), "db", "upgrade")
    assert code == 0, out
    app = create_app(str(path))
    broken = json.loads((ORDERS / "shopify" / "phone_unparseable.json").read_text())
    bodies = {
        "good": ((EXAMPLES / "shopify_cod.body").read_bytes(), "orders/create"),
        "bad": (json.dumps(broken["order"]).encode(), broken["topic"]),
    }
    with serve_in_thread(app) as server:
        for name, (body, topic) in bodies.items():
            headers = shopify_headers(body, "test_shopify_client_secret", "toko-contoh.myshopify.com",
                                      topic, event_id=f"evt-{name}")
            assert requests.post(f"{server.url}/webhooks/shopify", data=body, headers=headers,
                                 timeout=10).status_code == 200

    code, out = run("--config", str(path), "status", "--json")
    rows = json.loads(out)
    assert code == 0 and {r["status"] for r in rows} == {"queued"}

    code, out = run("--config", str(path), "worker", "--once")
    assert code == 0, out
    code, out = run("--config", str(path), "status", "--json")
    rows = {r["status"]: r for r in json.loads(out)}
    assert set(rows) == {"booked", "needs_attention"}
    booked = rows["booked"]
    assert {"store", "order", "order_id", "status", "cnote", "attempts", "errors", "updated_at"} <= set(booked)
    assert booked["order_number"] == "#1042" and booked["skip_reason"] is None
    assert booked["order"] == "5891234567890" and booked["order_id"] == "T1042"
    assert len(booked["cnote"]) == 16 and booked["attempts"] == 1
    assert "RECEIVER_PHONE" in rows["needs_attention"]["errors"]
    # beside the words, the same problems as data: field, code, and the rule and line behind them
    problems = rows["needs_attention"]["problems"]
    assert any(p["field"] == "RECEIVER_PHONE" and p["code"] and p["rule"] and p["line"] for p in problems)
    assert booked["problems"] == []

    code, out = run("--config", str(path), "status", "--status", "needs_attention")
    assert code == 0 and "RECEIVER_PHONE" in out and "booked" not in out

    code, out = run("--config", str(path), "replay", "--store", "toko-shopify", "1042")
    assert code == 1 and "booked" in out  # a booked order is never sent again
    code, out = run("--config", str(path), "replay", "--status", "needs_attention")
    assert code == 0 and "queued 1" in out
    engine = ledger.make_engine(database_url)
    assert ledger.queue_depth(engine)["queued"] == 1
    code, out = run("--config", str(path), "replay", "--store", "toko-shopify")
    assert code == 2  # neither ORDER nor --status
    assert len(sandbox.bookings()) == 1


def test_console_script_is_installed(tmp_path):
    script = Path(sys.executable).with_name("jne-integration")
    assert script.exists()
    proc = subprocess.run([str(script), "check"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "demo" in proc.stdout


@pytest.mark.parametrize("command", ["serve", "worker", "sandbox", "check", "preview", "status", "replay", "db"])
def test_every_contract_command_exists(command):
    code, out = run(command, "--help")
    assert code == 0 and "Usage" in out


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_books_and_sigterm_lets_the_call_in_flight_finish(tmp_path, sandbox, sqlite_url):  # noqa: F811
    import signal
    import time

    from integration import ledger

    path = _config_at(tmp_path, sandbox.url, sqlite_url)
    port = _free_port()
    script = Path(sys.executable).with_name("jne-integration")
    proc = subprocess.Popen([str(script), "--config", str(path), "serve", "--port", str(port)],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline and proc.poll() is None, "serve did not come up"
            time.sleep(0.1)
        sandbox.faults(latency_ms=1500)
        body = (EXAMPLES / "shopify_cod.body").read_bytes()
        headers = shopify_headers(body, "test_shopify_client_secret", "toko-contoh.myshopify.com",
                                  "orders/create", event_id="evt-serve")
        assert requests.post(f"{url}/webhooks/shopify", data=body, headers=headers, timeout=10).status_code == 200
        while sandbox.stats()["requests"] == 0:  # the booking is now in flight at JNE
            assert time.monotonic() < deadline + 30
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, output
    rows = ledger.list_shipments(ledger.make_engine(sqlite_url))
    assert [r["status"] for r in rows] == ["booked"]
    assert rows[0]["cnote"] == sandbox.bookings()[0]["cnote"]
    assert "Traceback" not in output
