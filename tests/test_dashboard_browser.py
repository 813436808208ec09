"""The dashboard in a real browser: Debian's Chromium driven by Playwright, against the served app.

A store owner logs in, reads the tabs and the chart, filters by store, searches by cnote, ORDER_ID
and order number, opens an order that needs attention, replays it, picks a destination candidate,
downloads a label and the labels of a selection. An order whose customer is named like an XSS
attack is shown as text and runs nothing. The screenshots in docs/ are taken here.

Chromium comes from Debian (``apt-get install chromium``); Playwright's own browser downloads are
never used.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import dashboard_helpers
import jne_helpers
import pytest
import requests
import shop_helpers
import sqlalchemy as sa
from dashboard_helpers import PASSWORDS, ROOT, XSS, _fixture_order, seed
from fixtures.expect import load
from fixtures.sign import shopify_headers
from pdf_helpers import barcodes, page_texts
from playwright.sync_api import Browser, Page, expect, sync_playwright
from shop_helpers import shopify_api, wait_until, woo_api

from integration import ledger
from integration.config import DEMO_SHOPIFY_SECRET
from integration.privacy import passes
from integration.problems import Problem, define

sandbox_server, sandbox = jne_helpers.sandbox_server, jne_helpers.sandbox
make_system = dashboard_helpers.make_system
_shopify_server, shopify_shop = shop_helpers._shopify_server, shop_helpers.shopify_shop
_woo_server, woo_shop = shop_helpers._woo_server, shop_helpers.woo_shop

DOCS = Path(__file__).resolve().parents[1] / "docs"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
# What issue 9's destination resolver files for an address with several JNE destinations.
AMBIGUOUS = define("test.destination_ambiguous",
                   en="postal code {zip} ({district}) matches several JNE destinations: choose one",
                   id="kode pos {zip} ({district}) cocok dengan beberapa tujuan JNE: pilih satu")
CANDIDATES = [{"code": "DJJ10000", "name": "WAMENA,JAYAWIJAYA"}, {"code": "DJJ10217", "name": "HUBIKOSI,JAYAWIJAYA"}]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless."""
    chromium = shutil.which("chromium")
    assert chromium, "Chromium is missing: apt-get install -y chromium"
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class Watched:
    """A page whose dialogs and console messages are recorded (an alert() would be an XSS)."""

    def __init__(self, page: Page):
        self.page = page
        self.dialogs: list[str] = []
        self.console: list[str] = []
        self.errors: list[str] = []
        self.failed: list[str] = []  # requests the page made that did not succeed
        page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("response", lambda r: r.status >= 400 and self.failed.append(f"{r.status} {r.url}"))


@pytest.fixture
def page(browser: Browser) -> Iterator[Watched]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    yield Watched(context.new_page())
    context.close()


def shot(page: Page, name: str) -> Path:
    """A full-page screenshot into docs/ (the README shows them)."""
    DOCS.mkdir(exist_ok=True)
    path = DOCS / f"dashboard-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def log_in(page: Page, url: str, user: str = "owner") -> None:
    page.goto(f"{url}/admin/")
    expect(page).to_have_url(f"{url}/admin/login?next=/admin/")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", PASSWORDS[user])
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Orders")).to_be_visible()


def give_candidates(system: dashboard_helpers.System, name: str) -> None:
    """File a destination problem with candidates on a seeded order, as issue 9's resolver will."""
    store, ref = system.refs[name]
    problem = Problem("DESTINATION_CODE", AMBIGUOUS, {"zip": "99511", "district": "WAMENA",
                                                      "candidates": CANDIDATES})
    with system.engine.begin() as conn:
        conn.execute(sa.update(ledger.shipments)
                     .where(ledger.shipments.c.store_id == store, ledger.shipments.c.order_ref == ref)
                     .values(errors={"DESTINATION_CODE": [problem.as_dict()]}))


def rows(page: Page) -> list[str]:
    return page.locator("table.orders tbody tr td.num").all_inner_texts()


def test_an_owner_finds_fixes_replays_and_prints_from_the_browser(make_system, sqlite_url, page, tmp_path):
    system = seed(make_system(sqlite_url))
    url = system.url
    cod = system.row("cod")

    # Not logged in: the dashboard sends the browser to the login form.
    page.page.goto(f"{url}/admin/")
    shot(page.page, "login")
    log_in(page.page, url)
    p = page.page

    # Tabs with counts and the chart of the last days.
    tabs = p.locator("nav.tabs")
    expect(tabs.get_by_role("link", name="All 6")).to_be_visible()
    expect(tabs.get_by_role("link", name="Booked 3")).to_be_visible()
    expect(tabs.get_by_role("link", name="Needs attention 2")).to_be_visible()
    expect(tabs.get_by_role("link", name="Skipped 1")).to_be_visible()
    assert p.locator("figure.chart svg rect.s-booked").count() >= 1
    shot(p, "orders")

    # The needs-attention tab, then one store of it.
    tabs.get_by_role("link", name="Needs attention 2").click()
    assert sorted(rows(p)) == ["#1059", "4837"]
    p.select_option("select[name=store]", "toko-contoh")
    p.get_by_role("button", name="Show").click()
    assert rows(p) == ["#1059"]

    # Search by cnote, ORDER_ID and order number, on the All tab.
    for query in (cod["cnote"], cod["order_id"], "1042"):
        p.goto(f"{url}/admin/")
        p.fill("input[name=q]", query)
        p.get_by_role("button", name="Show").click()
        assert rows(p) == ["#1042"], query

    # Open the order that needs attention: the problem by field, rule and line.
    p.goto(f"{url}/admin/?status=needs_attention&store=toko-contoh")
    p.get_by_role("link", name="#1059").click()
    expect(p.get_by_role("heading", name="Why it needs attention")).to_be_visible()
    problems = p.locator("table.problems").first
    expect(problems).to_contain_text("DESTINATION_CODE")
    expect(problems).to_contain_text("rules.destination")
    expect(problems).to_contain_text("shopify.yaml:142")
    shot(p, "order")

    # Replay it: the worker takes it again at once (and files the same problem again).
    before = system.raw("attention")
    p.get_by_role("button", name="Replay").click()
    expect(p.locator(".flash.ok")).to_contain_text("Queued again")
    system.wait_drained()
    after = system.raw("attention")
    assert after.updated_at > before.updated_at and after.status == "needs_attention"

    # A destination with candidates: choose one; it is saved for the zip and the order replayed.
    give_candidates(system, "attention")
    p.reload()
    expect(p.get_by_role("heading", name="Choose the destination")).to_be_visible()
    shot(p, "order-candidates")
    p.get_by_label("DJJ10217 HUBIKOSI,JAYAWIJAYA").check()
    p.get_by_role("button", name="Use this destination and replay").click()
    expect(p.locator(".flash.ok").first).to_contain_text("Saved 99511 WAMENA -> DJJ10217")
    # the resolver reads the choice at once: the page's preview of the mapping as it is now books it
    expect(p.locator(".flash.ok").nth(1)).to_contain_text("Would be booked as it is")
    overrides = system.overrides["toko-contoh"].read_text(encoding="utf-8")
    assert overrides == "zip,district,code\n99511,WAMENA,DJJ10217\n"
    system.wait_drained()
    # Replayed: the resolver reads the choice, so the worker books the order to the chosen code.
    replayed = system.raw("attention")
    assert AMBIGUOUS not in str(replayed.errors) and replayed.status == "booked"

    # The label of a booked order.
    p.goto(system.order_url("cod"))
    with p.expect_download() as download:
        p.get_by_role("link", name="Label").click()
    pdf = Path(download.value.path()).read_bytes()
    assert cod["cnote"] in page_texts(pdf)[0] and "TC1042" in page_texts(pdf)[0]
    assert "Rp 185.000" in page_texts(pdf)[0]
    assert barcodes(pdf) == [[("Code128", cod["cnote"])]]

    # Labels for a selection: only the booked ones get a page.
    p.goto(f"{url}/admin/")
    for number in ("#1042", "4821", "#1059"):
        p.locator("tr", has=p.get_by_role("link", name=number, exact=True)).locator("input[type=checkbox]").check()
    with p.expect_download() as download:
        p.get_by_role("button", name="Labels for selected").click()
    pages = page_texts(Path(download.value.path()).read_bytes())
    assert len(pages) == 3  # #1059 is booked now, to the destination chosen above
    cnotes = [cod["cnote"], system.row("woo")["cnote"], system.row("attention")["cnote"]]
    assert sorted(c for c in cnotes for text in pages if c in text) == sorted(cnotes)
    assert any("DJJ10217" in text and "TC1059" in text for text in pages)

    # Stores, and a phone-sized orders list.
    p.goto(f"{url}/admin/stores")
    expect(p.get_by_role("heading", name="toko-woo")).to_be_visible()
    p.set_viewport_size({"width": 390, "height": 844})
    p.goto(f"{url}/admin/")
    shot(p, "orders-phone")

    # Log out: the dashboard asks for the password again.
    p.get_by_role("button", name="Log out").click()
    expect(p.get_by_role("heading", name="Log in")).to_be_visible()
    p.goto(f"{url}/admin/stores")
    expect(p).to_have_url(f"{url}/admin/login?next=/admin/stores")
    assert page.dialogs == [] and page.errors == []


def test_an_order_named_like_an_attack_is_shown_as_text_and_runs_nothing(make_system, sqlite_url, page):
    system = seed(make_system(sqlite_url))
    log_in(page.page, system.url)
    p = page.page
    # In the list, its "order number" is the attack text, shown literally.
    expect(p.get_by_role("link", name=XSS, exact=True)).to_be_visible()
    p.get_by_role("link", name=XSS, exact=True).click()
    expect(p.get_by_role("heading", name=f"Order {XSS}")).to_be_visible()
    p.locator("summary", has_text="Order as the shop sent it").click()
    expect(p.locator("pre").last).to_contain_text(f'"name": "{XSS}"')
    p.goto(f"{system.url}/admin/?q=TC7001")
    assert rows(p) == [XSS]
    # Nothing it carries became markup: no image element, no dialog, no script error.
    assert p.locator("img").count() == 0
    assert page.dialogs == [] and page.errors == []
    assert not [m for m in page.console if "alert" in m or m.startswith("error")], (page.console, page.failed)


def test_an_owner_retries_a_refused_write_back_and_reads_the_shop_side_and_data_requests(
        make_system, sqlite_url, page, shopify_shop, woo_shop):
    system = seed(make_system(sqlite_url, apis={"toko-contoh": shopify_api(shopify_shop),
                                                "toko-woo": woo_api(woo_shop)}))
    order, _ = _fixture_order("shopify", "cod_jakarta_example")
    p = page.page
    log_in(p, system.url)
    cod = system.row("cod")
    # The shop does not know #1042 yet: its write-back is refused, in the shop's words.
    p.goto(system.order_url("cod"))
    section = p.locator("section.writeback")
    expect(section.locator(".badge.o-refused").first).to_be_visible(timeout=30_000)
    p.reload()
    expect(section).to_contain_text(f"the shop did not take cnote {cod['cnote']}")
    expect(section).to_contain_text("Shopify has no order")
    shot(p, "order-writeback")
    p.set_viewport_size({"width": 390, "height": 844})
    shot(p, "order-phone")
    assert page_fits(p), "the order page is wider than a phone"
    p.set_viewport_size({"width": 1280, "height": 900})

    # The shop learns the order; Retry write-back writes it.
    shopify_shop.add(order)
    p.get_by_role("button", name="Retry write-back").click()
    expect(p.locator(".flash.ok")).to_contain_text(f"Queued the write-back of cnote {cod['cnote']} again")
    wait_until(lambda: [t["number"] for f in shopify_shop.fulfillments(int(order["id"])) for t in f["trackingInfo"]])
    p.reload()
    expect(p.locator("dl.facts .badge.w-done")).to_have_text("done")
    expect(section).to_contain_text(f"The shop shows cnote {cod['cnote']}")
    assert section.get_by_role("button", name="Retry write-back").count() == 0

    # The stores page: write-backs by state, the last reconcile pass, webhooks not checked.
    p.goto(f"{system.url}/admin/stores")
    card = p.locator("section.store", has=p.get_by_role("heading", name="toko-contoh"))
    expect(card).to_contain_text("Write-back:")
    expect(card).to_contain_text("Webhooks: not checked yet")
    for _ in range(100):  # the worker's first reconcile pass runs at start
        if "none yet" not in card.inner_text():
            break
        time.sleep(0.1)
        p.reload()
    expect(card).to_contain_text("taken in (missed by the webhooks)")
    shot(p, "stores")

    # A customer's data request: listed by customer id; what is held opens from it.
    request = {"shop_id": 1, "shop_domain": "toko-contoh.myshopify.com",
               "customer": {"id": 7012345678901, "email": "siti@example.com", "phone": "+6281234567890"},
               "orders_requested": [order["id"]], "data_request": {"id": 9001}}
    system.send("toko-contoh", request, "customers/data_request")
    p.get_by_role("link", name="Data requests").click()
    expect(p.get_by_role("heading", name="Customers' data requests")).to_be_visible()
    expect(p.locator("table.requests")).to_contain_text("7012345678901")
    shot(p, "requests")
    p.get_by_role("link", name="What is held").click()
    expect(p.get_by_role("heading", name="What is held for customer 7012345678901 of toko-contoh")).to_be_visible()
    expect(p.locator("section.held").first).to_contain_text("Siti Rahmawati")
    shot(p, "customer")

    # After the retention pass the order says its personal data is erased, and when.
    passes.prune(system.engine, 0, "en", datetime.now(UTC))
    p.goto(system.order_url("cod"))
    expect(p.locator(".flash.erased")).to_contain_text("Personal data erased on")
    expect(p.locator("main")).not_to_contain_text("Siti Rahmawati")
    shot(p, "order-erased")
    assert page.dialogs == [] and page.errors == []


def page_fits(p: Page) -> bool:
    """The page needs no sideways scrolling (tables may scroll inside themselves)."""
    return p.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


EXAMPLES = ROOT / "tests" / "fixtures" / "examples"


@pytest.fixture
def demo(tmp_path) -> Iterator[tuple[str, str, Path]]:
    """``jne-integration serve`` with no configuration file, as a new user runs it: (url, password, mappings).

    It runs from a copy of the package, so that the test can edit the demo's own mapping files as
    the user would, without touching the repository.
    """
    app, run = tmp_path / "app", tmp_path / "run"
    ignore = shutil.ignore_patterns("__pycache__")
    # Laid out as the wheel installs it: the default mappings are the package integration.defaults.
    shutil.copytree(ROOT / "integration", app / "integration", ignore=ignore)
    shutil.copytree(ROOT / "mappings", app / "integration" / "defaults", ignore=ignore)
    run.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("JNE_INTEGRATION_CONFIG", "DATABASE_URL")}
    env.update(PYTHONPATH=str(app), PYTHONUNBUFFERED="1")
    process = subprocess.Popen([sys.executable, "-m", "integration.cli", "serve", "--port", "0"], cwd=run,
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        lines = []
        while not any(line.startswith("dashboard:") for line in lines):
            line = process.stdout.readline()
            assert line, f"serve ended before printing the dashboard: {lines}"
            lines.append(line)
        found = re.search(r"dashboard: (http://127\.0\.0\.1:\d+)/admin/ \(user demo, password (\S+)\)", lines[-1])
        assert found, lines
        yield found.group(1), found.group(2), app / "integration" / "defaults"
    finally:
        process.terminate()
        process.wait(timeout=60)


def test_a_new_user_runs_the_demo_logs_in_prints_a_label_and_fixes_an_order_with_the_mapping(demo, page):
    url, password, mappings = demo
    # The quick start's signed example delivery, then an order the default mapping cannot book
    # (a Batam line whose SKU has no HS code).
    example = requests.post(f"{url}/webhooks/shopify", data=(EXAMPLES / "shopify_cod.body").read_bytes(),
                            headers=json.loads((EXAMPLES / "shopify_cod.headers.json").read_text()), timeout=10)
    assert example.status_code == 200, example.text
    batam = load(ROOT / "tests" / "fixtures" / "orders" / "shopify" / "batam_line_without_hs_code.json")
    body = json.dumps(batam.order).encode()
    sent = requests.post(f"{url}/webhooks/shopify", data=body, timeout=10, headers=shopify_headers(
        body, DEMO_SHOPIFY_SECRET, "toko-contoh.myshopify.com", batam.topic))
    assert sent.status_code == 200, sent.text

    p = page.page
    p.goto(f"{url}/admin/")
    p.fill("input[name=username]", "demo")
    p.fill("input[name=password]", password)
    p.get_by_role("button", name="Log in").click()
    expect(p.get_by_role("heading", name="Orders")).to_be_visible()
    for _ in range(200):  # the worker books within a second or two
        if p.locator("nav.tabs").get_by_role("link", name="Booked 1").count():
            break
        time.sleep(0.1)
        p.reload()
    p.locator("nav.tabs").get_by_role("link", name="Booked 1").click()
    p.get_by_role("link", name="#1042").click()
    expect(p.locator("h1 .badge.s-booked")).to_have_text("booked")
    cnote = p.locator("dl.facts div", has_text="cnote").locator("dd").inner_text()
    with p.expect_download() as download:
        p.get_by_role("link", name="Label").click()
    label = page_texts(Path(download.value.path()).read_bytes())[0]
    assert cnote in label and "DEMO1042" in label
    # The page is drawn on the server and never changes by itself: look again until the write-back
    # loop (which looks for new bookings every few seconds) has written the cnote to the shop.
    for _ in range(300):
        if "The shop shows cnote" in p.locator("section.writeback").inner_text():
            break
        time.sleep(0.1)
        p.reload()
    expect(p.locator("section.writeback")).to_contain_text("The shop shows cnote")

    # The order that needs attention says why and where; the owner adds the SKU to the table.
    p.goto(f"{url}/admin/?status=needs_attention")
    p.get_by_role("link", name="#1054").click()
    expect(p.locator("table.problems").first).to_contain_text("add its sku to hs_codes.csv")
    with (mappings / "hs_codes.csv").open("a", encoding="utf-8") as table:
        table.write("TMB-SS-500,7323.93\n")
    for _ in range(100):  # the running service follows its mapping files (checked once a second)
        p.reload()
        if p.locator(".flash.ok", has_text="Would be booked as it is").count():
            break
        time.sleep(0.1)
    expect(p.locator(".flash.ok")).to_contain_text("Would be booked as it is: press Replay.")
    p.get_by_role("button", name="Replay").click()
    expect(p.locator(".flash.ok").first).to_contain_text("Queued again")
    for _ in range(200):
        if p.locator("h1 .badge.s-booked").count():
            break
        time.sleep(0.1)
        p.reload()
    expect(p.locator("h1 .badge.s-booked")).to_have_text("booked")
    expect(p.get_by_role("link", name="Label")).to_be_visible()
    assert page.dialogs == [] and page.errors == []
