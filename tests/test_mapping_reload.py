"""Mappings follow their files: an edit is used without a restart, a broken edit keeps the last good one.

The files are real files on disk and the mapping is the real loader's; the clock that spaces the
checks is a counter the test moves, so "at most one look per second" is shown without waiting.
"""

from __future__ import annotations

import json
import logging
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from integration.config import load_config, store_fact_keys
from integration.errors import ConfigError
from integration.mapping import load_mapping
from integration.mapping.files.fingerprint import Fingerprint
from integration.mapping.files.live import LiveMapping, refused_edits

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = json.loads((ROOT / "tests" / "fixtures" / "examples" / "shopify_cod.body").read_bytes())
STORE = load_config(None, env={"DATABASE_URL": "sqlite://"}).stores["demo"]
NOW = datetime(2025, 3, 14, 3, 0, tzinfo=UTC)
EVENT = {"topic": "orders/create", "received_at": NOW.isoformat()}

CHILD = """extends: shopify.yaml
fields:
  SPECIAL_INS: {{const: "{marker}"}}
"""


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "mappings", tmp_path / "mappings")
    (tmp_path / "mappings" / "toko.yaml").write_text(CHILD.format(marker="FIRST"), encoding="utf-8")
    return tmp_path / "mappings"


def follow(folder: Path, clock: Clock) -> LiveMapping:
    tables = {"destinations": str(folder / "jne_destinations.csv")}
    return LiveMapping.load(lambda fp: load_mapping(folder / "toko.yaml", tables, fingerprint=fp,
                                                    store_keys=store_fact_keys()), clock=clock)


def special(mapping: LiveMapping) -> str:
    return mapping.apply(EXAMPLE, STORE.facts, EVENT, NOW).fields["SPECIAL_INS"]


def test_an_edit_is_used_once_the_next_check_is_due(folder):
    clock = Clock()
    mapping = follow(folder, clock)
    first = mapping.version
    assert special(mapping) == "FIRST"
    (folder / "toko.yaml").write_text(CHILD.format(marker="SECOND"), encoding="utf-8")
    # within the second since the last look: the files are not looked at (never per order)
    assert special(mapping) == "FIRST"
    clock.now += 1.0
    result = mapping.apply(EXAMPLE, STORE.facts, EVENT, NOW)
    assert result.fields["SPECIAL_INS"] == "SECOND"
    assert result.mapping_version == mapping.version != first
    # undoing the edit gives the first version back: the version is the files' contents
    (folder / "toko.yaml").write_text(CHILD.format(marker="FIRST"), encoding="utf-8")
    clock.now += 1.0
    assert special(mapping) == "FIRST" and mapping.version == first


def test_an_edited_parent_file_and_table_count_too(folder):
    clock = Clock()
    mapping = follow(folder, clock)
    first = mapping.version
    parent = folder / "shopify.yaml"
    parent.write_text(parent.read_text(encoding="utf-8") + "\n# a comment is an edit too\n", encoding="utf-8")
    clock.now += 1.0
    second = mapping.version
    assert second != first
    table = folder / "jne_destinations.csv"
    table.write_text(table.read_text(encoding="utf-8") + "99999,TEST CITY,TEST,TST10000\n", encoding="utf-8")
    clock.now += 1.0
    assert mapping.version not in (first, second)
    assert mapping.tables["destinations"].lookup({"zip": "99999"}) == "TST10000"


def test_a_broken_edit_keeps_the_last_good_mapping_and_says_why(folder, caplog):
    clock = Clock()
    mapping = follow(folder, clock)
    good = mapping.version
    (folder / "toko.yaml").write_text('extends: shopify.yaml\nfields:\n  SPECIAL_INS: "order.note ||"\n',
                                      encoding="utf-8")
    clock.now += 1.0
    with caplog.at_level(logging.WARNING, logger="integration.mapping"):
        assert special(mapping) == "FIRST" and mapping.version == good
    assert mapping.refused and "toko.yaml:3: fields.SPECIAL_INS: bad expression" in mapping.refused[0]
    assert f"still using version {good}" in caplog.text and "order.note ||" in caplog.text

    class Store:
        id = "toko"

    Store.mapping = mapping
    assert refused_edits([Store]) == {"toko": {"version": good, "edit_refused": 1,
                                               "fix": "jne-integration check lists the problems"}}
    # the same broken files are not loaded again every second, and not logged again
    caplog.clear()
    clock.now += 1.0
    assert mapping.version == good and caplog.text == ""
    (folder / "toko.yaml").write_text(CHILD.format(marker="FIXED"), encoding="utf-8")
    clock.now += 1.0
    assert special(mapping) == "FIXED" and mapping.refused == [] and refused_edits([Store]) == {}


def test_a_deleted_file_is_a_refused_edit_and_creating_it_again_is_seen(folder):
    clock = Clock()
    mapping = follow(folder, clock)
    good = mapping.version
    (folder / "toko.yaml").unlink()
    clock.now += 1.0
    assert mapping.version == good and "does not exist" in mapping.refused[0]
    (folder / "toko.yaml").write_text(CHILD.format(marker="BACK"), encoding="utf-8")
    clock.now += 1.0
    assert special(mapping) == "BACK" and not mapping.refused


def test_a_load_notes_every_file_it_read_even_when_it_fails(folder):
    fingerprint = Fingerprint()
    (folder / "toko.yaml").write_text("extends: nope.yaml\n", encoding="utf-8")
    with pytest.raises(ConfigError):
        load_mapping(folder / "toko.yaml", fingerprint=fingerprint)
    assert {p.name for p in fingerprint.files} == {"toko.yaml", "nope.yaml"}
    assert fingerprint.files[(folder / "nope.yaml").resolve()].stat is None
