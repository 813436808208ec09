"""The dashboard's security over real HTTP: logins, who sees which store, CSRF, cookies, headers.

Each test serves the real app with a dashboard on a loopback port, with a worker and the sandbox
JNE, and a ledger filled by signed deliveries (``dashboard_helpers.seed``); it runs on SQLite and
on PostgreSQL. ``ali`` may see only toko-woo; everything of toko-contoh must answer him 404 and
stay exactly as it was.
"""

from __future__ import annotations

import json
import re
import subprocess
import threading
from html.parser import HTMLParser
from http.cookies import SimpleCookie

import app_helpers
import dashboard_helpers
import jne_helpers
import pytest
import requests
import sqlalchemy as sa
from dashboard_helpers import CSRF, PASSWORDS, csrf_token, login, seed
from pdf_helpers import page_texts
from werkzeug.serving import make_server

from integration import ledger
from integration.cli.dashboard import demo_dashboard
from integration.config import load_config

sandbox_server, sandbox = jne_helpers.sandbox_server, jne_helpers.sandbox
make_system = dashboard_helpers.make_system
served_app = app_helpers.served_app


@pytest.fixture
def system(database_url, make_system):
    # database_url first: its schema is dropped only after make_system has stopped the worker (fixtures
    # end in reverse order; dropping it under a running worker can deadlock on PostgreSQL).
    return seed(make_system(database_url))


def ledger_state(system) -> list:
    """Every row of every ledger table, by primary key: equal before and after means nothing changed."""
    with system.engine.connect() as conn:
        return [list(conn.execute(sa.select(t).order_by(*t.primary_key.columns)))
                for t in ledger.metadata.sorted_tables]


def cookie_attributes(set_cookie: str) -> dict[str, str]:
    jar = SimpleCookie()
    jar.load(set_cookie)
    morsel = jar["jne_admin"]
    return {k: str(v) for k, v in morsel.items() if v}


class _Scripts(HTMLParser):
    """Collects what a browser would run: script elements, on* handler attributes, javascript: URLs."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            self.found.append("<script>")
        for name, value in attrs:
            if name.startswith("on") or (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"<{tag} {name}={value!r}>")


def markup_that_runs(html: str) -> list[str]:
    parser = _Scripts()
    parser.feed(html)
    return parser.found


def test_every_page_sends_a_visitor_who_is_not_logged_in_to_the_login_form(system):
    for path in ("/admin/", "/admin/stores", "/admin/requests", "/admin/customers/toko-contoh/7012345678901",
                 system.order_url("cod")[len(system.url):],
                 system.order_url("cod", "/label.pdf")[len(system.url):], "/admin/?status=booked"):
        answer = requests.get(system.url + path, allow_redirects=False, timeout=10)
        assert answer.status_code == 303, path
        assert answer.headers["Location"].startswith("/admin/login?next=/admin/"), path
    page = requests.get(f"{system.url}/admin/login", timeout=10)
    assert page.status_code == 200
    assert 'name="username"' in page.text and 'name="password"' in page.text


def test_a_restricted_user_gets_404_for_another_stores_order_and_changes_nothing(system):
    http = login(system.url, "ali")
    token = csrf_token(http, f"{system.url}/admin/")
    before = ledger_state(system)
    overrides_before = system.overrides["toko-contoh"].read_bytes()
    for name in ("cod", "attention"):
        store, ref = system.refs[name]
        assert http.get(system.order_url(name), timeout=10).status_code == 404
        assert http.get(system.order_url(name, "/label.pdf"), timeout=10).status_code == 404
        assert http.get(f"{system.url}/admin/customers/{store}/7012345678901", timeout=10).status_code == 404
        posts = [
            (system.order_url(name, "/replay"), {}),
            (system.order_url(name, "/destination"), {"code": "DJJ10217"}),
            (system.order_url(name, "/writeback-retry"), {}),
            (f"{system.url}/admin/orders/bulk", {"action": "replay", "order": f"{store}/{ref}"}),
            (f"{system.url}/admin/orders/bulk", {"action": "labels", "order": f"{store}/{ref}"}),
            # one of his own and one of theirs: all refused, his own untouched too
            (f"{system.url}/admin/orders/bulk", {"action": "replay",
                                                 "order": [f"{store}/{ref}", "/".join(system.refs["woo_attention"])]}),
            (f"{system.url}/admin/orders/replay-status", {"status": "needs_attention", "store": store}),
        ]
        for url, form in posts:
            answer = http.post(url, data={**form, "csrf_token": token}, allow_redirects=False, timeout=10)
            assert answer.status_code == 404, (url, form, answer.status_code)
            assert answer.headers["Content-Type"].startswith("text/html")
    assert ledger_state(system) == before
    assert system.overrides["toko-contoh"].read_bytes() == overrides_before

    # Lists, searches and the stores page show his store only.
    listing = http.get(f"{system.url}/admin/", timeout=10).text
    assert "4821" in listing and "4837" in listing
    for other in ("#1042", "#1059", "TC1042", system.row("cod")["cnote"], "toko-contoh"):
        assert other not in listing, other
    for query in ("TC1042", system.row("cod")["cnote"], "1042"):
        found = http.get(f"{system.url}/admin/", params={"q": query}, timeout=10).text
        assert "No orders" in found and "#1042" not in found, query
    theirs = http.get(f"{system.url}/admin/", params={"store": "toko-contoh"}, timeout=10).text
    assert "You have no store toko-contoh" in theirs and "#1042" not in theirs
    assert "toko-contoh" not in http.get(f"{system.url}/admin/stores", timeout=10).text.replace(
        "https://toko-contoh.example/", "")

    # His own store's order works.
    assert http.get(system.order_url("woo"), timeout=10).status_code == 200
    label = http.get(system.order_url("woo", "/label.pdf"), timeout=10)
    assert label.status_code == 200 and label.headers["Content-Type"] == "application/pdf"
    assert system.row("woo")["cnote"] in page_texts(label.content)[0]


def test_every_post_without_a_valid_csrf_token_is_refused_and_changes_nothing(system):
    http = login(system.url, "owner")
    store, ref = system.refs["attention"]
    posts = [
        (system.order_url("attention", "/replay"), {}),
        (system.order_url("attention", "/destination"), {"code": "DJJ10217"}),
        (system.order_url("cod", "/writeback-retry"), {}),
        (f"{system.url}/admin/orders/bulk", {"action": "replay", "order": f"{store}/{ref}"}),
        (f"{system.url}/admin/orders/bulk", {"action": "labels", "order": "/".join(system.refs["cod"])}),
        (f"{system.url}/admin/orders/replay-status", {"status": "needs_attention"}),
        (f"{system.url}/admin/logout", {}),
        (f"{system.url}/admin/login", {"username": "owner", "password": PASSWORDS["owner"]}),
    ]
    before = ledger_state(system)
    for url, form in posts:
        for token in (None, "forged-token", csrf_token(requests.Session(), f"{system.url}/admin/login")):
            data = dict(form) if token is None else {**form, "csrf_token": token}
            answer = http.post(url, data=data, allow_redirects=False, timeout=10)
            assert answer.status_code == 400, (url, token, answer.status_code)
            assert "Nothing was changed" in answer.text
    assert ledger_state(system) == before
    # Still logged in: the logout without a token did nothing either.
    assert http.get(f"{system.url}/admin/", allow_redirects=False, timeout=10).status_code == 200


def test_owner_actions_change_the_ledger_as_asked(system):
    http = login(system.url, "owner")
    token = csrf_token(http, f"{system.url}/admin/")
    booked_before = system.raw("cod")
    attention_before = system.raw("attention")
    answer = http.post(f"{system.url}/admin/orders/bulk", timeout=10, data={
        "csrf_token": token, "action": "replay",
        "order": ["/".join(system.refs["attention"]), "/".join(system.refs["cod"])]})
    assert answer.status_code == 200
    assert "Queued 1 order(s) again; 1 already booked (never booked twice)." in answer.text
    system.wait_drained()
    assert system.raw("cod") == booked_before  # a booked order is never touched
    assert system.raw("attention").updated_at > attention_before.updated_at
    answer = http.post(f"{system.url}/admin/orders/replay-status", timeout=10,
                       data={"csrf_token": token, "status": "needs_attention"})
    assert "Queued 2 needs attention order(s) again." in answer.text
    refused = http.post(f"{system.url}/admin/orders/replay-status", timeout=10,
                        data={"csrf_token": token, "status": "booked"})
    assert refused.status_code == 400
    # A destination that is not one of the order's candidates is refused, and nothing is written.
    wrong = http.post(system.order_url("attention", "/destination"), timeout=10,
                      data={"csrf_token": token, "code": "CGK10000"})
    assert wrong.status_code == 400
    assert system.overrides["toko-contoh"].read_text() == "zip,district,code\n"


def test_the_session_cookie_is_httponly_samesite_lax_scoped_to_admin_and_not_secure_over_http(system):
    http = requests.Session()
    page = http.get(f"{system.url}/admin/login", timeout=10)
    token = CSRF.search(page.text).group(1)
    answer = http.post(f"{system.url}/admin/login", allow_redirects=False, timeout=10,
                       data={"username": "owner", "password": PASSWORDS["owner"], "csrf_token": token})
    flags = cookie_attributes(answer.headers["Set-Cookie"])
    assert flags["httponly"] == "True" and flags["samesite"] == "Lax" and flags["path"] == "/admin"
    assert "secure" not in flags
    assert PASSWORDS["owner"] not in answer.headers["Set-Cookie"]


def test_the_session_cookie_is_secure_when_configured_for_a_tls_proxy(make_system, sqlite_url):
    system = make_system(sqlite_url, secure_cookie=True)
    # The login form's session (it holds the CSRF token) is already Secure; a client on plain
    # HTTP therefore never sends it back, which is what the owner asked for.
    answer = requests.get(f"{system.url}/admin/login", timeout=10)
    assert cookie_attributes(answer.headers["Set-Cookie"])["secure"] == "True"


def test_the_session_cookie_is_secure_when_served_over_https(make_system, sqlite_url, tmp_path):
    system = make_system(sqlite_url)
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1",
                    "-days", "1", "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    server = make_server("127.0.0.1", 0, system.app, threaded=True, ssl_context=(str(cert), str(key)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"https://127.0.0.1:{server.server_port}"
        http = requests.Session()
        token = CSRF.search(http.get(f"{base}/admin/login", timeout=10, verify=str(cert)).text).group(1)
        answer = http.post(f"{base}/admin/login", allow_redirects=False, timeout=10, verify=str(cert),
                           headers={"Referer": f"{base}/admin/login"},
                           data={"username": "owner", "password": PASSWORDS["owner"], "csrf_token": token})
        assert answer.status_code == 303
        assert cookie_attributes(answer.headers["Set-Cookie"])["secure"] == "True"
    finally:
        server.shutdown()


def test_pages_forbid_inline_script_framing_and_caching(system):
    http = login(system.url, "owner")
    for path in ("/admin/login", "/admin/", system.order_url("attention")[len(system.url):], "/admin/stores",
                 "/admin/requests", "/admin/customers/toko-contoh/7012345678901"):
        answer = http.get(system.url + path, timeout=10)
        csp = answer.headers["Content-Security-Policy"]
        assert "default-src 'none'" in csp and "script-src" not in csp and "unsafe-inline" not in csp
        assert answer.headers["X-Frame-Options"] == "DENY"
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert answer.headers["Cache-Control"] == "no-store"
        assert markup_that_runs(answer.text) == [], path


def test_failed_logins_are_slowed_down_then_refused_even_with_the_right_password(system):
    http = requests.Session()
    token = CSRF.search(http.get(f"{system.url}/admin/login", timeout=10).text).group(1)

    def attempt(user: str, password: str) -> requests.Response:
        return http.post(f"{system.url}/admin/login", allow_redirects=False, timeout=10,
                         data={"username": user, "password": password, "csrf_token": token})

    for _ in range(5):
        assert attempt("owner", "wrong").status_code == 401
    refused = attempt("owner", PASSWORDS["owner"])
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    assert "Too many failed attempts" in refused.text
    assert http.get(f"{system.url}/admin/", allow_redirects=False, timeout=10).status_code == 303
    # The same address trying another user is held back too (guessing across names).
    assert attempt("ali", PASSWORDS["ali"]).status_code == 429


def test_a_wrong_password_and_an_unknown_user_get_the_same_answer(system):
    http = requests.Session()
    token = CSRF.search(http.get(f"{system.url}/admin/login", timeout=10).text).group(1)
    answers = [http.post(f"{system.url}/admin/login", allow_redirects=False, timeout=10,
                         data={"username": user, "password": "nope", "csrf_token": token})
               for user in ("owner", "nobody")]
    assert [a.status_code for a in answers] == [401, 401]
    assert all("Wrong user name or password." in a.text for a in answers)


def test_login_only_redirects_inside_the_dashboard(system):
    http = requests.Session()
    token = CSRF.search(http.get(f"{system.url}/admin/login", timeout=10).text).group(1)
    for target, expected in (("https://evil.example/admin/", "/admin/"), ("//evil.example/admin/", "/admin/"),
                             ("/admin/stores", "/admin/stores")):
        http.cookies.clear()
        token = CSRF.search(http.get(f"{system.url}/admin/login", timeout=10).text).group(1)
        answer = http.post(f"{system.url}/admin/login", allow_redirects=False, timeout=10,
                           data={"username": "owner", "password": PASSWORDS["owner"], "csrf_token": token,
                                 "next": target})
        assert answer.headers["Location"] == expected, target


def test_without_a_dashboard_block_the_dashboard_is_off(make_system, sqlite_url):
    system = make_system(sqlite_url, dashboard=False)
    for path in ("/admin/", "/admin/login", "/admin/stores", "/admin/static/dashboard.css"):
        answer = requests.get(system.url + path, allow_redirects=False, timeout=10)
        assert answer.status_code == 404, path
    assert requests.post(f"{system.url}/admin/login", data={"username": "x", "password": "y"},
                         timeout=10).status_code == 404


def test_the_demo_makes_a_demo_user_with_a_printed_random_password_on_loopback_only(tmp_path, served_app):
    config = load_config(None, env={"DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}"})
    assert config.is_demo and config.dashboard is None
    served, lines = demo_dashboard(config, "127.0.0.1")
    again, other_lines = demo_dashboard(config, "127.0.0.1")
    password = re.search(r"user demo, password (\S+)\)", lines[0]).group(1)
    assert lines[0].startswith("dashboard: {url}/admin/")
    assert password != re.search(r"password (\S+)\)", other_lines[0]).group(1)  # random each start
    assert again.dashboard.secret_key != served.dashboard.secret_key
    url = served_app(served)
    http = login(url, "demo", password)
    assert http.get(f"{url}/admin/", timeout=10).status_code == 200
    off, why = demo_dashboard(config, "0.0.0.0")
    assert off.dashboard is None and "127.0.0.1 only" in why[0]


def test_a_configuration_with_its_own_dashboard_is_not_given_a_demo_user(make_system, sqlite_url):
    system = make_system(sqlite_url)
    config = load_config(str(system.config_path))
    same, lines = demo_dashboard(config, "127.0.0.1")
    assert same is config and lines == []


def test_an_order_page_shows_what_was_sent_and_every_attempt(system):
    http = login(system.url, "owner")
    page = http.get(system.order_url("cod"), timeout=10).text
    cod = system.row("cod")
    assert cod["cnote"] in page and "TC1042" in page and "185000" in page
    assert 'class="badge o-booked"' in page and ">Label</a>" in page
    assert ">Replay</button>" not in page  # a booked order is never booked twice
    attention = http.get(system.order_url("attention"), timeout=10).text
    assert ">Replay</button>" in attention and ">Label</a>" not in attention
    assert "No call to JNE yet." in attention
    body = json.loads(ledger_body(system, "attention"))
    assert str(body["id"]) in attention


def ledger_body(system, name: str) -> bytes:
    row = system.raw(name)
    with system.engine.connect() as conn:
        return bytes(conn.execute(sa.select(ledger.deliveries.c.body)
                                  .where(ledger.deliveries.c.id == row.delivery_id)).scalar_one())
