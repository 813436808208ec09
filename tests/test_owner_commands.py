"""status, show, preview and send as a store owner uses them: the real CLI, ledger, worker and sandbox JNE.

- ``status`` run from another folder reads the database the configuration names, says which, and
  lists the shop's order number and the ORDER_ID (before booking too);
- ``show``'s ``order_json`` written to a file previews to exactly the fields the worker sent;
- a raw order previews under the topic that books it on its platform, and preview says so;
- outside text is escaped in every human printer while JSON stays exact.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml
from app_helpers import write_config
from click.testing import CliRunner
from jne_helpers import sandbox, sandbox_server  # noqa: F401  (fixtures, bound by name)

from integration import ledger
from integration.booking.worker import Worker
from integration.cli import main
from integration.config import load_config

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "tests" / "fixtures" / "examples"
ORDERS = ROOT / "tests" / "fixtures" / "orders"


def later() -> datetime:
    """A worker clock just after the deliveries (the ledger makes them due at their arrival)."""
    return datetime.now(UTC) + timedelta(seconds=1)


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def ingest(engine, store: str, body: bytes, topic: str, event: str) -> None:
    order = json.loads(body)
    ledger.ingest(engine, ledger.Delivery(
        store_id=store, platform="shopify", topic=topic, event_id=event, order_ref=str(order["id"]),
        order_number=order.get("name"), order_updated_at=None, received_at=datetime.now(UTC), headers={},
        body=body))


def shop_config(folder: Path, jne_url: str, database: str = "sqlite:///ledger.db") -> Path:
    """An owner's integration.yaml in ``folder`` with a relative SQLite database and relative mappings."""
    shutil.copytree(ROOT / "mappings", folder / "mappings")
    path = write_config(folder, database)
    doc = yaml.safe_load(path.read_text())
    doc["jne"].update(url=jne_url, username="TESTAPI", api_key="25c898a9faea1a100859ecd9ef674548")
    for block in doc["stores"].values():
        block["mapping"] = f"mappings/{block['platform']}.yaml"
        block["lookups"] = {"destinations": "mappings/jne_destinations.csv", "hs_codes": "mappings/hs_codes.csv"}
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


def test_status_from_another_folder_reads_the_configured_database(tmp_path, monkeypatch, sandbox):  # noqa: F811
    shop = tmp_path / "shop"
    shop.mkdir()
    path = shop_config(shop, sandbox.url)
    config = load_config(path)
    engine = ledger.make_engine(config.database_url)
    ledger.ensure_schema(engine)
    ingest(engine, "toko-shopify", (EXAMPLES / "shopify_cod.body").read_bytes(), "orders/create", "e1")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    now = later()

    code, out = run("--config", "../shop/integration.yaml", "status")
    assert code == 0, out
    assert f"database: sqlite:///{(shop / 'ledger.db').resolve()}" in out
    # queued, never mapped: the ORDER_ID the mapping as it is now gives it, beside the shop's number
    line = next(t for t in out.splitlines() if t.startswith("toko-shopify "))
    assert "#1042" in line and "T1042" in line and "queued" in line
    assert not (elsewhere / "integration.db").exists() and list(elsewhere.iterdir()) == []

    Worker(config, engine, clock=lambda: now).run_once()
    code, out = run("--config", "../shop/integration.yaml", "status", "--json")
    [row] = json.loads(out)
    assert (row["order_number"], row["order_id"], row["status"]) == ("#1042", "T1042", "booked")
    assert row["mapping_version"] == config.stores["toko-shopify"].mapping.version


def test_a_password_never_shows_in_the_database_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    from integration.cli.status_view import shown_database

    assert shown_database("postgresql+psycopg://shop:s3cret-pw@db.example/jne") == \
        "postgresql+psycopg://shop:***@db.example/jne"


def test_the_order_id_is_recorded_when_the_order_needs_attention(tmp_path, sqlite_url, sandbox):  # noqa: F811
    path = shop_config(tmp_path, sandbox.url, sqlite_url)
    config = load_config(path)
    engine = ledger.make_engine(config.database_url)
    ledger.ensure_schema(engine)
    broken = json.loads((ORDERS / "shopify" / "phone_unparseable.json").read_text())
    ingest(engine, "toko-shopify", json.dumps(broken["order"]).encode(), broken["topic"], "e1")
    now = later()
    Worker(config, engine, clock=lambda: now).run_once()
    [row] = ledger.list_shipments(engine)
    assert row["status"] == "needs_attention" and row["order_id"] and row["order_id"].startswith("T")
    code, out = run("--config", str(path), "status")
    assert row["order_id"] in out and row["order_number"] in out


def test_show_order_json_previews_to_the_fields_the_worker_sent(tmp_path, database_url, sandbox):  # noqa: F811
    path = shop_config(tmp_path, sandbox.url, database_url)
    config = load_config(path)
    engine = ledger.make_engine(config.database_url)
    ledger.ensure_schema(engine)
    ingest(engine, "toko-shopify", (EXAMPLES / "shopify_cod.body").read_bytes(), "orders/create", "e1")
    now = later()
    Worker(config, engine, clock=lambda: now).run_once()
    [booking] = sandbox.bookings()

    code, out = run("--config", str(path), "show", "--store", "toko-shopify", "1042", "--json")
    assert code == 0, out
    shown = json.loads(out)
    assert {"store", "order", "order_number", "status", "order_json", "fields", "errors", "attempts"} <= set(shown)
    assert (shown["order_number"], shown["status"], shown["fields_from"]) == ("#1042", "booked", "sent")
    assert shown["order_json"] == json.loads((EXAMPLES / "shopify_cod.body").read_bytes())
    sent = shown["attempts"][-1]["request"]
    assert shown["fields"] == sent == booking["fields"]  # what JNE received

    order_file = tmp_path / "order-1042.json"
    order_file.write_text(json.dumps(shown["order_json"]), encoding="utf-8")
    code, out = run("--config", str(path), "preview", "--store", "toko-shopify", "--now", now.isoformat(),
                    "--json", str(order_file))
    assert code == 0, out
    assert json.loads(out)["fields"] == sent
    # show's own --save file, and the whole show --json output, preview the same
    saved = tmp_path / "saved.json"
    code, out = run("--config", str(path), "show", "--store", "toko-shopify", "T1042", "--save", str(saved))
    assert code == 0 and "fields sent to JNE (last call):" in out and "preview --store toko-shopify" in out
    whole = tmp_path / "show.json"
    whole.write_text(json.dumps(shown), encoding="utf-8")
    for file in (saved, whole):
        code, out = run("--config", str(path), "preview", "--store", "toko-shopify", "--now", now.isoformat(),
                        "--json", str(file))
        assert json.loads(out)["fields"] == sent


def test_show_of_a_queued_order_gives_the_fields_it_would_send_and_unknown_orders_are_named(tmp_path, sqlite_url):
    path = write_config(tmp_path, sqlite_url)
    engine = ledger.make_engine(sqlite_url)
    ledger.ensure_schema(engine)
    ingest(engine, "toko-shopify", (EXAMPLES / "shopify_cod.body").read_bytes(), "orders/create", "e1")
    code, out = run("--config", str(path), "show", "--store", "toko-shopify", "#1042")
    assert code == 0, out
    assert "fields the mapping as it is now would send:" in out and "T1042" in out
    assert "show --store toko-shopify 1042 --save order.json" in out  # no "#": a shell comment
    code, out = run("--config", str(path), "show", "--store", "toko-shopify", "9999")
    assert code == 1 and "no order '9999'" in out


def test_a_raw_order_previews_under_the_topic_that_books_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    paid = json.loads((ORDERS / "shopify" / "prepaid_jakarta.json").read_text())["order"]
    assert paid["financial_status"] == "paid"
    raw = tmp_path / "paid.json"
    raw.write_text(json.dumps(paid), encoding="utf-8")
    code, out = run("preview", "--store", "demo", "--json", str(raw))
    doc = json.loads(out)
    assert (doc["topic"], doc["topic_assumed"], doc["outcome"]) == ("orders/paid", True, "book"), out
    code, out = run("preview", "--store", "demo", str(raw))
    assert out.startswith("topic orders/paid assumed: the file does not say")
    # a topic in the file, or --topic, is used as given
    code, out = run("preview", "--store", "demo", "--topic", "orders/updated", "--json", str(raw))
    assert (json.loads(out)["topic"], json.loads(out)["topic_assumed"]) == ("orders/updated", False)
    woo = tmp_path / "woo.json"
    woo.write_text((EXAMPLES / "woocommerce_cod.body").read_text(), encoding="utf-8")
    code, out = run("preview", "--store", "demo-woo", "--json", str(woo))
    assert (json.loads(out)["topic"], json.loads(out)["outcome"]) == ("order.updated", "book"), out


def test_human_output_escapes_control_characters_and_json_stays_exact(tmp_path, sqlite_url):
    path = write_config(tmp_path, sqlite_url)
    engine = ledger.make_engine(sqlite_url)
    ledger.ensure_schema(engine)
    order = json.loads((EXAMPLES / "shopify_cod.body").read_bytes())
    order["name"] = "#1042\x1b]0;pwned\x07"
    order["shipping_address"]["name"] = "ALI\x1b[2J"
    ingest(engine, "toko-shopify", json.dumps(order).encode(), "orders/create", "e1")
    for args in (("status",), ("show", "--store", "toko-shopify", str(order["id"]))):
        code, out = run("--config", str(path), *args)
        assert code == 0, out
        assert "\x1b" not in out and "\x07" not in out
        assert "\\x1b]0;pwned\\x07" in out
    code, out = run("--config", str(path), "status", "--json")
    assert json.loads(out)[0]["order_number"] == "#1042\x1b]0;pwned\x07"
    code, out = run("--config", str(path), "show", "--store", "toko-shopify", str(order["id"]), "--json")
    assert json.loads(out)["order_json"]["shipping_address"]["name"] == "ALI\x1b[2J"
    # preview quotes the order's own value in its message: shown escaped
    order["shipping_address"]["phone"], order["phone"], order["customer"]["phone"] = "12\x1b[2J", None, None
    order_file = tmp_path / "o.json"
    order_file.write_text(json.dumps(order), encoding="utf-8")
    code, out = run("--config", str(path), "preview", "--store", "toko-shopify", str(order_file))
    assert code == 1 and "\x1b" not in out and "'12\\x1b[2J' is not a phone number" in out
