"""Every order fixture through the default mapping of its platform and JNE's schema, as preview does.

The expectations are hand-written in tests/fixtures/orders (see its README); the golden files in
tests/fixtures/golden hold the complete field set of a few main orders, reviewed by hand against
the JNE rules.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from fixtures.expect import ORDERS, check, fixtures

from integration.jne.schema import validate_booking
from integration.mapping import Mapping, MappingResult, load_mapping

ROOT = Path(__file__).resolve().parents[1]
MAPPINGS = ROOT / "mappings"
GOLDEN = Path(__file__).resolve().parent / "fixtures" / "golden"
# A Friday before the cutoff in Jakarta (08:00 WIB): the pickup is the same day at 16:00.
NOW = datetime(2025, 3, 14, 1, 0, tzinfo=UTC)
ALL = list(fixtures())


def store_facts(store_id: str, platform: str) -> dict[str, Any]:
    """The store block of stores.yaml as ``store.*`` sees it (no lookups, no secrets)."""
    blocks = yaml.safe_load((ORDERS / "stores.yaml").read_text(encoding="utf-8"))
    facts = {k: v for k, v in blocks[store_id].items() if k != "lookups"}
    facts.update(id=store_id, platform=platform)
    facts.setdefault("return", {})
    return facts


def test_tables() -> dict[str, str]:
    blocks = yaml.safe_load((ORDERS / "stores.yaml").read_text(encoding="utf-8"))
    return {name: str(ORDERS / path) for name, path in blocks["toko-contoh"]["lookups"].items()}


test_tables.__test__ = False  # a helper, not a test


_MAPPINGS: dict[tuple[str, str], Mapping] = {}


def mapping_for(path: Path) -> Mapping:
    key = (str(path), "fixture-tables")
    if key not in _MAPPINGS:
        _MAPPINGS[key] = load_mapping(path, tables=test_tables())
    return _MAPPINGS[key]


def preview(mapping: Mapping, fx: Any, now: datetime = NOW) -> dict[str, Any]:
    """Map and validate like ``jne-integration preview --json``: schema messages only for fields
    the mapping did not already report (the mapping's message names the rule to fix)."""
    result: MappingResult = mapping.apply(fx.order, store_facts(fx.store, fx.platform),
                                          {"topic": fx.topic, "received_at": now.isoformat()}, now)
    errors = {k: list(v) for k, v in result.errors.items()}
    if result.fields:
        for name, messages in validate_booking(result.fields).items():
            errors.setdefault(name, list(messages))
    return {"store": fx.store, "book": result.book, "skip_reason": result.skip_reason,
            "fields": result.fields, "errors": errors}


@pytest.mark.parametrize("fx", ALL, ids=[fx.id for fx in ALL])
def test_fixture_meets_its_expectation(fx):
    got = preview(mapping_for(MAPPINGS / f"{fx.platform}.yaml"), fx)
    assert check(got, fx.expect) == [], (fx.description, got)


def test_there_are_fixtures_of_both_platforms():
    assert {fx.platform for fx in ALL} == {"shopify", "woocommerce"}
    assert len(ALL) >= 40


GOLDEN_FILES = sorted(GOLDEN.glob("*/*.json"))


@pytest.mark.parametrize("path", GOLDEN_FILES, ids=[f"{p.parent.name}/{p.stem}" for p in GOLDEN_FILES])
def test_golden_fields(path):
    golden = json.loads(path.read_text(encoding="utf-8"))
    fx = next(f for f in ALL if f.platform == path.parent.name and f.name == path.stem)
    got = preview(mapping_for(MAPPINGS / f"{fx.platform}.yaml"), fx, datetime.fromisoformat(golden["now"]))
    assert got["errors"] == golden.get("errors", {})
    assert got["fields"] == golden["fields"]


def test_golden_files_cover_prepaid_cod_and_batam_on_both_platforms():
    names = {f"{p.parent.name}/{p.stem}" for p in GOLDEN_FILES}
    assert {"shopify/prepaid_jakarta", "shopify/cod_jakarta_example", "shopify/batam_shared_hs_codes",
            "woocommerce/cod_bandung_example", "woocommerce/batam_shared_hs_codes"} <= names


def _mapping_files() -> list[Path]:
    return sorted(MAPPINGS.glob("*.yaml"))


@pytest.mark.parametrize("path", _mapping_files(), ids=[p.name for p in _mapping_files()])
def test_every_mapping_loads_and_maps_every_fixture_of_its_platform(path):
    for_tables = load_mapping(path)  # with its own example tables
    mapping = mapping_for(path)      # with the fixtures' tables, as a store's lookups would
    assert for_tables.platform == mapping.platform
    platform = mapping.platform
    assert platform in ("shopify", "woocommerce"), f"{path.name} says platform {platform!r}"
    mine = [fx for fx in ALL if fx.platform == platform]
    assert mine
    for fx in mine:
        for m in (mapping, for_tables):
            result = m.apply(fx.order, store_facts(fx.store, fx.platform), {"topic": fx.topic}, NOW)
            assert isinstance(result, MappingResult)
            assert all(isinstance(v, str) and v.strip() for v in result.fields.values())
            assert all(isinstance(k, str) and isinstance(v, list) and v for k, v in result.errors.items())
            if result.book and not result.errors:
                assert validate_booking(result.fields) == {}, fx.id
