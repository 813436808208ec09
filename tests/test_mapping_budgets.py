"""Mappings with a budget and linear work (issue 14, items 3 and 6).

Each value bounded in size, vars computed only when used, a time and size budget per order, and
the address rule and the loading of many vars linear in their input. Each case runs in a fresh interpreter
under an address-space limit (RLIMIT_AS) and a CPU-time limit (RLIMIT_CPU), so a regression fails
the test instead of taking the machine down. Figures before the fix, from
benchmarks/bench_hostile_mappings.py on the 2-core box: doubling 26 levels 7.5 s and 3.6 GB;
a 2 MB order with an unbroken accented address 120 s; 20,000 chained vars 167 s to load.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import hostile_mappings
import pytest
import yaml
from app_helpers import write_config
from click.testing import CliRunner
from jne_helpers import TEST_API_KEY, sandbox, sandbox_server  # noqa: F401  (fixtures, bound by name)

from integration.cli import main
from integration.mapping import load_mapping
from integration.mapping.language.budget import MAX_ORDER_SECONDS, MAX_TEXT, MAX_VALUE, order_budget
from integration.problems import render

TESTS = Path(__file__).resolve().parent
NOW = datetime(2025, 3, 14, 1, tzinfo=UTC)
MEMORY = 1024 * 1024 * 1024  # 1 GiB of address space; the mapping engine needs ~200 MB

CHILD = r"""
import json, sys
from datetime import datetime, UTC
sys.path.insert(0, sys.argv[1])
import hostile_mappings
from integration.config import load_config
from integration.mapping import load_mapping
case, arg = sys.argv[2], sys.argv[3]
store = load_config(None, env={"DATABASE_URL": "sqlite:///:memory:"}).stores["demo"]
mapping = store.mapping if case == "order" else load_mapping(arg)
order = (hostile_mappings.big_accented_order(int(arg)) if case == "order"
         else json.loads(hostile_mappings.EXAMPLE.read_bytes()))
result = mapping.apply(order, store.facts, {"topic": "orders/create"}, datetime(2025, 3, 14, 1, tzinfo=UTC))
print(json.dumps({"errors": result.errors, "fields": sorted(result.fields)}))
"""


def run_limited(case: str, arg: str, cpu_s: int) -> dict:
    """Map in a child interpreter under the limits; its result, or a failure saying how it ended."""
    def limits() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s))

    proc = subprocess.run([sys.executable, "-c", CHILD, str(TESTS), case, arg], capture_output=True,
                          text=True, preexec_fn=limits, timeout=cpu_s * 4 + 60)
    assert proc.returncode == 0, f"the mapping did not finish within its budget: {proc.stderr[-1500:]}"
    return json.loads(proc.stdout.strip().splitlines()[-1])



def test_a_var_doubled_26_times_needs_attention_naming_the_rule(tmp_path):
    path = hostile_mappings.write_beside_mappings(tmp_path, "doubling.yaml", hostile_mappings.doubling_mapping(26))
    result = run_limited("mapping", str(path), cpu_s=20)
    messages = " ".join(m for ms in result["errors"].values() for m in ms)
    assert result["errors"], "an over-budget value must make the order need attention"
    assert "v26" in messages or "SPECIAL_INS" in messages, messages


def test_an_unused_exploding_var_is_never_computed(tmp_path):
    text = hostile_mappings.doubling_mapping(26).replace("  SPECIAL_INS: {value: vars.v26", "  SPECIAL_INS: {value: vars.v0")
    path = hostile_mappings.write_beside_mappings(tmp_path, "unused.yaml", text)
    result = run_limited("mapping", str(path), cpu_s=20)
    assert "SPECIAL_INS" in result["fields"] and not result["errors"], result["errors"]


def test_a_2_mb_order_with_a_long_accented_address_maps_in_linear_time():
    result = run_limited("order", str(2 * 1024 * 1024), cpu_s=5)
    assert "RECEIVER_ADDR" in result["errors"], result["errors"]


def test_a_mapping_of_20000_vars_loads_in_linear_time(tmp_path):
    path = hostile_mappings.write_beside_mappings(tmp_path, "many.yaml", hostile_mappings.many_vars_mapping(20_000))

    def limits() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))
        resource.setrlimit(resource.RLIMIT_CPU, (15, 15))

    code = "import sys; from integration.mapping import load_mapping; load_mapping(sys.argv[1]); print('ok')"
    proc = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True,
                          preexec_fn=limits, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-1500:]


# -- in process: which rule, which file and line, which bound ------------------------------------------
# (small enough to be harmless even without budgets: 18 levels from "ab" would be 512 KiB)

def example(note: str | None = "ab") -> dict:
    """The shared Shopify COD example, with ``note`` (the doubling mappings start from it)."""
    order = json.loads(hostile_mappings.EXAMPLE.read_bytes())
    order["note"] = note
    return order


def demo_facts() -> dict:
    """The built-in demo store's facts (the example order's store)."""
    from integration.config import load_config

    return load_config(None, env={"DATABASE_URL": "sqlite:///:memory:"}).stores["demo"].facts


def line_of(path: Path, start: str) -> int:
    """The line number of the first line of ``path`` that starts with ``start`` (after indentation)."""
    return next(i for i, text in enumerate(path.read_text().splitlines(), 1) if text.strip().startswith(start))


def test_the_var_that_crosses_the_text_bound_is_named_with_file_line_and_bound(tmp_path):
    path = hostile_mappings.write_beside_mappings(tmp_path, "doubling.yaml", hostile_mappings.doubling_mapping(18))
    result = load_mapping(path).apply(example("ab"), demo_facts(), {"topic": "orders/create"}, NOW)

    # "ab" doubled 15 times is 65,536 characters (the bound itself); v16 would be twice that
    crossed = [p for p in result.problems if p.code == "budget.text"]
    assert [p.key for p in crossed] == ["vars.v16"], result.problems
    problem = crossed[0]
    assert problem.params == {"size": 2 * MAX_TEXT, "bound": MAX_TEXT}
    assert (problem.origin.rule, problem.origin.file, problem.origin.line) == (
        "vars.v16", "doubling.yaml", line_of(path, "v16:"))
    assert f"{MAX_TEXT}" in render(problem, "en") and f"{MAX_TEXT}" in render(problem, "id")
    assert "doubling.yaml:" in render(problem, "en") and "doubling.yaml:" in render(problem, "id")
    # the field built from it is not booked blank: it needs attention, naming the var it reads
    uses = [p for p in result.problems if p.key == "SPECIAL_INS"]
    assert [(p.code, dict(p.params)) for p in uses] == [("budget.uses_var", {"var": "vars.v18"})]
    assert "SPECIAL_INS" not in result.fields and result.book


def test_an_order_whose_vars_stay_small_is_mapped_by_the_same_doubling_mapping(tmp_path):
    path = hostile_mappings.write_beside_mappings(tmp_path, "doubling.yaml", hostile_mappings.doubling_mapping(12))
    result = load_mapping(path).apply(example("ab"), demo_facts(), {"topic": "orders/create"}, NOW)
    assert not result.problems, result.problems
    assert result.fields["SPECIAL_INS"] == "ab" * 30  # 2 * 2**12 characters, cut to 60 bytes


def vars_mapping(tmp_path: Path, vars_block: str, special_ins: str) -> Path:
    """A mapping extending shopify.yaml with ``vars_block`` (YAML lines) and SPECIAL_INS from ``special_ins``."""
    text = f"extends: shopify.yaml\nvars:\n{vars_block}fields:\n  SPECIAL_INS: {{value: \"{special_ins}\"}}\n"
    return hostile_mappings.write_beside_mappings(tmp_path, "vars.yaml", text)


def test_a_failing_var_costs_nothing_unused_and_keeps_its_message_when_used(tmp_path):
    block = "  bad: \"order.note > `5`\"\n"  # text compared with a number: an expression error on this order
    unused = load_mapping(vars_mapping(tmp_path / "a", block, "order.note"))
    result = unused.apply(example("ab"), demo_facts(), {"topic": "orders/create"}, NOW)
    assert not result.problems and result.fields["SPECIAL_INS"] == "ab"

    used = load_mapping(vars_mapping(tmp_path / "b", block, "vars.bad || order.note"))
    result = used.apply(example("ab"), demo_facts(), {"topic": "orders/create"}, NOW)
    assert [(p.key, p.code) for p in result.problems] == [("vars.bad", "expression.failed")]
    assert "cannot compare the text 'ab' with a number" in result.errors["vars.bad"][0]
    assert result.problems[0].origin.line == line_of(tmp_path / "b" / "vars.yaml", "bad:")


def test_vars_read_as_a_whole_are_all_worked_out_in_file_order(tmp_path):
    block = "  first: \"'one'\"\n  second: \"concat(vars.first, '-two')\"\n"
    mapping = load_mapping(vars_mapping(tmp_path, block, "join(',', values(vars)[?type(@) == 'string'])"))
    result = mapping.apply(example("ab"), demo_facts(), {"topic": "orders/create"}, NOW)
    assert not result.problems, result.problems
    assert result.fields["SPECIAL_INS"].startswith("IDR,") and result.fields["SPECIAL_INS"].endswith(",one,one-two")


def test_an_order_over_its_time_budget_needs_attention_naming_the_rules(tmp_path):
    mapping = load_mapping(hostile_mappings.SHOPIFY_MAPPING)
    with order_budget(seconds=-1):  # already over when the first rule starts
        result = mapping.apply(example(), demo_facts(), {"topic": "orders/create"}, NOW)
    # one problem, under the first rule that found the order over time (the pickup slot, which
    # runs first, with its defaults: written nowhere), and nothing booked
    assert result.book and not result.fields
    assert [(p.key, p.code, dict(p.params)) for p in result.problems] == [
        ("pickup", "budget.time", {"bound": MAX_ORDER_SECONDS})]
    assert f"{MAX_ORDER_SECONDS} seconds" in render(result.problems[0], "en")
    assert f"{MAX_ORDER_SECONDS} detik" in render(result.problems[0], "id")
    # the next order has its own budget
    assert not mapping.apply(example(), demo_facts(), {"topic": "orders/create"}, NOW).problems


# -- in a child under RLIMIT_AS: functions that would build a huge value in one call ---------------------

DOUBLED_TO_64K = "  t0: \"'ab'\"\n" + "".join(f"  t{i}: \"concat(vars.t{i - 1}, vars.t{i - 1})\"\n" for i in range(1, 16))


@pytest.mark.parametrize(("amplifier", "code"), [
    ("replace(vars.t15, 'a', vars.t15)", "budget.text"),           # 2**31 characters in one call
    ("join(vars.t15, split(vars.t13, 'a'))", "budget.text"),      # 8,192 separators of 64 KiB
    ("join_nonblank(vars.t15, split(vars.t13, 'a'))", "budget.text"),
    ("concat(vars.t15, vars.t15, vars.t15)", "budget.text"),
    ("length(to_string([[vars.t15, vars.t15], [vars.t15, vars.t15]]))", "budget.value"),
])
def test_a_function_that_would_build_a_huge_value_is_stopped_before_it_builds_it(tmp_path, amplifier, code):
    path = vars_mapping(tmp_path, DOUBLED_TO_64K + f"  big: \"{amplifier}\"\n", "vars.big")
    result = run_limited("mapping", str(path), cpu_s=20)
    assert list(result["errors"]) == ["vars.big", "SPECIAL_INS"], result["errors"]
    message = result["errors"]["vars.big"][0]
    assert "rule vars.big in vars.yaml:" in message and ("65536" in message or f"{MAX_VALUE}" in message), message


def test_a_list_doubled_through_vars_is_stopped_at_the_value_bound(tmp_path):
    # [w, w] nested 30 times is small in memory but 2**30 items to print: bounded as it is made
    block = "  w0: \"'ab'\"\n" + "".join(f"  w{i}: \"[vars.w{i - 1}, vars.w{i - 1}]\"\n" for i in range(1, 31))
    path = vars_mapping(tmp_path, block, "to_string(vars.w30)")
    result = run_limited("mapping", str(path), cpu_s=30)
    crossed = [k for k, ms in result["errors"].items() if any(f"{MAX_VALUE}" in m for m in ms)]
    assert len(crossed) == 1 and crossed[0].startswith("vars.w"), result["errors"]
    assert "SPECIAL_INS" in result["errors"]


# -- check: a warning, not an error ------------------------------------------------------------------

def test_check_warns_about_a_doubling_chain_and_still_passes(tmp_path):
    path = hostile_mappings.write_beside_mappings(tmp_path / "m", "doubling.yaml", hostile_mappings.doubling_mapping(26))
    config = write_config(tmp_path, f"sqlite:///{tmp_path / 'l.db'}")
    doc = yaml.safe_load(config.read_text())
    for store in doc["stores"].values():
        if store["platform"] == "shopify":
            store["mapping"] = str(path)
    config.write_text(yaml.safe_dump(doc), encoding="utf-8")
    result = CliRunner().invoke(main, ["--config", str(config), "check"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    warnings = [line.strip() for line in result.output.splitlines() if "warning:" in line]
    assert warnings[0].startswith(f"{path}:{line_of(path, 'v26:')}: vars.v26: warning: reads vars.v25 2 times")
    assert "67,108,864 times" in warnings[0] and "Budgets" in warnings[0]
    assert len(warnings) == 6 and "21 more vars" in warnings[-1]


def test_check_has_no_warning_for_the_default_mappings():
    for name in ("shopify", "woocommerce"):
        assert load_mapping(hostile_mappings.SHOPIFY_MAPPING.parent / f"{name}.yaml").warnings == ()


# -- the worker: one poisoned order among good ones -------------------------------------------------

def test_the_worker_books_the_good_orders_and_sets_the_poisoned_one_aside(tmp_path, database_url, sandbox):  # noqa: F811
    from test_worker import FAST, STORES, fixture, ingest, renumber, store_block

    from integration import ledger
    from integration.booking.worker import Worker
    from integration.config import load_config

    # the chain doubles the order's note 26 times: blank for the good orders, 2**27 characters for "ab"
    text = hostile_mappings.doubling_mapping(26).replace("order.note || 'ab'", "order.note || ''").replace(
        "SPECIAL_INS: {value: vars.v26", "SPECIAL_INS: {value: \"vars.v26 || order.note\", default: '-'")
    mapping = hostile_mappings.write_beside_mappings(tmp_path / "m", "poisoned.yaml", text)
    store = {**store_block("shopify", "toko-contoh.myshopify.com", "TC"), "mapping": str(mapping)}
    doc = {"database_url": database_url, "stores": {STORES["shopify"]: store}, "worker": FAST,
           "jne": {"url": sandbox.url, "username": "TESTAPI", "api_key": TEST_API_KEY}}
    (tmp_path / "integration.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    config = load_config(tmp_path / "integration.yaml")
    engine = ledger.make_engine(database_url)
    ledger.upgrade(engine)
    try:
        base = fixture("shopify", "prepaid_jakarta")
        refs = {}
        for n, note in [(7101, None), (7102, "ab"), (7103, None)]:
            order = renumber("shopify", {**base["order"], "note": note}, n)
            ingest(engine, "shopify", order, base["topic"])
            refs[n] = str(order["id"])

        assert Worker(config, engine).run_once() == 3

        shipments = {n: ledger.find_shipment(engine, STORES["shopify"], ref) for n, ref in refs.items()}
        assert [shipments[n]["status"] for n in (7101, 7102, 7103)] == ["booked", "needs_attention", "booked"]
        assert {b["order_id"] for b in sandbox.bookings()} == {"TC7101", "TC7103"}
        errors = shipments[7102]["errors"]
        assert any("rule vars.v16 in poisoned.yaml:" in m and "65536" in m for m in errors["vars.v16"]), errors
        assert shipments[7102]["attempts"] == 0
    finally:
        engine.dispose()
