"""The rule plug-ins: what each declares is what the loader checks and the engine runs, for every rule.

Nothing here names a rule's settings by hand except the smallest valid block of each: the loader
and the engine know rules only through ``rules.registry.RULES``.
"""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime

import pytest

from integration.errors import ConfigError
from integration.jne.fields import FIELD_NAMES
from integration.mapping import load_mapping
from integration.mapping.rules import registry
from integration.mapping.rules.base import REQUIRED

NOW = datetime(2025, 3, 14, 1, 0, tzinfo=UTC)
# the smallest block of each rule that loads
MINIMAL = {"address": {"from": ["order.a"]}, "cod": {"when": "order.cod", "amount": "order.total"},
           "batam": {}, "pickup": {}, "destination": {"zip": "order.zip"}}


def test_every_registered_rule_is_minimally_described_here():
    assert set(MINIMAL) == set(registry.BY_NAME)


@pytest.mark.parametrize("kind", registry.RULES, ids=lambda k: k.name)
def test_each_rule_declares_name_settings_and_the_fields_it_fills(kind):
    assert registry.BY_NAME[kind.name] is kind
    assert kind.settings and all(isinstance(key, str) for key in kind.settings)
    assert set(kind.fills) <= set(FIELD_NAMES)
    assert callable(kind.parse)


def write(tmp_path, text: str):
    path = tmp_path / "m.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def rules_block(name: str, settings: dict) -> str:
    lines = [f"  {name}:"] + [f"    {key}: {value!r}" if not isinstance(value, list) else f"    {key}: {value}"
                               for key, value in settings.items()]
    return "rules:\n" + ("\n".join(lines) if settings else f"  {name}: {{}}") + "\n"


@pytest.mark.parametrize("kind", [k for k in registry.RULES if k.fills], ids=lambda k: k.name)
def test_a_field_rule_for_a_field_a_rule_fills_is_refused_naming_the_rule(tmp_path, kind):
    field = kind.fills[0]
    path = write(tmp_path, f"fields:\n  {field}: {{const: X}}\n" + rules_block(kind.name, MINIMAL[kind.name]))
    with pytest.raises(ConfigError) as caught:
        load_mapping(path)
    assert caught.value.problems == [
        f"{path}:2: fields.{field}: also produced by rules.{kind.name}; remove one of the two"]


@pytest.mark.parametrize("kind", registry.RULES, ids=lambda k: k.name)
def test_an_unknown_setting_is_named_with_the_known_ones(tmp_path, kind):
    path = write(tmp_path, rules_block(kind.name, {**MINIMAL[kind.name], "spoon": "red"}))
    with pytest.raises(ConfigError) as caught:
        load_mapping(path)
    (problem,) = caught.value.problems
    line = 3 + len(MINIMAL[kind.name])  # rules:, the rule, its settings, then spoon (like no setting: no suggestion)
    assert problem == f"{path}:{line}: rules.{kind.name}: unknown key 'spoon' (known: {', '.join(kind.settings)})"


@pytest.mark.parametrize("kind", registry.RULES, ids=lambda k: k.name)
def test_each_required_setting_is_reported_when_missing(tmp_path, kind):
    required = [key for key, default in kind.settings.items() if default is REQUIRED]
    for key in required:
        settings = {k: v for k, v in MINIMAL[kind.name].items() if k != key}
        path = write(tmp_path, rules_block(kind.name, settings))
        with pytest.raises(ConfigError) as caught:
            load_mapping(path)
        assert f"{path}:2: rules.{kind.name}: {key}: is required" in caught.value.problems


@pytest.mark.parametrize("kind", registry.RULES, ids=lambda k: k.name)
def test_each_rule_loads_from_its_smallest_block_and_runs_on_any_order(tmp_path, kind):
    mapping = load_mapping(write(tmp_path, rules_block(kind.name, MINIMAL[kind.name])))
    rule = mapping.rule(kind.name)
    assert rule is not None and rule.name == kind.name and rule.origin.line == 2
    for order in ({}, {"a": "Jl. Kemang 5", "cod": True, "total": "1000"}, None, [1]):
        result = mapping.apply(order, {"pickup": {}}, {}, NOW)
        assert set(result.fields) <= set(FIELD_NAMES)
        assert all(p.origin is None or p.origin.rule == f"rules.{kind.name}" for p in result.problems)


def test_a_rule_that_provides_a_root_runs_unwritten_when_an_expression_reads_it(tmp_path):
    reads = load_mapping(write(tmp_path, "fields:\n  PICKUP_DATE: pickup.date\n"))
    assert reads.rule("pickup") is not None and reads.rule("pickup").origin is None
    assert reads.apply({}, {"pickup": {}}, {}, NOW).fields["PICKUP_DATE"] == "14-03-2025"
    assert load_mapping(write(tmp_path, "fields:\n  GOODS_DESC: order.x\n")).rule("pickup") is None
