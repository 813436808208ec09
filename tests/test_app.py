"""create_app wiring, /healthz, JSON errors, gunicorn as the Procfile runs it, secrets out of logs."""

from __future__ import annotations

import logging
from pathlib import Path

import app_helpers
import pytest
import requests
from app_helpers import (
    JNE_API_KEY,
    SHOPIFY_SECRET,
    SHOPIFY_SHOP,
    WOO_SECRET,
    WOO_SOURCE,
    demo_config,
    example,
    start_gunicorn,
    stop_gunicorn,
    write_config,
)
from fixtures.sign import shopify_headers, woocommerce_headers
from flask import Flask

from integration import ledger
from integration.app import create_app
from integration.config import load_config
from integration.state import AppState

served_app = app_helpers.served_app  # the fixture, used by name in this module

SECRETS = (SHOPIFY_SECRET, WOO_SECRET, JNE_API_KEY)


def test_create_app_without_arguments_finds_the_config_like_every_command(tmp_path, monkeypatch):
    monkeypatch.delenv("JNE_INTEGRATION_CONFIG", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    first = write_config(tmp_path, f"sqlite:///{tmp_path / 'a.db'}")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    second = write_config(elsewhere, f"sqlite:///{tmp_path / 'b.db'}")

    monkeypatch.chdir(tmp_path)  # ./integration.yaml
    assert AppState.of(create_app()).config.path == Path("integration.yaml")
    monkeypatch.setenv("JNE_INTEGRATION_CONFIG", str(second))  # the environment wins
    assert AppState.of(create_app()).config.path == second

    monkeypatch.delenv("JNE_INTEGRATION_CONFIG")
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.chdir(empty)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'demo.db'}")
    demo = AppState.of(create_app()).config
    assert demo.is_demo and set(demo.stores) == {"demo", "demo-woo"}
    assert first.exists()


def test_create_app_takes_a_path_or_a_config(tmp_path, database_url):
    path = write_config(tmp_path, database_url)
    assert AppState.of(create_app(str(path))).config.path == path
    config = load_config(path)
    app = create_app(config)
    assert AppState.of(app).config is config
    AppState.of(app).engine.dispose()


def test_app_state_is_typed_and_only_create_app_makes_it(tmp_path, sqlite_url):
    app = create_app(write_config(tmp_path, sqlite_url))
    state = AppState.of(app)
    assert state.intake.config is state.config and state.intake.engine is state.engine
    assert state.schema.ready
    state.engine.dispose()
    with pytest.raises(RuntimeError, match="create_app"):
        AppState.of(Flask("not-ours"))


def test_an_empty_sqlite_database_gets_its_tables(served_app, tmp_path):
    fresh = tmp_path / "new.db"
    served = served_app(write_config(tmp_path, f"sqlite:///{fresh}"))
    assert ledger.current_revision(served.engine) == ledger.head_revision()
    body, headers = example("shopify_cod")
    assert requests.post(f"{served}/webhooks/shopify", data=body, headers=headers, timeout=10).status_code == 200


def test_healthz(served_app, database_url):
    served = served_app(demo_config(database_url))
    r = requests.get(f"{served}/healthz", timeout=10)
    assert (r.status_code, r.json()) == (200, {"status": "ok"})


def test_unknown_paths_and_methods_answer_json(served_app, sqlite_url):
    served = served_app(demo_config(sqlite_url))
    missing = requests.get(f"{served}/nothing-here", timeout=10)
    assert (missing.status_code, missing.json()) == (404, {"error": "not found"})
    wrong = requests.get(f"{served}/webhooks/shopify", timeout=10)
    assert (wrong.status_code, wrong.json()) == (405, {"error": "method not allowed"})
    assert "POST" in wrong.headers["Allow"]
    assert requests.put(f"{served}/healthz", timeout=10).status_code == 405
    assert requests.post(f"{served}/metrics", timeout=10).json() == {"error": "method not allowed"}


def test_a_bug_answers_500_json_without_traceback_or_secret(served_app, sqlite_url, caplog):
    config = demo_config(sqlite_url)
    served = served_app(config)
    secret = config.stores["demo"].webhook_secret

    def broken():
        raise RuntimeError(f"bug while holding {secret}")

    served.app.add_url_rule("/broken", view_func=broken)  # a stand-in for a real bug
    with caplog.at_level(logging.ERROR):
        r = requests.get(f"{served}/broken", timeout=10)
    assert (r.status_code, r.json()) == (500, {"error": "internal error"})
    assert "Traceback" not in r.text and secret not in r.text
    assert "RuntimeError" in caplog.text and "[redacted]" in caplog.text
    assert secret not in caplog.text


def _bad_requests(url: str) -> list[requests.Response]:
    """Requests that carry secrets where a careless receiver would log or echo them."""
    body, _ = example("shopify_cod")
    out = []
    for secret in SECRETS:
        out += [
            requests.post(f"{url}/webhooks/shopify?token={secret}", data=body, timeout=10,
                          headers=shopify_headers(body, "wrong-secret", SHOPIFY_SHOP, "orders/create")),
            requests.post(f"{url}/webhooks/shopify", data=body, timeout=10,
                          headers={"X-Shopify-Hmac-Sha256": secret, "X-Shopify-Shop-Domain": SHOPIFY_SHOP,
                                   "X-Shopify-Topic": secret}),
            requests.post(f"{url}/webhooks/shopify", data=secret.encode(), timeout=10,
                          headers=shopify_headers(secret.encode(), secret, f"{secret}.myshopify.com",
                                                  "orders/create")),
            requests.post(f"{url}/webhooks/woocommerce", data=secret.encode(), timeout=10,
                          headers=woocommerce_headers(secret.encode(), WOO_SECRET, WOO_SOURCE,
                                                      "order.created")),
            requests.post(f"{url}/webhooks/woocommerce", data=f"webhook_id={secret}", timeout=10,
                          headers={"X-WC-Webhook-Source": secret}),
            requests.get(f"{url}/{secret}", timeout=10),
        ]
    return out


def test_secrets_never_reach_answers_or_logs(served_app, tmp_path, sqlite_url, caplog, capfd):
    served = served_app(write_config(tmp_path, sqlite_url))
    with caplog.at_level(logging.DEBUG):
        answers = _bad_requests(served)
    assert {r.status_code for r in answers} <= {400, 401, 404}
    err = capfd.readouterr()
    logged = caplog.text + err.out + err.err
    assert "refused" in logged  # the rejections were logged...
    for secret in SECRETS:
        assert all(secret not in r.text for r in answers)
        assert secret not in logged  # ...without a secret in them
    assert served.deliveries() == 0


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_gunicorn_runs_create_app_like_the_procfile(tmp_path, backend, request):
    url_fixture = "sqlite_url" if backend == "sqlite" else "pg_url"
    config_path = write_config(tmp_path, request.getfixturevalue(url_fixture))
    proc, url = start_gunicorn(config_path, extra=("--access-logfile", "-"))
    try:
        shop_body, shop_headers = example("shopify_cod")
        woo_body, woo_headers = example("woocommerce_cod")
        answers = [requests.post(f"{url}/webhooks/shopify", data=shop_body, headers=shop_headers, timeout=10)
                   for _ in range(3)]
        answers.append(requests.post(f"{url}/webhooks/woocommerce", data=woo_body, headers=woo_headers,
                                     timeout=10))
        bad = _bad_requests(url)
    finally:
        out, err = stop_gunicorn(proc)
    assert [r.json()["status"] for r in answers] == ["accepted", "duplicate", "duplicate", "accepted"]
    assert {r.status_code for r in bad} <= {400, 401, 404}
    engine = ledger.make_engine(load_config(config_path).database_url)
    try:
        assert ledger.queue_depth(engine)["queued"] == 2
    finally:
        engine.dispose()
    assert "POST /webhooks/shopify" in out + err  # the access log ran...
    for secret in SECRETS:
        assert secret not in out + err  # ...and the server's output holds no secret
