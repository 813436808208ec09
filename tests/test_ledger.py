"""The ledger on a real SQLite file and on the real PostgreSQL server (every test runs on both)."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from ledger_helpers import T0, count, delivery, dump_text, later, row, set_status

from integration import ledger
from integration.ledger.tables import writeback_attempts
from integration.vocabulary import ShipmentStatus


@pytest.fixture
def engine(database_url):
    eng = ledger.make_engine(database_url)
    ledger.upgrade(eng)
    yield eng
    eng.dispose()


def test_upgrade_is_idempotent_and_matches_the_tables(engine):
    ledger.upgrade(engine)
    ledger.ensure_schema(engine)
    assert ledger.current_revision(engine) == ledger.head_revision()
    with engine.connect() as conn:
        # The migration and the module's tables describe the same schema.
        assert compare_metadata(MigrationContext.configure(conn), ledger.metadata) == []
    assert ledger.ping(engine)


def test_upgrade_from_0007_keeps_write_back_attempts_and_gives_them_no_http_status(database_url):
    from alembic import command

    from integration.ledger.engine import _alembic_config, writing

    eng = ledger.make_engine(database_url)
    with writing(eng) as conn:
        command.upgrade(_alembic_config(conn), "0007")
    assert ledger.ingest(eng, delivery()) == "stored"
    shipment_id = row(eng, "toko", "1001").id
    with writing(eng) as conn:  # a write-back attempt as 0007 wrote it: no http_status column yet
        conn.execute(sa.text("INSERT INTO writeback_attempts (shipment_id, started_at, cnote, may_have_written, "
                             "outcome, reason) VALUES (:id, :at, 'CN1', :no, 'refused', "
                             "'WooCommerce has no order at orders/1001 (HTTP 404)')"),
                     {"id": shipment_id, "at": T0, "no": False})
    ledger.upgrade(eng)
    assert ledger.current_revision(eng) == ledger.head_revision()
    with eng.connect() as conn:
        [old] = conn.execute(sa.select(writeback_attempts)).all()
    assert (old.cnote, old.outcome, old.http_status) == ("CN1", "refused", None)
    assert "(HTTP 404)" in old.reason  # the reason is kept as it was; the status is not guessed from it
    eng.dispose()


def test_processes_racing_to_create_the_schema_all_succeed(database_url):
    code = ("import sys; from integration import ledger; "
            "ledger.ensure_schema(ledger.make_engine(sys.argv[1]))")
    procs = [subprocess.Popen([sys.executable, "-c", code, database_url], stderr=subprocess.PIPE)
             for _ in range(3)]
    errors = [p.communicate(timeout=60)[1].decode() for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], errors
    eng = ledger.make_engine(database_url)
    assert ledger.current_revision(eng) == ledger.head_revision()
    eng.dispose()


def test_sqlite_engine_uses_wal_and_waits_for_locks(sqlite_url):
    eng = ledger.make_engine(sqlite_url)
    with eng.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL: a 200 survives a power cut
    eng.dispose()


def test_postgres_scheme_is_accepted(pg_url):
    eng = ledger.make_engine(pg_url.replace("postgresql+psycopg://", "postgres://"))
    assert eng.dialect.driver == "psycopg"
    assert ledger.ping(eng)
    eng.dispose()


def test_ping_is_false_and_ingest_raises_when_the_database_is_away():
    eng = ledger.make_engine("postgresql+psycopg://postgres@127.0.0.1:1/test?connect_timeout=2")
    assert ledger.ping(eng) is False
    with pytest.raises(sa.exc.OperationalError):
        ledger.ingest(eng, delivery())


def test_ingest_stored_duplicate_ignored(engine):
    first = delivery(event_id="ev-1")
    assert ledger.ingest(engine, first) == "stored"
    assert ledger.ingest(engine, first) == "duplicate"
    assert count(engine, ledger.deliveries) == 1
    ship = ledger.find_shipment(engine, "toko", "1001")
    assert ship["status"] == "queued" and ship["order_number"] == "#1001" and ship["attempts"] == 0

    set_status(engine, "toko", "1001", "booked", cnote="CN1")
    assert ledger.ingest(engine, delivery(event_id="ev-2", updated_at=later(5))) == "ignored"
    r = row(engine, "toko", "1001")
    assert (r.status, r.cnote, r.snapshot_version) == ("booked", "CN1", 1)
    assert count(engine, ledger.deliveries) == 2  # kept in the inbox all the same


def test_same_event_id_in_another_store_is_not_a_duplicate(engine):
    assert ledger.ingest(engine, delivery(store="a")) == "stored"
    assert ledger.ingest(engine, delivery(store="b")) == "stored"
    assert count(engine, ledger.shipments) == 2


def test_delivery_without_order_goes_to_the_inbox_only(engine):
    assert ledger.ingest(engine, delivery(order_ref=None)) == "stored"
    assert count(engine, ledger.deliveries) == 1 and count(engine, ledger.shipments) == 0


def test_body_and_headers_are_kept_exactly(engine):
    raw = b'{"id": 1001, "note": "caf\xc3\xa9"}\n'
    ledger.ingest(engine, delivery(body=raw))
    with engine.connect() as conn:
        d = conn.execute(sa.select(ledger.deliveries)).one()
    assert bytes(d.body) == raw and d.headers == {"X-Shopify-Topic": "orders/paid"}
    assert d.received_at.tzinfo is not None and d.order_updated_at == T0


def test_newest_updated_at_wins_and_an_older_delivery_does_not_replace(engine):
    ledger.ingest(engine, delivery(event_id="ev-1", updated_at=later(0)))
    ledger.ingest(engine, delivery(event_id="ev-3", updated_at=later(10), order={"v": 3}))
    newest = row(engine, "toko", "1001")
    assert newest.snapshot_version == 2 and newest.order_updated_at == later(10)
    # Out of order: older than what we hold. Stored in the inbox, the snapshot stays.
    assert ledger.ingest(engine, delivery(event_id="ev-2", updated_at=later(5))) == "stored"
    after = row(engine, "toko", "1001")
    assert (after.delivery_id, after.snapshot_version) == (newest.delivery_id, 2)
    assert count(engine, ledger.deliveries) == 3
    # Same updated_at: the later delivery is the later state.
    ledger.ingest(engine, delivery(event_id="ev-4", updated_at=later(10)))
    assert row(engine, "toko", "1001").snapshot_version == 3


@pytest.mark.parametrize("status", ["needs_attention", "failed", "skipped"])
def test_newer_snapshot_requeues_what_the_owner_may_have_fixed(engine, status):
    ledger.ingest(engine, delivery(event_id="ev-1"))
    set_status(engine, "toko", "1001", status, errors={"RECEIVER_ZIP": ["empty"]},
               skip_reason="test order" if status == "skipped" else None, budget_used=8)
    assert ledger.ingest(engine, delivery(event_id="ev-2", updated_at=later(1))) == "stored"
    r = row(engine, "toko", "1001")
    assert (r.status, r.errors, r.skip_reason, r.budget_used) == ("queued", {}, None, 0)
    assert r.next_attempt_at is not None and r.next_attempt_at <= datetime.now(UTC)


def test_newer_snapshot_keeps_blocked_and_queued_rows_where_they_are(engine):
    ledger.ingest(engine, delivery(order_ref="1", event_id="e1"))
    ledger.ingest(engine, delivery(order_ref="2", event_id="e2"))
    set_status(engine, "toko", "1", "blocked", account_key="acct")
    due = datetime.now(UTC) + timedelta(hours=1)
    set_status(engine, "toko", "2", "queued", next_attempt_at=due)
    ledger.ingest(engine, delivery(order_ref="1", event_id="e1b", updated_at=later(1)))
    ledger.ingest(engine, delivery(order_ref="2", event_id="e2b", updated_at=later(1)))
    one, two = row(engine, "toko", "1"), row(engine, "toko", "2")
    assert (one.status, one.snapshot_version) == ("blocked", 2)
    assert (two.status, two.snapshot_version, two.next_attempt_at) == ("queued", 2, due)


def test_concurrent_ingest_from_threads_keeps_one_row_per_event_and_order(engine):
    orders, events_per_order, threads = 25, 3, 8
    results: Counter[str] = Counter()
    lock = threading.Lock()
    failures: list[BaseException] = []

    def send() -> None:
        try:
            mine = Counter()
            for o in range(orders):
                for k in range(events_per_order):
                    d = delivery(order_ref=str(o), event_id=f"ev-{o}-{k}", updated_at=later(k))
                    mine[ledger.ingest(engine, d)] += 1
            with lock:
                results.update(mine)
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    workers = [threading.Thread(target=send) for _ in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join(timeout=120)
    assert not failures, failures
    assert results["stored"] == orders * events_per_order
    assert results["duplicate"] == orders * events_per_order * (threads - 1)
    assert count(engine, ledger.deliveries) == orders * events_per_order
    assert count(engine, ledger.shipments) == orders
    assert ledger.queue_depth(engine) == {**dict.fromkeys(ShipmentStatus, 0), "queued": orders}
    # Every order ends holding its newest snapshot, whatever the interleaving was.
    assert {r["order"] for r in ledger.list_shipments(engine)} == {str(o) for o in range(orders)}
    assert all(row(engine, "toko", str(o)).order_updated_at == later(events_per_order - 1)
               for o in range(orders))


def test_queue_depth_lists_every_status(engine):
    assert ledger.queue_depth(engine) == dict.fromkeys(ShipmentStatus, 0)
    for i, status in enumerate(["queued", "booked", "booked", "skipped"]):
        ledger.ingest(engine, delivery(order_ref=str(i), event_id=f"e{i}"))
        set_status(engine, "toko", str(i), status)
    assert ledger.queue_depth(engine) == {**dict.fromkeys(ShipmentStatus, 0),
                                          "queued": 1, "booked": 2, "skipped": 1}


def test_list_and_find(engine):
    for i in range(3):
        ledger.ingest(engine, delivery(store="a", order_ref=f"50{i}", event_id=f"e{i}",
                                       order_number=f"#10{i}"))
    ledger.ingest(engine, delivery(store="b", order_ref="900", event_id="x", order_number="4821"))
    set_status(engine, "a", "501", "needs_attention", errors={"RECEIVER_ZIP": ["must be 5 digits"]},
               jne_order_id="ALI101")

    listed = ledger.list_shipments(engine)
    assert len(listed) == 4
    one = ledger.list_shipments(engine, store="a", status="needs_attention")
    assert len(one) == 1
    item = one[0]
    assert {"store", "order", "order_number", "order_id", "status", "cnote", "attempts", "errors",
            "updated_at", "skip_reason"} <= set(item)
    assert (item["store"], item["order"], item["order_id"]) == ("a", "501", "ALI101")
    assert item["errors"] == {"RECEIVER_ZIP": ["must be 5 digits"]}
    assert datetime.fromisoformat(item["updated_at"]).tzinfo is not None
    assert len(ledger.list_shipments(engine, limit=2)) == 2
    assert ledger.list_shipments(engine, store="nope") == []

    for name in ("501", "#101", "101", "ALI101", "ali101"):
        assert ledger.find_shipment(engine, "a", name)["order"] == "501", name
    assert ledger.find_shipment(engine, "b", "4821")["order"] == "900"
    assert ledger.find_shipment(engine, "b", "#4821")["order"] == "900"
    assert ledger.find_shipment(engine, "a", "4821") is None


def test_replay_one_and_refuse_booked(engine):
    ledger.ingest(engine, delivery(order_ref="1", event_id="e1"))
    ledger.ingest(engine, delivery(order_ref="2", event_id="e2"))
    set_status(engine, "toko", "1", "failed", errors={"jne": ["8 attempts"]}, budget_used=8, attempts=8)
    set_status(engine, "toko", "2", "booked", cnote="CN2")

    out = ledger.replay(engine, "toko", "#1")
    assert out["status"] == "queued" and out["requeued"] == 1 and out["errors"] == {}
    r = row(engine, "toko", "1")
    assert r.budget_used == 0 and r.attempts == 8  # a fresh budget; the history stays
    assert r.next_attempt_at <= datetime.now(UTC)

    with pytest.raises(ledger.ReplayError, match="already booked"):
        ledger.replay(engine, "toko", "2")
    with pytest.raises(ledger.ReplayError, match="no order"):
        ledger.replay(engine, "toko", "404")
    assert row(engine, "toko", "2").status == "booked"


def test_replay_of_a_blocked_order_lifts_the_block_for_the_whole_account(engine):
    for i in range(5):
        ledger.ingest(engine, delivery(order_ref=str(i), event_id=f"e{i}"))
        set_status(engine, "toko", str(i), "blocked", account_key="TESTAPI@http://jne" if i < 4 else "other")
    with engine.begin() as conn:
        conn.execute(sa.insert(ledger.account_blocks).values(
            account_key="TESTAPI@http://jne", reason="Username Or API KEY Not Found.", blocked_at=T0))
    assert ledger.blocked_accounts(engine) == {"TESTAPI@http://jne": "Username Or API KEY Not Found."}

    out = ledger.replay(engine, "toko", "0")
    assert out["requeued"] == 4
    assert ledger.blocked_accounts(engine) == {}
    assert ledger.queue_depth(engine)["queued"] == 4
    assert row(engine, "toko", "4").status == "blocked"  # another account's block stands


def test_replay_status(engine):
    for i in range(6):
        ledger.ingest(engine, delivery(store="a" if i % 2 else "b", order_ref=str(i), event_id=f"e{i}"))
        set_status(engine, "a" if i % 2 else "b", str(i), "needs_attention", errors={"X": ["y"]})
    assert ledger.replay_status(engine, "needs_attention", store="a") == 3
    assert ledger.queue_depth(engine)["needs_attention"] == 3
    assert ledger.replay_status(engine, "needs_attention") == 3
    assert ledger.replay_status(engine, "failed") == 0
    with pytest.raises(ledger.ReplayError):
        ledger.replay_status(engine, "booked")
    with pytest.raises(ledger.ReplayError):
        ledger.replay_status(engine, "nonsense")


def test_claims_never_hand_the_same_row_to_two_workers(engine):
    for i in range(60):
        ledger.ingest(engine, delivery(order_ref=str(i), event_id=f"e{i}"))
    got: dict[str, list[int]] = {}
    start = threading.Barrier(4)

    def take(worker: str) -> None:
        start.wait()
        mine: list[int] = []
        while batch := ledger.claim(engine, worker, datetime.now(UTC), 60, 7):
            mine += [c.id for c in batch]
        got[worker] = mine

    threads = [threading.Thread(target=take, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    every = [i for ids in got.values() for i in ids]
    assert len(every) == 60 and len(set(every)) == 60
    # Leased rows are not due until the lease runs out; then they are, for anyone.
    assert ledger.claim(engine, "late", datetime.now(UTC), 60, 100) == []
    again = ledger.claim(engine, "late", datetime.now(UTC) + timedelta(seconds=61), 60, 100)
    assert len(again) == 60


def test_claim_returns_the_snapshot_body(engine):
    ledger.ingest(engine, delivery(order={"id": 1001, "v": 1}))
    ledger.ingest(engine, delivery(event_id="ev-2", updated_at=later(1), order={"id": 1001, "v": 2}))
    (c,) = ledger.claim(engine, "w", datetime.now(UTC), 60, 10)
    assert c.snapshot_version == 2 and b'"v": 2' in c.body and c.received_at is not None


def test_attempts_log_never_holds_credentials(engine):
    ledger.ingest(engine, delivery())
    (c,) = ledger.claim(engine, "w", datetime.now(UTC), 60, 1)
    fields = {"ORDER_ID": "TOKO1001", "RECEIVER_NAME": "BUDI", "USERNAME": "TESTAPI",
              "API_KEY": "25c898a9faea1a100859ecd9ef674548",
              "api_key": "25c898a9faea1a100859ecd9ef674548"}
    got = ledger.begin_attempt(engine, c, "w", "TOKO1001", "TESTAPI@x", fields, datetime.now(UTC), 60)
    assert isinstance(got, tuple) and got[1] is False
    ledger.record_booked(engine, c.id, "TOKO1001", "C1", "TESTAPI@x", datetime.now(UTC),
                         attempt=ledger.AttemptResult(got.id, "booked", 0.2, 200, None,
                                                      '{"status":true,"cnote_no":"C1"}'))

    log = ledger.attempts(engine, "toko", "1001")
    assert len(log) == 1
    assert log[0]["request"] == {"ORDER_ID": "TOKO1001", "RECEIVER_NAME": "BUDI"}
    assert (log[0]["outcome"], log[0]["order_id"], log[0]["worker"]) == ("booked", "TOKO1001", "w")
    assert "25c898a9faea1a100859ecd9ef674548" not in dump_text(engine)
    assert ledger.find_shipment(engine, "toko", "1001")["cnote"] == "C1"


def test_lost_reply_rule_sees_earlier_sends_of_the_same_order_id(engine):
    ledger.ingest(engine, delivery())
    now = datetime.now(UTC)
    (c,) = ledger.claim(engine, "w1", now, 60, 1)
    first = ledger.begin_attempt(engine, c, "w1", "TOKO1001", "acct", {"ORDER_ID": "TOKO1001"}, now, 60)
    assert first[1] is False
    # w1 is killed mid-call (its attempt stays 'sending'); the lease runs out; w2 claims it.
    (c2,) = ledger.claim(engine, "w2", now + timedelta(seconds=61), 60, 1)
    with pytest.raises(ledger.LeaseLost):
        ledger.begin_attempt(engine, c, "w1", "TOKO1001", "acct", {}, now, 60)
    second = ledger.begin_attempt(engine, c2, "w2", "TOKO1001", "acct", {"ORDER_ID": "TOKO1001"},
                                  now + timedelta(seconds=61), 60)
    assert second[1] is True
    # Another ORDER_ID (say, the prefix changed) was never sent by this row.
    r = row(engine, "toko", "1001")
    assert r.attempts == 2 and r.jne_order_id == "TOKO1001"


def test_finish_needs_the_lease_and_requeues_on_a_newer_snapshot(engine):
    ledger.ingest(engine, delivery())
    now = datetime.now(UTC)
    attention = ledger.Settlement(ShipmentStatus.NEEDS_ATTENTION, errors={"X": ["y"]},
                                  problems=[{"field": "X", "code": "c", "params": {}}])
    (c,) = ledger.claim(engine, "w1", now, 60, 1)
    with pytest.raises(ledger.LeaseLost):
        ledger.finish(engine, c, "someone-else", attention, now)
    ledger.ingest(engine, delivery(event_id="ev-2", updated_at=later(1)))
    # A newer snapshot arrived while w1 worked on the old one: w1's verdict is not written.
    assert ledger.finish(engine, c, "w1", attention, now) == ShipmentStatus.QUEUED
    r = row(engine, "toko", "1001")
    assert (r.status, r.lease_owner, r.errors, r.problems) == ("queued", None, {}, [])
    (c2,) = ledger.claim(engine, "w1", datetime.now(UTC), 60, 1)
    assert ledger.finish(engine, c2, "w1", attention, now) == ShipmentStatus.NEEDS_ATTENTION
    r = row(engine, "toko", "1001")
    assert (r.status, r.errors, r.problems) == ("needs_attention", {"X": ["y"]},
                                                [{"field": "X", "code": "c", "params": {}}])


def test_a_blocked_account_refuses_the_call_before_it_is_made(engine):
    ledger.ingest(engine, delivery())
    now = datetime.now(UTC)
    (c,) = ledger.claim(engine, "w1", now, 60, 1)
    blocked = ledger.Settlement(ShipmentStatus.BLOCKED, block_reason="Username Or API KEY Not Found.")
    ledger.ingest(engine, delivery(order_ref="1002", event_id="ev-2"))
    (c2,) = ledger.claim(engine, "w1", datetime.now(UTC), 60, 1)
    assert ledger.finish(engine, c2, "w1", blocked, now, account_key="acct") == ShipmentStatus.BLOCKED
    assert ledger.blocked_accounts(engine) == {"acct": "Username Or API KEY Not Found."}
    with pytest.raises(ledger.AccountBlocked):
        ledger.begin_attempt(engine, c, "w1", "TOKO1001", "acct", {"ORDER_ID": "TOKO1001"}, now, 60)
    assert row(engine, "toko", "1001").attempts == 0
