"""``destinations sync`` over real HTTP: the sandbox JNE's lists, a refused shrink and --force, bad
credentials, an unreachable JNE, JNE's odd answers, and the api_key in no message or log line."""

from __future__ import annotations

import json
import logging
import socket
import threading
from pathlib import Path

import pytest
import requests
from app_helpers import JNE_API_KEY, store_block, write_config
from flask import Flask, Response

from integration.config import JNEAccount, load_config
from integration.destinations import load_resolver
from integration.destinations.jne_list import list_path, load_list, previous_path
from integration.destinations.sync import (
    CredentialsRefused,
    JNEUnreachable,
    ListRefused,
    SyncError,
    destinations_sync,
    list_urls,
    sync_account,
)
from integration.jne.sandbox import create_sandbox_app
from integration.serving import ServerThread, serve_in_thread

USERNAME = "TESTAPI"


@pytest.fixture(scope="module")
def jne_server():
    """A sandbox JNE whose account has the tests' own api_key (so a leak of it is ours to find)."""
    server = serve_in_thread(create_sandbox_app(accounts={USERNAME: JNE_API_KEY}))
    yield server
    server.stop()


@pytest.fixture
def jne(jne_server: ServerThread) -> ServerThread:
    requests.post(jne_server.url + "/_sandbox/lists", json={"fraction": 1}, timeout=5).raise_for_status()
    return jne_server


def set_fraction(server: ServerThread, fraction: float) -> None:
    requests.post(server.url + "/_sandbox/lists", json={"fraction": fraction}, timeout=5).raise_for_status()


def account(server_url: str, api_key: str = JNE_API_KEY) -> JNEAccount:
    return JNEAccount(url=f"{server_url}/pickupcashless", username=USERNAME, api_key=api_key, timeout_s=5)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_list_urls_take_the_origin_of_jne_url_unless_given():
    urls = list_urls("http://apiv2.jne.co.id:10102/pickupcashless")
    assert urls.destinations == "http://apiv2.jne.co.id:10102/insert/getdestination"
    assert urls.origins == "http://apiv2.jne.co.id:10102/insert/getorigin"
    urls = list_urls("https://x.example/a/b?c=1", destinations_url="https://lists.example/dest")
    assert urls.destinations == "https://lists.example/dest" and urls.origins == "https://x.example/insert/getorigin"
    with pytest.raises(SyncError, match="not an http"):
        list_urls("embedded")


def test_sync_from_a_config_file_stores_both_lists_beside_it(tmp_path: Path, jne: ServerThread):
    config_path = write_config(tmp_path, f"sqlite:///{tmp_path / 'ledger.db'}",
                               stores={"toko": store_block("shopify", "toko.myshopify.com", "s3cret-toko-0123456789")},
                               jne={"url": f"{jne.url}/pickupcashless", "username": USERNAME,
                                    "api_key": JNE_API_KEY})
    summary = destinations_sync(config_path, "toko")
    assert summary["failed"] == []
    [done] = summary["synced"]
    host = jne.url.split("//")[1]
    assert done["account"] == f"{USERNAME}@{host}"
    stored = Path(done["file"])
    assert stored == list_path(tmp_path, USERNAME, f"{jne.url}/pickupcashless")
    assert stored.parent.parent == tmp_path and stored.parent.name == "jne-lists"
    assert done["previous"] is None and done["forced"] is False
    assert done["destinations"]["codes"] > 7000 and done["destinations"]["removed"] == 0
    assert done["origins"]["codes"] > 500
    assert done["ignored"]["destinations"]["test row"] == 3
    saved = json.loads(stored.read_text(encoding="utf-8"))
    assert {"code": "BDO10000", "name": "BANDUNG"} in saved["destinations"]
    assert {"code": "BDO10000", "name": "BANDUNG"} in saved["origins"]
    assert JNE_API_KEY not in stored.read_text(encoding="utf-8")
    # preview can now resolve from the file alone, without the ledger
    resolver = load_resolver(stored)
    for postal, jne_name in [("20111", "MEDAN BARAT,MEDAN"), ("90111", "UJUNG PANDANG,MAKASSAR"),
                             ("99111", "JAYAPURA UTARA,JAYAPURA"), ("55264", "GODEAN,SLEMAN"),
                             ("29412", "BELAKANG PADANG,BATAM")]:
        assert resolver.resolve(postal).candidates[0].name == jne_name
    # a second sync keeps the first list as the previous one
    again = destinations_sync(load_config(config_path), "toko")["synced"][0]
    assert again["previous"] == str(previous_path(stored))
    assert load_list(previous_path(stored)).codes() == load_list(stored).codes()


def test_a_sync_that_drops_more_than_a_tenth_is_refused_unless_forced(tmp_path: Path, jne: ServerThread):
    acc = account(jne.url)
    first = sync_account(acc, tmp_path)
    stored = Path(first["file"])
    before = stored.read_bytes()
    set_fraction(jne, 0.85)
    with pytest.raises(ListRefused) as refused:
        sync_account(acc, tmp_path)
    assert "more than a tenth" in refused.value.reason and "--force" in refused.value.reason
    assert "would drop" in refused.value.reason
    assert stored.read_bytes() == before and not previous_path(stored).exists()
    forced = sync_account(acc, tmp_path, force=True)
    assert forced["forced"] is True and forced["destinations"]["removed"] > first["destinations"]["codes"] // 10
    assert load_list(previous_path(stored)).codes() == {r["code"] for r in json.loads(before)["destinations"]}
    assert len(load_list(stored).codes()) == forced["destinations"]["codes"]


def test_a_small_shrink_is_taken_without_force(tmp_path: Path, jne: ServerThread):
    acc = account(jne.url)
    sync_account(acc, tmp_path)
    set_fraction(jne, 0.95)
    done = sync_account(acc, tmp_path)
    assert 0 < done["destinations"]["removed"] <= done["destinations"]["codes"] // 10 + 1


def test_an_empty_list_is_never_stored_even_forced(tmp_path: Path, jne: ServerThread):
    set_fraction(jne, 0)
    with pytest.raises(ListRefused, match="came back empty"):
        sync_account(account(jne.url), tmp_path, force=True)
    assert not list_path(tmp_path, USERNAME, f"{jne.url}/pickupcashless").exists()


def test_bad_credentials_get_a_clear_message_without_the_key(tmp_path: Path, jne: ServerThread, caplog):
    wrong = "wrong-key-0123456789abcdef"
    with caplog.at_level(logging.DEBUG):
        summary = destinations_sync(_config(tmp_path, f"{jne.url}/pickupcashless", wrong))
    [failed] = summary["failed"]
    assert summary["synced"] == []
    assert failed["reason"] == ("JNE refused the credentials of account 'TESTAPI' (Username Or API KEY Not Found.); "
                                "check jne.username and jne.api_key; nothing was changed")
    assert wrong not in json.dumps(summary) and wrong not in caplog.text
    with pytest.raises(CredentialsRefused):
        sync_account(account(jne.url, wrong), tmp_path)
    assert not (tmp_path / "jne-lists").exists() or not any((tmp_path / "jne-lists").glob("*.json"))


def test_an_unreachable_jne_changes_nothing(tmp_path: Path, jne: ServerThread, caplog):
    sync_account(account(jne.url), tmp_path)
    stored = list_path(tmp_path, USERNAME, f"{jne.url}/pickupcashless")
    before = stored.read_bytes()
    gone = f"http://127.0.0.1:{closed_port()}"
    with caplog.at_level(logging.DEBUG), pytest.raises(JNEUnreachable) as caught:
        sync_account(account(jne.url), tmp_path, destinations_url=f"{gone}/insert/getdestination")
    assert caught.value.reason.startswith(f"JNE could not be reached at {gone}/insert/getdestination")
    assert "nothing was changed" in caught.value.reason
    assert stored.read_bytes() == before
    summary = destinations_sync(_config(tmp_path, f"{gone}/pickupcashless", JNE_API_KEY))
    assert summary["failed"][0]["reason"].startswith("JNE could not be reached")
    assert JNE_API_KEY not in caplog.text and JNE_API_KEY not in json.dumps(summary)


class OddJNE:
    """A stand-in JNE answering the list requests with whatever a test sets (real HTTP on loopback)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.answer: tuple[int, str, str] = (200, "{}", "application/json")
        app = Flask("odd_jne")

        @app.post("/insert/getdestination")
        @app.post("/insert/getorigin")
        def lists():
            with self.lock:
                status, body, kind = self.answer
            return Response(body, status=status, content_type=kind)

        self.server = serve_in_thread(app)


@pytest.fixture(scope="module")
def odd_jne():
    odd = OddJNE()
    yield odd
    odd.server.stop()


@pytest.mark.parametrize(("status", "body", "kind", "expected"), [
    (502, "<html>502 Bad Gateway</html>", "text/html", "JNE answered HTTP 502 to the destination list request"),
    (200, "<html>maintenance</html>", "text/html", "is not JSON"),
    (200, '{"status": true}', "application/json", 'has no "detail" list'),
    (200, '{"error": "Service unavailable", "status": false}', "application/json", "with an error: Service"),
])
def test_odd_answers_from_jne_are_named_and_store_nothing(tmp_path: Path, odd_jne: OddJNE, status, body, kind,
                                                          expected):
    with odd_jne.lock:
        odd_jne.answer = (status, body.replace("KEY", JNE_API_KEY), kind)
    with pytest.raises(SyncError) as caught:
        sync_account(account(odd_jne.server.url), tmp_path)
    assert expected in caught.value.reason
    assert not list_path(tmp_path, USERNAME, f"{odd_jne.server.url}/pickupcashless").exists()


def test_an_echoed_api_key_is_masked(tmp_path: Path, odd_jne: OddJNE):
    with odd_jne.lock:
        odd_jne.answer = (500, f"form was username=TESTAPI&api_key={JNE_API_KEY}", "text/plain")
    with pytest.raises(JNEUnreachable) as caught:
        sync_account(account(odd_jne.server.url), tmp_path)
    assert JNE_API_KEY not in caught.value.reason and "api_key=***" in caught.value.reason


def test_unknown_store_is_named(tmp_path: Path, jne: ServerThread):
    with pytest.raises(SyncError, match="unknown store 'nope' \\(stores: toko\\)"):
        destinations_sync(_config(tmp_path, f"{jne.url}/pickupcashless", JNE_API_KEY), "nope")


def test_the_built_in_demo_syncs_from_its_embedded_sandbox(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = load_config(None, env={})
    summary = destinations_sync(config)
    assert summary["failed"] == []
    [done] = summary["synced"]  # both demo stores share one account
    assert done["account"] == "TESTAPI@embedded"
    assert Path(done["file"]).parent == tmp_path / "jne-lists"
    assert load_resolver(Path(done["file"])).resolve("40111", "Bandung").candidates[0].name == "SUMUR BANDUNG,BANDUNG"


def _config(directory: Path, url: str, api_key: str):
    path = write_config(directory, f"sqlite:///{directory / 'ledger.db'}",
                        stores={"toko": store_block("shopify", "toko.myshopify.com", "s3cret-toko-0123456789")},
                        jne={"url": url, "username": USERNAME, "api_key": api_key})
    return load_config(path)


def test_the_summary_reads_as_lines(tmp_path: Path, jne: ServerThread):
    from integration.destinations.sync import describe

    summary = destinations_sync(_config(tmp_path, f"{jne.url}/pickupcashless", JNE_API_KEY), "toko")
    lines = describe(summary)
    host = jne.url.split("//")[1]
    assert lines[0].startswith(f"TESTAPI@{host}: 7,79") and "destinations (+7,79" in lines[0]
    assert "514 origins (+514 -0)" in lines[0]
    assert lines[1] == ("  rows ignored: 8 blank code or name, 6 code is not a JNE code (three letters, five digits), "
                        "2 duplicate row, 2 not an object with City_Code and City_Name, 6 test row")
    assert lines[2].startswith("  stored in ") and lines[2].endswith(".json")
    failed = describe({"failed": [{"account": "A@h", "reason": "JNE could not be reached"}]})
    assert failed == ["A@h: not synced: JNE could not be reached"]
