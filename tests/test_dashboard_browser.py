"""The dashboard in a real browser: Debian's Chromium driven by Playwright, against the served app.

A store owner logs in, reads the tabs and the chart, filters by store, searches by cnote, ORDER_ID
and order number, opens an order that needs attention, replays it, picks a destination candidate,
downloads a label and the labels of a selection. An order whose customer is named like an XSS
attack is shown as text and runs nothing. The screenshots in docs/ are taken here.

Chromium comes from Debian (``apt-get install chromium``); Playwright's own browser downloads are
never used.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import dashboard_helpers
import jne_helpers
import pytest
import sqlalchemy as sa
from dashboard_helpers import PASSWORDS, XSS, seed
from pdf_helpers import barcodes, page_texts
from playwright.sync_api import Browser, Page, expect, sync_playwright

from integration import ledger
from integration.problems import Problem, define

sandbox_server, sandbox = jne_helpers.sandbox_server, jne_helpers.sandbox
make_system = dashboard_helpers.make_system

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
    shot(p, "stores")
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
