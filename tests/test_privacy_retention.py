"""Personal data past retention is erased by ``prune``, on SQLite and PostgreSQL, and gone from the files.

Orders carrying marked personal data (tests/privacy_helpers.py) are booked by the worker at the
sandbox JNE; the booked ones are then made old. ``prune --dry-run`` counts and changes nothing;
``prune`` erases them: afterwards the marks are in no table's text and, on SQLite, in neither the
database file's nor the WAL's bytes, while an order still open keeps its marks (which proves the
search finds them when they are there). ``status`` says the same about the erased orders as
before, and a replay of one is refused saying why.
"""

from __future__ import annotations

import json
import time

import jne_helpers
import privacy_helpers as ph
import sqlalchemy as sa
from click.testing import CliRunner
from privacy_helpers import Marks

from integration import ledger
from integration.booking.worker import Worker
from integration.cli import main as cli

sandbox_server, sandbox = jne_helpers.sandbox_server, jne_helpers.sandbox

BOOKED = {"shopify": Marks.of("7731"), "woocommerce": Marks.of("7732")}
OPEN = Marks.of("7733")  # an order that needs attention keeps its data
FAILED = Marks.of("7736")  # JNE away for all its attempts: its rows were rewritten many times


def drain(worker: Worker, engine, ref: str, status: str) -> None:
    deadline = time.monotonic() + 30
    while ledger.find_shipment(engine, ph.STORES["shopify"], ref)["status"] != status:
        assert time.monotonic() < deadline, ledger.find_shipment(engine, ph.STORES["shopify"], ref)
        if worker.run_once() == 0:
            time.sleep(0.02)


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_prune_erases_settled_orders_past_retention_from_every_table_and_file(tmp_path, database_url, sandbox):
    config = ph.make_config(tmp_path, database_url, sandbox.url)
    path = str(config.path)
    engine = ledger.make_engine(database_url)
    ledger.upgrade(engine)
    booked = [ph.ingest(engine, "shopify", *ph.shopify_order(5001, BOOKED["shopify"])),
              ph.ingest(engine, "woocommerce", *ph.woocommerce_order(5002, BOOKED["woocommerce"]))]
    kept = ph.ingest(engine, "shopify", *ph.shopify_order(5003, OPEN, fixture="missing_postal_code"))
    Worker(config, engine).run_once()
    sandbox.faults(fail_502=100)
    failed = ph.ingest(engine, "shopify", *ph.shopify_order(5006, FAILED))
    drain(Worker(config, engine), engine, failed, "failed")
    statuses = {r["order"]: r["status"] for r in ledger.list_shipments(engine)}
    assert statuses == {booked[0]: "booked", booked[1]: "booked", kept: "needs_attention", failed: "failed"}
    text = ph.dump_every_table(engine)
    for marks in (*BOOKED.values(), OPEN, FAILED):
        assert marks.found_in(text) == list(marks.all)  # every mark is stored somewhere before
    booked.append(failed)  # settled too: failed is as final as booked until a person replays it

    ph.set_settled_days_ago(engine, 91, *booked)  # settled 91 days ago; retention is 90
    ph.set_settled_days_ago(engine, 400, kept)    # open for a year: still kept
    code, before = run("--config", path, "status", "--json")
    assert code == 0
    text = ph.dump_every_table(engine)

    code, out = run("--config", path, "prune", "--dry-run")
    assert code == 0 and "would erase the personal data of 3 order(s)" in out and "nothing was changed" in out
    assert ph.dump_every_table(engine) == text

    code, out = run("--config", path, "prune")
    assert code == 0 and "erased the personal data of 3 order(s)" in out, out
    text = ph.dump_every_table(engine)
    for marks in (*BOOKED.values(), FAILED):
        assert marks.found_in(text) == []
    assert OPEN.found_in(text) == list(OPEN.all)
    if database_url.startswith("sqlite"):
        assert "WAL checkpointed and truncated" in out
        stored = ph.sqlite_file_bytes(database_url).decode("latin-1")
        for marks in (*BOOKED.values(), FAILED):
            assert marks.found_in(stored) == []
        assert OPEN.found_in(stored) != []  # what is kept is found in the same bytes
    else:
        assert "VACUUM deliveries, shipments, attempts, privacy_requests" in out

    # What happened stays: the status line, the attempt's outcome and the fields that were not personal.
    code, after = run("--config", path, "status", "--json")
    assert code == 0 and json.loads(after) == json.loads(before)
    [attempt] = ledger.attempts(engine, ph.STORES["shopify"], booked[0])
    assert attempt["outcome"] == "booked" and attempt["request"]["RECEIVER_NAME"] == "[erased]"
    assert attempt["request"]["RECEIVER_CITY"] == "JAKARTA SELATAN" and attempt["request"]["ORDER_ID"] == "PV5001"

    # An erased order cannot be replayed, and the owner is told why.
    code, out = run("--config", path, "replay", "--store", ph.STORES["shopify"], booked[0])
    assert code == 1 and "booked" in out
    ledger_row = ledger.find_shipment(engine, ph.STORES["woocommerce"], booked[1])
    assert ledger_row["status"] == "booked"

    # A second pass finds nothing more to do.
    code, out = run("--config", path, "prune", "--dry-run")
    assert "would erase the personal data of 0 order(s)" in out
    engine.dispose()


def test_replay_of_an_erased_order_is_refused_saying_why(tmp_path, database_url, sandbox):
    # A skipped order (not paid yet) past retention: replaying it could only book it without an address.
    config = ph.make_config(tmp_path, database_url, sandbox.url)
    engine = ledger.make_engine(database_url)
    ledger.upgrade(engine)
    marks = Marks.of("7734")
    ref = ph.ingest(engine, "shopify", *ph.shopify_order(5004, marks, fixture="prepaid_on_create_skipped"))
    Worker(config, engine).run_once()
    assert ledger.find_shipment(engine, ph.STORES["shopify"], ref)["status"] == "skipped"
    ph.set_settled_days_ago(engine, 120, ref)
    assert run("--config", str(config.path), "prune")[0] == 0
    assert marks.found_in(ph.dump_every_table(engine)) == []

    code, out = run("--config", str(config.path), "replay", "--store", ph.STORES["shopify"], "#5004")
    assert code == 1
    assert "cannot be replayed: its personal data was erased after the retention period" in out
    assert "the shop must send the order again" in out
    # Replaying every skipped order leaves it out too.
    code, out = run("--config", str(config.path), "replay", "--status", "skipped")
    assert code == 0 and "queued 0 shipment(s)" in out
    assert ledger.find_shipment(engine, ph.STORES["shopify"], ref)["status"] == "skipped"
    engine.dispose()


def test_a_newer_snapshot_of_a_retention_erased_skipped_order_books_it(tmp_path, database_url, sandbox):
    # Paid 100 days after it was created: the shop's delivery brings the data back, and it is booked.
    config = ph.make_config(tmp_path, database_url, sandbox.url)
    engine = ledger.make_engine(database_url)
    ledger.upgrade(engine)
    marks = Marks.of("7735")
    topic, order = ph.shopify_order(5005, marks, fixture="prepaid_on_create_skipped")
    ref = ph.ingest(engine, "shopify", topic, order)
    Worker(config, engine).run_once()
    ph.set_settled_days_ago(engine, 100, ref)
    assert run("--config", str(config.path), "prune")[0] == 0
    _, paid = ph.shopify_order(5005, marks)
    ph.ingest(engine, "shopify", "orders/paid", paid)
    Worker(config, engine).run_once()
    ship = ledger.find_shipment(engine, ph.STORES["shopify"], ref)
    assert ship["status"] == "booked" and ship["cnote"]
    s = ledger.shipments
    with engine.connect() as conn:
        erased_at = conn.execute(sa.select(s.c.personal_erased_at).where(s.c.order_ref == ref)).scalar_one()
    assert erased_at is None  # the new data is kept until this booking's own retention runs out
    engine.dispose()
