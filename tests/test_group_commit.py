"""Group commit on SQLite: threads' deliveries share a transaction, each answered only after its commit."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import replace
from datetime import timedelta

import pytest
import sqlalchemy as sa
from ledger_helpers import count, delivery

from integration import ledger
from integration.ledger.engine import writing
from integration.ledger.group_commit import group_writer
from integration.ledger.inbox import ingest_in
from integration.ledger.tables import deliveries, shipments
from integration.vocabulary import IngestOutcome


@pytest.fixture
def engine(sqlite_url):
    eng = ledger.make_engine(sqlite_url)
    ledger.upgrade(eng)
    yield eng
    eng.dispose()


def _queued(engine, n: int) -> None:
    """Wait until ``n`` callers are queued behind the write turn (bounded, so a bug fails instead of hanging)."""
    writer = group_writer(engine, ingest_in)
    deadline = time.monotonic() + 20
    while len(writer._pending) < n:  # noqa: SLF001 - the queue is what this test is about
        assert time.monotonic() < deadline, f"only {len(writer._pending)} of {n} callers queued"  # noqa: SLF001
        time.sleep(0.005)


def _ingest_in_threads(engine, batch):
    results: dict[int, object] = {}

    def run(i, d):
        try:
            results[i] = ledger.ingest(engine, d)
        except Exception as exc:  # noqa: BLE001 - the test looks at what each caller got
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i, d)) for i, d in enumerate(batch)]
    for t in threads:
        t.start()
    return threads, results


def test_deliveries_queued_behind_a_writer_share_one_commit_and_each_waits_for_it(engine):
    commits = []
    sa.event.listen(engine, "commit", lambda conn: commits.append(1))
    batch = [delivery(order_ref=str(5000 + i), event_id=f"gc-{i}") for i in range(12)]
    with writing(engine) as conn:  # another writer holds the turn while the threads arrive
        threads, results = _ingest_in_threads(engine, batch)
        _queued(engine, len(batch))
        # Nobody was answered while their rows were not committed.
        assert results == {}
        conn.execute(sa.text("SELECT 1"))
    for t in threads:
        t.join(30)
    assert [results[i] for i in range(12)] == [IngestOutcome.STORED] * 12
    assert count(engine, deliveries) == 12 and count(engine, shipments) == 12
    assert len(commits) == 1 + 1  # the blocking writer's, then one for all twelve deliveries


def test_a_repeat_in_the_same_batch_is_a_duplicate_and_a_newer_snapshot_wins(engine):
    first = delivery(order_ref="77", event_id="same")
    batch = [first, replace(first, received_at=first.received_at),
                  delivery(order_ref="78", event_id="a", order_number="#78-old"),
                  delivery(order_ref="78", event_id="b", order_number="#78-new",
                           updated_at=first.order_updated_at + timedelta(minutes=5))]
    with writing(engine):
        threads, results = _ingest_in_threads(engine, batch)
        _queued(engine, len(batch))
    for t in threads:
        t.join(30)
    assert sorted(r.value for r in results.values()) == sorted(["stored", "duplicate", "stored", "stored"])
    assert count(engine, deliveries) == 3
    with engine.connect() as conn:
        number = conn.execute(sa.text("SELECT order_number FROM shipments WHERE order_ref = '78'")).scalar()
    assert number == "#78-new"


def test_a_delivery_the_database_refuses_fails_alone_and_the_rest_of_its_batch_is_stored(engine):
    good = [delivery(order_ref=str(900 + i), event_id=f"ok-{i}") for i in range(5)]
    bad = replace(delivery(order_ref="999", event_id="bad"), store_id=None)  # NOT NULL: the database refuses it
    with writing(engine):
        threads, results = _ingest_in_threads(engine, [*good[:2], bad, *good[2:]])
        _queued(engine, 6)
    for t in threads:
        t.join(30)
    assert isinstance(results[2], sa.exc.IntegrityError)
    assert [results[i] for i in (0, 1, 3, 4, 5)] == [IngestOutcome.STORED] * 5
    assert count(engine, deliveries) == 5 and count(engine, shipments) == 5


def test_when_the_ledger_file_is_gone_every_queued_caller_gets_the_error_and_none_waits(engine, tmp_path):
    ledger.ingest(engine, delivery(order_ref="1", event_id="before"))  # the engine knows its file
    db = engine.url.database
    batch = [delivery(order_ref=str(10 + i), event_id=f"gone-{i}") for i in range(4)]
    with writing(engine):
        threads, results = _ingest_in_threads(engine, batch)
        _queued(engine, 4)
        (tmp_path / "moved.db").write_bytes(b"")
        os.replace(db, tmp_path / "moved.db")
    for t in threads:
        t.join(30)
    assert all(not t.is_alive() for t in threads)
    assert all(isinstance(results[i], sa.exc.OperationalError) for i in range(4)), results

