"""Every recipe of docs/mapping.md, read from the page, loaded beside the default mappings and applied.

Each recipe is checked on real example orders for the change it promises (and that it leaves the
order bookable), through the same pipeline preview and the worker use, so the page cannot drift.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from integration.config import load_config
from integration.mapping import load_mapping
from integration.pipeline import prepare

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "mapping.md").read_text(encoding="utf-8")
SECTION = DOC.split("\n## Recipes\n", 1)[1].split("\n## ", 1)[0]
RECIPES = {title.strip(): body for title, body in re.findall(r"\n### (.+?)\n(.*?)(?=\n### |\Z)", SECTION, re.S)}
STORE = load_config(None, env={"DATABASE_URL": "sqlite://"}).stores["demo"]
NOW = datetime(2025, 3, 14, 3, 0, tzinfo=UTC)


def order() -> dict:
    """The Shopify example order (COD, Jakarta Selatan), a fresh copy."""
    return json.loads((ROOT / "tests" / "fixtures" / "examples" / "shopify_cod.body").read_bytes())


@pytest.fixture
def recipe(tmp_path):
    """Load the recipe of that title from the page, with its CSV when it has one; map orders with it."""
    shutil.copytree(ROOT / "mappings", tmp_path / "mappings")

    def load(title: str):
        body = RECIPES[title]
        [yaml_text] = re.findall(r"```yaml\n(.*?)```", body, re.S)
        for csv_text in re.findall(r"```csv\n(.*?)```", body, re.S):
            name = re.search(r"`(\w+\.csv)`", body).group(1)
            (tmp_path / "mappings" / name).write_text(csv_text, encoding="utf-8")
        (tmp_path / "mappings" / "recipe.yaml").write_text(yaml_text, encoding="utf-8")
        mapping = load_mapping(tmp_path / "mappings" / "recipe.yaml")
        store = replace(STORE, mapping=mapping)
        return lambda o, topic="orders/create": prepare(store, topic, o, NOW)

    return load


def test_the_page_has_the_six_recipes():
    assert list(RECIPES) == ["A note attribute, with a fallback", "A tag test", "An amount threshold",
                             "Skipping the shop's own courier by the shipping title", "One extra destination",
                             "Dropship sender name"]


def test_a_note_attribute_with_a_fallback(recipe):
    apply = recipe("A note attribute, with a fallback")
    o = order()
    o["note_attributes"] = [{"name": "catatan KURIR", "value": "Titip ke satpam"}]
    assert apply(o).fields["SPECIAL_INS"] == "Titip ke satpam"
    o["note_attributes"] = []
    assert apply(o).fields["SPECIAL_INS"] == "Tolong telepon sebelum kirim"  # the order note
    o["note"] = None
    result = apply(o)
    assert result.fields["SPECIAL_INS"] == "-" and result.problems == []


def test_a_tag_test(recipe):
    apply = recipe("A tag test")
    o = order()
    o["tags"] = "vip, Fragile"
    assert apply(o).fields["INSURANCE_FLAG"] == "Y"
    o["tags"] = "fragileware"  # a whole tag, not part of one
    assert apply(o).fields["INSURANCE_FLAG"] == "N"
    o["tags"] = ""
    result = apply(o)
    assert result.fields["INSURANCE_FLAG"] == "N" and result.problems == []


def test_an_amount_threshold(recipe):
    apply = recipe("An amount threshold")
    o = order()
    assert o["total_price"] == "185000.00"
    assert apply(o).fields["INSURANCE_FLAG"] == "N"
    o["total_price"] = "1250000.00"
    assert apply(o).fields["INSURANCE_FLAG"] == "Y"
    o["total_price"] = 1000000  # a number works the same
    assert apply(o).fields["INSURANCE_FLAG"] == "Y"
    o["total_price"] = "satu juta"
    [message] = apply(o).messages()["INSURANCE_FLAG"]
    assert "cannot compare the text 'satu juta' with a number" in message and "TypeError" not in message


def test_skipping_the_shops_own_courier_by_the_shipping_title(recipe):
    apply = recipe("Skipping the shop's own courier by the shipping title")
    o = order()
    assert apply(o).book
    o["shipping_lines"][0]["title"] = "Kurir Toko (Jabodetabek)"
    result = apply(o)
    assert not result.book and result.skip_reason == "delivered by our own courier"


def test_one_extra_destination(recipe):
    apply = recipe("One extra destination")
    o = order()
    default = prepare(STORE, "orders/create", order(), NOW).fields["DESTINATION_CODE"]
    assert apply(o).fields["DESTINATION_CODE"] == default  # not in the table: JNE's list, as before
    o["shipping_address"].update(zip="99511", city="Wamena")
    result = apply(o)
    assert result.fields["DESTINATION_CODE"] == "DJJ20100" and result.problems == []
    o["shipping_address"].update(zip="99999", city="Nowhere", province="Nowhere", province_code=None)
    assert "DESTINATION_CODE" not in apply(o).fields


def test_dropship_sender_name(recipe):
    apply = recipe("Dropship sender name")
    o = order()
    assert apply(o).fields["SHIPPER_NAME"] == "TOKO DEMO"
    o["note_attributes"] = [{"name": "Nama pengirim", "value": "Butik Melati 🌸"}]
    result = apply(o)
    assert result.fields["SHIPPER_NAME"] == "BUTIK MELATI" and result.problems == []
