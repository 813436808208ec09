"""Reading mapping YAML: safe, with line numbers, without YAML 1.1's yes/no and octal surprises."""

from __future__ import annotations

import pytest
import yaml

from integration.mapping.files.source import line_of, parse_yaml


def test_lines_of_keys_and_list_items():
    doc = parse_yaml("fields:\n  ORDER_ID: order.name\n  RECEIVER_NAME:\n    then:\n      - upper\n      - {max_bytes: 30}\n")
    assert doc.lines[("fields", "ORDER_ID")] == 2
    assert doc.lines[("fields", "RECEIVER_NAME", "then", 1)] == 6
    assert line_of(doc.lines, ("fields", "RECEIVER_NAME", "then", 1, "max_bytes")) == 6
    assert line_of(doc.lines, ("nowhere", "x")) == 1


def test_scalars_store_owners_mean_as_text():
    doc = parse_yaml("a: YES\nb: no\nc: on\nd: 0901.21\ne: 08123\nf: 15:00\ng: 0123\n"
                     "h: true\ni: 12\nj: 1.5\nk: null\nl: ~\n")
    assert doc.data == {"a": "YES", "b": "no", "c": "on", "d": "0901.21", "e": "08123", "f": "15:00",
                        "g": "0123", "h": True, "i": 12, "j": 1.5, "k": None, "l": None}


def test_duplicate_keys_are_noticed():
    doc = parse_yaml("fields:\n  A: x\n  A: y\n")
    assert doc.duplicates == [(("fields", "A"), 3)]


def test_only_safe_yaml():
    with pytest.raises(yaml.YAMLError):
        parse_yaml("a: !!python/object/apply:os.system ['echo hi']\n")


def test_empty_document():
    assert parse_yaml("").data is None
