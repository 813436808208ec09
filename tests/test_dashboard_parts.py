"""The dashboard's parts on their own: settings in integration.yaml, the login throttle, the
override table writer, problems as the order page shows them, and the two commands."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from zoneinfo import ZoneInfo

import app_helpers
import dashboard_helpers
import jne_helpers
import pytest
from click.testing import CliRunner
from pdf_helpers import barcodes, page_texts
from werkzeug.security import check_password_hash

from integration.cli.dashboard import dashboard_group, labels_command
from integration.config import load_config
from integration.dashboard import order_problems
from integration.dashboard.overrides import OverrideError, save_override
from integration.dashboard.throttle import LoginThrottle
from integration.errors import ConfigError
from integration.problems import Origin, Problem

sandbox_server, sandbox = jne_helpers.sandbox_server, jne_helpers.sandbox
make_system = dashboard_helpers.make_system


# -- settings --------------------------------------------------------------------------------------

def config_with(tmp_path, dashboard):
    path = app_helpers.write_config(tmp_path, f"sqlite:///{tmp_path / 'l.db'}", dashboard=dashboard)
    return load_config(str(path))


def test_a_dashboard_block_gives_users_with_their_stores(tmp_path):
    config = config_with(tmp_path, dashboard_helpers.dashboard_block())
    users = config.dashboard.users
    assert users["owner"].stores is None and users["ali"].stores == frozenset({"toko-woo"})
    assert users["ali"].visible(["toko-shopify", "toko-woo"]) == ["toko-woo"]
    assert config.dashboard.secret_key in config.secrets()  # redacted from logs like the others
    assert dashboard_helpers.SECRET_KEY not in repr(config)
    assert "pbkdf2" not in repr(config.dashboard)


@pytest.mark.parametrize(("block", "wanted"), [
    ({"users": {"a": {"password_hash": "scrypt:x$y$z", "stores": ["*"]}}}, "dashboard.secret_key: is required"),
    ({"secret_key": "short", "users": {"a": {"password_hash": "scrypt:x$y$z", "stores": ["*"]}}},
     "dashboard.secret_key: is 5 characters long; at least 16 are needed"),
    ({"secret_key": "k" * 20, "users": {"a": {"password_hash": "hunter2", "stores": ["*"]}}},
     "dashboard.users.a.password_hash: the value is not a password hash"),
    ({"secret_key": "k" * 20, "users": {"a": {"password_hash": "scrypt:x$y$z", "stores": ["toko-typo"]}}},
     "dashboard.users.a.stores: no store 'toko-typo'"),
    ({"secret_key": "k" * 20, "users": {}}, "dashboard.users: must not be empty"),
])
def test_a_broken_dashboard_block_is_refused_at_load_naming_the_key(tmp_path, block, wanted):
    with pytest.raises(ConfigError) as caught:
        config_with(tmp_path, block)
    assert any(wanted in line for line in caught.value.problems), caught.value.problems
    assert not any("hunter2" in line for line in caught.value.problems)  # a password pasted there stays unsaid


def test_an_unset_secret_key_variable_is_named(tmp_path, monkeypatch):
    monkeypatch.delenv("DASHBOARD_SECRET_KEY", raising=False)
    block = {"secret_key": "${DASHBOARD_SECRET_KEY}", "users": {"a": {"password_hash": "scrypt:x$y$z",
                                                                        "stores": ["*"]}}}
    with pytest.raises(ConfigError) as caught:
        config_with(tmp_path, block)
    assert any("DASHBOARD_SECRET_KEY" in line for line in caught.value.problems)


# -- throttle --------------------------------------------------------------------------------------

class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_failed_logins_wait_longer_and_longer_per_user_and_per_address():
    clock = Clock()
    throttle = LoginThrottle(free=3, base_s=2, max_s=60, forget_s=600, clock=clock)
    for _ in range(3):
        assert throttle.wait_s("owner", "10.0.0.1") == 0
        throttle.failed("owner", "10.0.0.1")
    assert throttle.wait_s("owner", "10.0.0.1") == 2
    assert throttle.wait_s("OWNER", "10.0.0.9") == 2     # the user, from any address
    assert throttle.wait_s("ali", "10.0.0.1") == 2       # the address, for any user
    assert throttle.wait_s("ali", "10.0.0.9") == 0
    clock.now += 2
    throttle.failed("owner", "10.0.0.1")
    assert throttle.wait_s("owner", "10.0.0.2") == 4     # doubles
    for _ in range(10):
        throttle.failed("owner", "10.0.0.1")
    assert throttle.wait_s("owner", "10.0.0.2") == 60    # capped
    clock.now += 601
    assert throttle.wait_s("owner", "10.0.0.2") == 0     # forgotten


def test_a_correct_password_forgets_the_failures_and_memory_stays_bounded():
    clock = Clock()
    throttle = LoginThrottle(free=1, base_s=5, clock=clock, max_entries=10)
    throttle.failed("owner", "a")
    throttle.succeeded("owner", "a")
    assert throttle.wait_s("owner", "a") == 0
    for i in range(100):
        throttle.failed(f"user{i}", f"addr{i}")
    assert len(throttle._failures) <= 10
    assert throttle.wait_s("user99", "x") == 5  # the newest are kept


# -- override table --------------------------------------------------------------------------------

def test_a_choice_is_added_then_replaced_for_the_same_zip_and_district(tmp_path):
    path = tmp_path / "overrides.csv"
    save_override(path, "99511", "Wamena", "DJJ10000")
    save_override(path, "40132", "Coblong", "bdo10207")
    save_override(path, "99511", "WAMENA", "DJJ10217")
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    assert rows == [["zip", "district", "code"], ["40132", "COBLONG", "BDO10207"], ["99511", "WAMENA", "DJJ10217"]]
    assert [p.name for p in tmp_path.iterdir()] == ["overrides.csv"]  # no temporary file left


def test_what_a_spreadsheet_could_run_or_a_line_break_never_reaches_the_file(tmp_path):
    path = tmp_path / "o.csv"
    save_override(path, "12730", "=HYPERLINK(\"x\")\nMAMPANG", "CGK10101")
    text = path.read_text(encoding="utf-8")
    assert text.count("\n") == 2 and "=" not in text and '"' not in text


@pytest.mark.parametrize(("zip_code", "code", "wanted"), [
    ("9951", "DJJ10000", "postal code '9951' is not 5 digits"),
    ("99511", "DJJ 1,0", "is not a JNE code"),
])
def test_a_bad_choice_is_refused_and_nothing_is_written(tmp_path, zip_code, code, wanted):
    path = tmp_path / "o.csv"
    with pytest.raises(OverrideError, match=wanted):
        save_override(path, zip_code, "X", code)
    assert not path.exists()


def test_a_file_with_another_header_is_left_alone(tmp_path):
    path = tmp_path / "o.csv"
    path.write_text("zip,city,district,code\n1,2,3,4\n", encoding="utf-8")
    with pytest.raises(OverrideError, match="header zip,district,code"):
        save_override(path, "99511", "WAMENA", "DJJ10000")
    assert path.read_text(encoding="utf-8") == "zip,city,district,code\n1,2,3,4\n"


# -- problems as shown -----------------------------------------------------------------------------

def test_a_mapping_message_is_split_into_problem_rule_file_and_line():
    stored = {"DESTINATION_CODE": ["DESTINATION_CODE: no row in d.csv for zip '99511' "
                                   "(rule fields.DESTINATION_CODE in shopify.yaml:95)"],
              "jne": ["JNE refused ORDER_ID TC1: bad phone"]}
    rows = order_problems.rows(stored)
    assert rows[0].field == "DESTINATION_CODE" and rows[0].message == "no row in d.csv for zip '99511'"
    assert (rows[0].rule, rows[0].file, rows[0].line) == ("fields.DESTINATION_CODE", "shopify.yaml", 95)
    assert (rows[1].field, rows[1].message, rows[1].rule) == ("jne", "JNE refused ORDER_ID TC1: bad phone", "")
    assert order_problems.first_message(stored) == "DESTINATION_CODE: no row in d.csv for zip '99511' (+1 more)"


def test_a_structured_problem_keeps_its_origin_and_destination_candidates():
    problem = Problem("DESTINATION_CODE", "some.future.code",
                      {"zip": "99511", "candidates": [{"code": "DJJ10000", "name": "WAMENA"}, {"name": "no code"}]},
                      Origin("fields.DESTINATION_CODE", "shopify.yaml", 95))
    (row,) = order_problems.rows({"DESTINATION_CODE": [problem.as_dict()]})
    assert (row.rule, row.file, row.line) == ("fields.DESTINATION_CODE", "shopify.yaml", 95)
    assert [(c.code, c.name) for c in row.candidates] == [("DJJ10000", "WAMENA")]
    assert "some.future.code" in row.message  # a code this version does not know still shows


# -- commands --------------------------------------------------------------------------------------

def test_hash_password_prints_a_hash_that_checks_and_never_the_password():
    result = CliRunner().invoke(dashboard_group, ["hash-password"], input="correct horse\n")
    assert result.exit_code == 0, result.output
    printed = result.output.strip()
    assert printed.startswith("scrypt:") and "correct horse" not in printed
    assert check_password_hash(printed, "correct horse")
    empty = CliRunner().invoke(dashboard_group, ["hash-password"], input="\n")
    assert empty.exit_code == 2 and "empty password" in empty.output


def test_labels_writes_the_pdf_of_booked_orders_by_order_store_and_day(make_system, database_url, tmp_path):
    system = dashboard_helpers.seed(make_system(database_url))
    cod, woo = system.row("cod"), system.row("woo")
    config = str(system.config_path)
    out = tmp_path / "one.pdf"
    result = CliRunner().invoke(labels_command, ["--config", config, "--order", "TC1042", "--order",
                                                 woo["cnote"], "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert result.output == f"wrote 2 label(s) to {out}\n"
    assert [b for page in barcodes(out.read_bytes()) for _, b in page] == [cod["cnote"], woo["cnote"]]

    day = out.with_name("day.pdf")
    today = datetime.fromisoformat(cod["booked_at"]).astimezone(ZoneInfo("Asia/Jakarta")).date().isoformat()
    result = CliRunner().invoke(labels_command, ["--config", config, "--store", "toko-contoh", "--date", today,
                                                 "-o", str(day)])
    assert result.exit_code == 0, result.output
    texts = page_texts(day.read_bytes())
    assert len(texts) == 2 and "TC1042" in texts[0] + texts[1] and "TC7001" in texts[0] + texts[1]

    none = CliRunner().invoke(labels_command, ["--config", config, "--date", "2001-01-01", "-o",
                                               str(tmp_path / "none.pdf")])
    assert none.exit_code == 1 and "no order was booked on 2001-01-01; nothing written" in none.output
    assert not (tmp_path / "none.pdf").exists()
    bad = CliRunner().invoke(labels_command, ["--config", config, "--date", "14-03-2025", "-o", str(day)])
    assert bad.exit_code == 2 and "is not a date like 2025-03-14" in bad.output
    missing = CliRunner().invoke(labels_command, ["--config", config, "--order", "#1059", "-o", str(day)])
    assert missing.exit_code == 1 and "none of #1059 is a booked order" in missing.output
    unknown = CliRunner().invoke(labels_command, ["--config", config, "--store", "nope", "-o", str(day)])
    assert unknown.exit_code == 2 and "no store 'nope'" in unknown.output


# -- chart and cache -------------------------------------------------------------------------------

def test_the_chart_stacks_each_days_statuses_up_to_the_busiest_day():
    from datetime import date, timedelta

    from integration.dashboard.chart import build

    days = [date(2025, 3, 1) + timedelta(days=i) for i in range(14)]
    chart = build(days, {(13, "booked"): 30, (13, "needs_attention"): 10, (5, "booked"): 20, (-1, "booked"): 99})
    assert chart.total == 60 and chart.peak == 40 and chart.days == 14
    last = [b for b in chart.bars if b.title.startswith("14 Mar")]
    assert [b.status for b in last] == ["booked", "needs_attention"]
    assert sum(b.height for b in last) == pytest.approx(chart.baseline - chart.top, abs=0.2)  # the peak fills it
    assert last[1].y + last[1].height == pytest.approx(last[0].y, abs=0.2)             # stacked, no gap
    assert "14 Mar: 10 needs attention" in [b.title for b in last]
    assert build(days, {}).total == 0 and build(days, {}).bars == []


def test_the_cache_keeps_a_value_until_it_expires_and_stays_small():
    from integration.dashboard.cache import TTLCache

    clock = Clock()
    cache: TTLCache[int] = TTLCache(ttl_s=60, size=2, clock=clock)
    calls: list[str] = []

    def compute(key: str) -> int:
        calls.append(key)
        return len(calls)

    assert cache.get("a", lambda: compute("a")) == 1
    assert cache.get("a", lambda: compute("a")) == 1
    clock.now += 61
    assert cache.get("a", lambda: compute("a")) == 2
    cache.get("b", lambda: compute("b"))
    cache.get("c", lambda: compute("c"))
    assert cache.get("a", lambda: compute("a")) == 5  # pushed out by b and c
    assert calls == ["a", "a", "b", "c", "a"]
