"""Least exposure (issue 14): /metrics behind a token, a private SQLite ledger, bounded JNE replies.

Before: /metrics was open on the public port, ledger.db was created readable by every user while
it holds customers' names, phones and addresses, and a JNE reply was read whole whatever its size.
"""

from __future__ import annotations

import os
import stat
import time

import app_helpers
import pytest
import requests
from flask import Flask, Response
from jne_helpers import valid_fields

from integration import ledger
from integration.jne.client import MAX_REPLY_BYTES, TRANSIENT, JNEClient
from integration.serving import serve_in_thread

served_app = app_helpers.served_app  # the fixture, used by name in this module

TOKEN = "metrics-token-0123456789abcdef"


def test_metrics_need_the_bearer_token_when_one_is_configured(served_app, tmp_path, sqlite_url):
    path = app_helpers.write_config(tmp_path, sqlite_url, metrics={"token": TOKEN})
    url = served_app(path)
    for headers in ({}, {"Authorization": "Bearer wrong-token-0123456789"}, {"Authorization": TOKEN},
                    {"Authorization": f"Basic {TOKEN}"}):
        answer = requests.get(f"{url}/metrics", headers=headers, timeout=10)
        assert (answer.status_code, answer.json()) == (401, {"error": "metrics need a bearer token"})
        assert TOKEN not in answer.text
    answer = requests.get(f"{url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
    assert answer.status_code == 200 and "integration_webhook_deliveries" in answer.text


def test_a_short_metrics_token_is_refused(tmp_path, sqlite_url):
    from integration.config import load_config
    from integration.errors import ConfigError

    path = app_helpers.write_config(tmp_path, sqlite_url, metrics={"token": "short"})
    with pytest.raises(ConfigError, match="metrics.token: is too short to be a secret"):
        load_config(path)


def test_the_metrics_token_is_redacted_from_logs(tmp_path, sqlite_url):
    from integration.config import load_config

    config = load_config(app_helpers.write_config(tmp_path, sqlite_url, metrics={"token": TOKEN}))
    assert TOKEN in config.secrets() and TOKEN not in repr(config)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_new_sqlite_ledger_and_its_side_files_are_private(tmp_path):
    old = os.umask(0o022)  # the usual umask, which made the file 0644
    try:
        database = tmp_path / "ledger.db"
        engine = ledger.make_engine(f"sqlite:///{database}")
        ledger.ensure_schema(engine)
        with engine.begin() as conn:  # a write: WAL and SHM exist while a connection is open
            conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS probe (x)")
            files = [database] + [database.with_name(database.name + s) for s in ("-wal", "-shm", "-writelock")]
            present = [f for f in files if f.exists()]
            assert {f.name for f in present} >= {"ledger.db", "ledger.db-wal", "ledger.db-shm"}
            assert {f.name: _mode(f) for f in present} == {f.name: 0o600 for f in present}
        engine.dispose()
    finally:
        os.umask(old)


def test_an_existing_readable_ledger_is_made_private(tmp_path):
    database = tmp_path / "old.db"
    database.write_bytes(b"")
    database.chmod(0o644)
    engine = ledger.make_engine(f"sqlite:///{database}")
    ledger.ensure_schema(engine)
    engine.dispose()
    assert _mode(database) == 0o600


class _Stream:
    """What a stand-in JNE wrote before the client stopped reading."""

    def __init__(self) -> None:
        self.sent = 0
        self.finished = False


def _serve_reply(chunks, stream: _Stream):
    app = Flask(__name__)

    @app.post("/pickupcashless")
    def reply() -> Response:
        def body():
            for chunk in chunks():
                stream.sent += len(chunk)
                yield chunk
            stream.finished = True
        return Response(body(), content_type="application/json")

    return serve_in_thread(app)


def test_a_huge_jne_reply_is_not_read_whole():
    stream = _Stream()

    def chunks():
        yield b'{"detail": [{"status": "sukses", "reason": "'
        for _ in range(800):  # 50 MB
            yield b"x" * 65536

    with _serve_reply(chunks, stream) as server:
        client = JNEClient(f"{server.url}/pickupcashless", "TESTAPI", "key-0123456789", timeout_s=15)
        result = client.book(valid_fields())
        client.close()
        time.sleep(0.5)
    assert result.outcome == TRANSIENT
    assert f"over {MAX_REPLY_BYTES:,} bytes" in result.reason and "same ORDER_ID" in result.reason
    assert not stream.finished and stream.sent < 50 * 1024 * 1024


def test_a_trickling_jne_reply_is_abandoned_after_the_timeout():
    stream = _Stream()

    def chunks():
        for _ in range(40):
            time.sleep(0.25)  # each read is quick, the whole reply never ends
            yield b" "

    with _serve_reply(chunks, stream) as server:
        client = JNEClient(f"{server.url}/pickupcashless", "TESTAPI", "key-0123456789", timeout_s=2)
        result = client.book(valid_fields())
        client.close()
    assert result.outcome == TRANSIENT and "took over 2 s" in result.reason
    assert not stream.finished




def test_tightening_an_open_ledger_keeps_the_locks_this_process_holds(tmp_path):
    # Closing any descriptor of a SQLite file drops every POSIX lock the process holds on it; a
    # second engine on the same file (web app and worker in one `serve` process) must not do that,
    # or another process closing its connection believes it is the last one and removes the WAL.
    import sqlite3
    import subprocess
    import sys

    database = tmp_path / "ledger.db"
    first = ledger.make_engine(f"sqlite:///{database}")
    ledger.ensure_schema(first)
    holder = sqlite3.connect(database, isolation_level=None)
    holder.execute("BEGIN")
    holder.execute("SELECT count(*) FROM sqlite_master").fetchall()  # a reader: WAL must stay
    try:
        second = ledger.make_engine(f"sqlite:///{database}")
        writer = ("import sqlite3, sys; c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
                  "c.execute('CREATE TABLE IF NOT EXISTS probe (x)'); c.execute('INSERT INTO probe VALUES (1)')\n"
                  "c.close()")
        subprocess.run([sys.executable, "-c", writer, str(database)], check=True, timeout=30)
        assert database.with_name("ledger.db-wal").exists(), "the WAL was removed under an open reader"
        second.dispose()
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        first.dispose()
