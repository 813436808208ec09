"""Random mapping files and what must hold for each (run by test_mapping_file_properties.py in a child).

``mapping_files()`` writes mapping files the way a store owner might, careless or hostile: vars
built from other vars (concat, join, multi-selects, replace, split... chained, so values double at
every step), fields reading them, transforms, ``when`` conditions, typos, broken expressions and
unknown names, with or without ``extends: shopify.yaml``. The property: the file either loads, or
fails with problems that each name the file and a line; a loaded mapping maps the shared example
order without raising, and every problem it files renders in English and Indonesian, those about a
bound naming the rule, its file and its line.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "tests" / "fixtures" / "examples" / "shopify_cod.body"
NOW = datetime(2025, 3, 14, 1, tzinfo=UTC)
FIELDS = ["SPECIAL_INS", "GOODS_DESC", "RECEIVER_NAME", "ORDER_ID", "QTY", "WEIGHT"]
LEAVES = ["order.note", "order.name", "'ab'", "order.line_items[].name", "order.shipping_address",
          "store.order_prefix", "`3`", "order.nope"]
STEPS = ["upper", "trim", "{max_bytes: 30}", "strip_unsupported"]
GROWTH = ["concat(to_string({last}), to_string({last}))", "[{last}, {last}]", "{{x: {last}, y: {last}}}",
          "join(', ', [to_string({last}), to_string({last})])", "map(&[@, @], [{last}, {last}])",
          "concat(to_string({last}), to_string({last}), to_string({last}))", "[{last}, {other}]",
          "replace(to_string({last}), 'a', to_string({last}))", "concat(to_string({last}), to_string({other}))"]
# One of these in about one file of four: the file must then fail, naming file and line.
MISTAKES = {"leaf": ["ordr.note", "order.[", "vars.later", "nope(order.a)"], "step": ["uper", "{max_bytes: -1}"],
            "field": ["NOT_A_FIELD"], "line": ["  : x", "vars: [", "\tv: 1", "k: &a [*a]"]}


@st.composite
def mapping_files(draw: st.DrawFn) -> str:
    """The text of one mapping file."""
    names: list[str] = []
    lines: list[str] = []
    mistake = draw(st.sampled_from([*MISTAKES, None, None, None, None, None, None, None, None, None]))
    bad = {kind: MISTAKES[kind] if kind == mistake else [] for kind in MISTAKES}
    if draw(st.booleans()):
        lines.append("extends: shopify.yaml")

    def expression(depth: int) -> str:
        leaves = LEAVES + bad["leaf"] + [f"vars.{n}" for n in names[-3:]] * 3  # the last vars, mostly: chains
        if depth > 2 or draw(st.integers(0, 3)) == 0:
            return draw(st.sampled_from(leaves))
        a, b = expression(depth + 1), expression(depth + 1)
        form = draw(st.sampled_from([
            f"concat({a}, {a})", f"concat({a}, {b})", f"join(', ', [{a}, {b}])", f"[{a}, {a}]",
            f"{{x: {a}, y: {a}}}", f"replace(to_string({a}), 'a', to_string({b}))", f"upper(to_string({a}))",
            f"{a} || {b}", f"split(to_string({a}), 'a')", f"to_string({a})", f"length({a})",
            f"join_nonblank(to_string({b}), split(to_string({a}), 'b'))", f"map(&to_string(@), [{a}, {b}])",
            f"if({a}, {b}, {a})", f"{a}[0]", f"sort_by({a}, &@)", f"not_null({a}, {b})"]))
        return form

    lines.append("vars:")
    growing = draw(st.booleans())  # every var grows the one before: the runaway kind
    for index in range(draw(st.integers(0, 30))):
        name = f"v{index}"
        if growing and names:
            last = f"vars.{names[-1]}"
            source = draw(st.sampled_from(GROWTH)).format(last=last, other=expression(2))
        elif growing:
            source = draw(st.sampled_from(["'ab'", "order.note", "order.name"]))
        else:
            source = expression(0)
        lines.append(f"  {name}: {json.dumps(source)}")
        names.append(name)
    lines.append("fields:")
    if growing and names:  # read the end of the chain (an unread var is never worked out)
        lines.append(f"  PICKUP_VEHICLE: {{value: {json.dumps(f'to_string(vars.{names[-1]})')}, then: [{{max_bytes: 10}}]}}")
    for name in draw(st.lists(st.sampled_from(FIELDS + bad["field"]), unique=True, max_size=4)):
        spec = [f"value: {json.dumps(expression(1))}"]
        if draw(st.booleans()):
            steps = draw(st.lists(st.sampled_from(STEPS + bad["step"]), min_size=1, max_size=2))
            spec.append(f"then: [{', '.join(steps)}]")
        if draw(st.integers(0, 3)) == 0:
            spec.append(f"when: {json.dumps(expression(2))}")
        lines.append(f"  {name}: {{{', '.join(spec)}}}")
    if bad["line"]:
        lines.insert(draw(st.integers(0, len(lines))), draw(st.sampled_from(bad["line"])))
    return "\n".join(lines) + "\n"


@settings(max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(text=mapping_files())
def any_mapping_file_loads_or_names_file_and_line(text: str) -> None:
    """The property (call it: hypothesis runs the examples and raises on the first that fails)."""
    from integration.config import load_config
    from integration.errors import ConfigError
    from integration.mapping import MappingResult, load_mapping
    from integration.problems import LANGUAGES, render

    with tempfile.TemporaryDirectory(prefix="mapping_props_") as tmp:
        folder = Path(tmp)
        for source in (ROOT / "mappings").iterdir():
            if source.is_file():
                shutil.copy(source, folder / source.name)
        path = folder / "random.yaml"
        path.write_text(text, encoding="utf-8")
        try:
            mapping = load_mapping(path)
        except ConfigError as exc:
            named = re.compile(rf"^{re.escape(str(folder))}/[\w.]+\.yaml:\d+: ")
            assert exc.problems, str(exc)
            assert all(named.match(p) for p in exc.problems), exc.problems
            assert not any("could not be checked" in p for p in exc.problems), exc.problems
            return
        facts = load_config(None, env={"DATABASE_URL": "sqlite:///:memory:"}).stores["demo"].facts
        result = mapping.apply(json.loads(EXAMPLE.read_bytes()), facts, {"topic": "orders/create"}, NOW)
        assert isinstance(result, MappingResult)
        assert not any(p.code == "mapping.internal_error" for p in result.problems), result.problems
        for problem in result.problems:
            for language in LANGUAGES:
                assert render(problem, language)
            if problem.code.startswith("budget.") and problem.code != "budget.uses_var":
                assert problem.origin is not None and problem.origin.file.endswith(".yaml"), problem
                assert problem.origin.line >= 1 and problem.key.startswith(("vars.", *FIELDS, "PICKUP_VEHICLE", "trigger")), problem
