"""Mapping documents: extends (override, add, remove by name), where problems point, safe paths."""

from __future__ import annotations

import os
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest

from integration.errors import ConfigError
from integration.mapping import load_mapping
from integration.mapping.files.documents import merge, read_document

NOW = datetime(2025, 3, 14, 1, 0, tzinfo=UTC)


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_mapping(path)
    return caught.value.problems


def one_problem(path: Path) -> str:
    found = problems(path)
    assert len(found) == 1, found
    return found[0]


BASE = """\
    platform: shopify
    tables:
      hs_codes: {file: tables/hs.csv}
    vars:
      to: order.shipping_address
    trigger:
      book_when: "event.topic == 'orders/paid'"
      skip_when:
        test order: "order.test == `true`"
        cancelled: "order.cancelled_at != null"
    fields:
      ORDER_ID: {value: "concat('TC', order.order_number)", then: [alnum_upper]}
      RECEIVER_NAME: {value: vars.to.name, then: [upper, {max_bytes: 30}]}
      SPECIAL_INS: {value: order.note, default: "-"}
      INSURANCE_FLAG: {const: N}
    rules:
      address:
        from: [vars.to.address1, vars.to.address2]
        max_bytes: 85
        then: [upper]
    """


@pytest.fixture
def base(tmp_path):
    write(tmp_path, "tables/hs.csv", "sku,hs_code\nA,0901.21\n")
    return write(tmp_path, "shopify.yaml", BASE)


def test_child_overrides_adds_and_removes_by_name(tmp_path, base):
    child = write(tmp_path, "toko.yaml", """\
        extends: shopify.yaml
        trigger:
          skip_when:
            cancelled: null
            wholesale: "contains_i(order.tags, 'grosir')"
        fields:
          RECEIVER_NAME: {value: vars.to.name, then: [lower]}
          SPECIAL_INS: null
          INSURANCE_FLAG: {const: Y}
          GOODS_DESC: {const: KOPI}
        rules:
          address: {max_bytes: 40}
        """)
    mapping = load_mapping(child)
    assert mapping.platform == "shopify"
    order = {"order_number": 7, "shipping_address": {"name": "Siti", "address1": "Jl. Kemang Raya No. 12 Blok B",
                                                     "address2": "RT 05/RW 02, Kel. Bangka, Kec. Mampang"},
             "cancelled_at": "2025-03-14", "tags": "grosir, vip", "note": "x"}
    result = mapping.apply(order, {}, {"topic": "orders/paid"}, NOW)
    assert result.fields["RECEIVER_NAME"] == "siti"
    assert result.fields["INSURANCE_FLAG"] == "Y"
    assert result.fields["GOODS_DESC"] == "KOPI"
    assert "SPECIAL_INS" not in result.fields
    assert result.fields["RECEIVER_ADDR1"] == "JL. KEMANG RAYA NO. 12 BLOK B"  # the parent's then: [upper] kept
    assert result.skip_reason == "wholesale"  # cancelled was removed
    assert list(mapping.tables) == ["hs_codes"]        # the parent's table, relative to the parent


def test_problems_in_the_parent_point_at_the_parent_file(tmp_path, base):
    write(tmp_path, "shopify.yaml", BASE.replace("then: [alnum_upper]", "then: [alnum]"))
    child = write(tmp_path, "toko.yaml", "extends: shopify.yaml\nfields:\n  GOODS_DESC: {value: order.x, then: [uper]}\n")
    found = problems(child)
    shown_parent = os.path.normpath(os.path.join(os.path.dirname(str(child)), "shopify.yaml"))
    assert any(p.startswith(f"{shown_parent}:12: fields.ORDER_ID: unknown transform 'alnum'") for p in found), found
    assert any(p.startswith(f"{child}:3: fields.GOODS_DESC: unknown transform 'uper'") for p in found), found


def test_an_overridden_rule_reports_the_childs_line(tmp_path, base):
    child = write(tmp_path, "toko.yaml", "extends: shopify.yaml\nfields:\n\n  ORDER_ID: {value: order.x, then: [uper]}\n")
    assert one_problem(child).startswith(f"{child}:4: fields.ORDER_ID: unknown transform 'uper'")


def test_extends_errors(tmp_path):
    assert "does not exist" in one_problem(write(tmp_path, "a.yaml", "extends: nope.yaml\n"))
    write(tmp_path, "x.yaml", "extends: y.yaml\n")
    write(tmp_path, "y.yaml", "extends: x.yaml\n")
    assert "loops back" in one_problem(tmp_path / "x.yaml")
    write(tmp_path, "outside.yaml", "fields: {}\n")
    assert "outside the mapping's folder" in one_problem(write(tmp_path, "sub/c.yaml", "extends: ../outside.yaml\n"))
    assert "needs a file name" in one_problem(write(tmp_path, "d.yaml", "extends: [a]\n"))



def test_merge_records_where_each_entry_came_from(tmp_path):
    write(tmp_path, "p.yaml", "fields:\n  A: x\n  B: y\nrules:\n  address: {from: [a], max_bytes: 80}\n")
    child = write(tmp_path, "c.yaml", "extends: p.yaml\nfields:\n  B: z\n  A: null\nrules:\n  address: {max_bytes: 70}\n")
    found: list[str] = []
    doc = read_document(child, "c.yaml", tmp_path, found)
    assert found == []
    assert doc.data["fields"] == {"B": "z"}
    assert doc.data["rules"]["address"] == {"from": ["a"], "max_bytes": 70}
    assert doc.locs[("fields", "B")] == ("c.yaml", 3)
    assert ("fields", "A") not in doc.locs
    assert doc.locs[("rules", "address", "from")][0].endswith("p.yaml")
    assert doc.locs[("rules", "address", "max_bytes")] == ("c.yaml", 6)
    assert merge(doc, doc).data == doc.data
