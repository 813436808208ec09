"""Every YAML example in docs/mapping.md and in the README's mapping section loads.

The reference cannot drift from the language.
"""

from __future__ import annotations

import re
import shutil
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from integration.jne.fields import FIELD_NAMES
from integration.mapping import MappingResult, load_mapping

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "mapping.md").read_text(encoding="utf-8")
README_MAPPING = (ROOT / "README.md").read_text(encoding="utf-8").split("## Mapping files", 1)[1].split("\n## ", 1)[0]
# The recipes need their own files and orders: tests/test_mapping_recipes.py applies each one.
REFERENCE = DOC.split("\n## Recipes", 1)[0] + DOC.split("\n## Recipes", 1)[1].split("\n## ", 1)[1]
BLOCKS = re.findall(r"```yaml\n(.*?)```", REFERENCE + README_MAPPING, flags=re.S)
# What the examples may lean on, as a store's own mapping would: the shipped tables and a variable.
BASE = """\
tables:
  destinations: {file: jne_destinations.csv}
  hs_codes: {file: hs_codes.csv}
  regions: {file: regions.csv, keys: [code, name], value: region}
vars:
  is_cod: "contains_i(order.payment_gateway_names, 'Cash on Delivery (COD)')"
"""


def test_the_reference_has_examples():
    assert len(BLOCKS) >= 10


@pytest.mark.parametrize("block", BLOCKS, ids=[f"example{i}" for i in range(len(BLOCKS))])
def test_each_example_loads_and_maps(tmp_path, block):
    for name in ("jne_destinations.csv", "hs_codes.csv", "regions.csv", "shopify.yaml"):
        shutil.copy(ROOT / "mappings" / name, tmp_path / name)
    (tmp_path / "base.yaml").write_text(BASE, encoding="utf-8")
    doc = yaml.safe_load(block)
    if set(doc) <= set(FIELD_NAMES):  # a list of field rules shown on their own
        block = "fields:\n" + textwrap.indent(block, "  ")
    if "extends:" not in block:
        block = "extends: base.yaml\n" + block
    path = tmp_path / "example.yaml"
    path.write_text(block, encoding="utf-8")
    mapping = load_mapping(path)
    order = {"order_number": 1042, "shipping_address": {"name": "Siti", "zip": "12730", "city": "Jakarta Selatan",
                                                        "address1": "Jl. Kemang Raya No. 12", "province_code": "JK"},
             "line_items": [{"name": "Kopi", "quantity": 1, "price": "1000"}]}
    result = mapping.apply(order, {"order_prefix": "TC", "pickup": {}}, {"topic": "orders/paid"},
                           datetime(2025, 3, 14, 1, 0, tzinfo=UTC))
    assert isinstance(result, MappingResult)
