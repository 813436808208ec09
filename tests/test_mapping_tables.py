"""CSV lookup tables: zip, then city + district, then city; loose matching; clear misses and load errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from integration.mapping.files.tables import LookupMiss, load_table, normalise_key
from integration.problems import render

DESTINATIONS = """zip,city,district,code
12730,JAKARTA SELATAN,MAMPANG PRAPATAN,CGK10000
40131,BANDUNG,COBLONG,BDO10000
,BANDUNG,SUKAJADI,BDO10100
,BOGOR,,BOO10000
,TANGERANG SELATAN,,TGR10000
"""


@pytest.fixture
def destinations(tmp_path: Path):
    path = tmp_path / "jne_destinations.csv"
    path.write_text(DESTINATIONS, encoding="utf-8")
    table, problems = load_table("destinations", path, None, None)
    assert problems == []
    return table


def test_by_zip_first(destinations):
    assert destinations.lookup({"zip": "12730", "city": "Bandung"}) == "CGK10000"
    assert destinations.lookup("40131") == "BDO10000"  # a bare value is the first key: zip


def test_then_city_and_district(destinations):
    assert destinations.lookup({"zip": "99999", "city": "bandung", "district": "Sukajadi"}) == "BDO10100"


def test_then_city_alone(destinations):
    assert destinations.lookup({"zip": None, "city": "Bogor"}) == "BOO10000"
    assert destinations.lookup({"zip": "", "city": "Bandung", "district": "Antapani"}) == "BDO10000"


def test_matching_ignores_case_spaces_and_punctuation(destinations):
    assert destinations.lookup({"city": "  tangerang   selatan "}) == "TGR10000"
    assert destinations.lookup({"city": "Tangerang-Selatan"}) == "TGR10000"
    assert destinations.lookup({"zip": " 12 730 "}) == "CGK10000"


def test_city_prefixes_kota_and_kabupaten_are_tried_without_them(destinations):
    assert destinations.lookup({"city": "Kota Bandung"}) == "BDO10000"
    assert destinations.lookup({"city": "Kabupaten Bogor"}) == "BOO10000"
    assert destinations.lookup({"city": "Kab. Bogor"}) == "BOO10000"


def test_a_miss_names_the_values_and_the_file(destinations):
    with pytest.raises(LookupMiss) as caught:
        destinations.lookup({"zip": "99511", "city": "Wamena", "district": None})
    message = str(caught.value)
    assert message == "no row in jne_destinations.csv for zip '99511', city 'Wamena'"


def test_nothing_to_look_up_says_what_is_needed(destinations):
    with pytest.raises(LookupMiss, match=r"nothing to look up in jne_destinations.csv \(needs one of: zip; city \+ district; city\)"):
        destinations.lookup({"zip": None, "city": ""})


def test_hs_codes_table_defaults(tmp_path: Path):
    path = tmp_path / "hs_codes.csv"
    path.write_text("\ufeffsku,hs_code\nKOPI-GAYO-250-BJ,0901.21\n", encoding="utf-8")  # BOM from a spreadsheet
    table, problems = load_table("hs_codes", path, None, None)
    assert problems == [] and table.rows == 1
    assert table.lookup("kopi-gayo-250-bj") == "0901.21"


def test_explicit_keys_and_value(tmp_path: Path):
    path = tmp_path / "regions.csv"
    path.write_text("code,name,region\nJK,DKI Jakarta,DKI JAKARTA\n,Jakarta,DKI JAKARTA\n", encoding="utf-8")
    table, problems = load_table("regions", path, (("code",), ("name",)), "region")
    assert problems == []
    assert table.lookup("jk") == "DKI JAKARTA"
    assert table.lookup("Jakarta") == "DKI JAKARTA"


def test_a_text_tried_by_several_columns_is_shown_once(tmp_path: Path):
    # a region code looked up by code, then by name, used to read "code 'SWK', name 'SWK'"
    path = tmp_path / "regions.csv"
    path.write_text("code,name,region\nJK,DKI Jakarta,DKI JAKARTA\n", encoding="utf-8")
    table, _ = load_table("regions", path, (("code",), ("name",)), "region")
    with pytest.raises(LookupMiss) as caught:
        table.lookup("SWK")
    assert str(caught.value) == "no row in regions.csv for 'SWK' (looked up by code, name)"
    assert render(caught.value.problem("RECEIVER_REGION"), "id") == (
        "tidak ada baris di regions.csv untuk 'SWK' (dicari menurut code, name)")


def test_unknown_table_name_uses_first_column_as_key_second_as_value(tmp_path: Path):
    path = tmp_path / "services.csv"
    path.write_text("title,service\nKilat,YES\n", encoding="utf-8")
    table, _ = load_table("services", path, None, None)
    assert table.lookup("kilat") == "YES"


def test_missing_file_and_missing_column_are_load_problems(tmp_path: Path):
    table, problems = load_table("destinations", tmp_path / "nope.csv", None, None)
    assert table is None and problems == [f"table 'destinations': file {tmp_path / 'nope.csv'} does not exist"]
    path = tmp_path / "d.csv"
    path.write_text("zip,kota,code\n12730,JAKARTA,CGK10000\n", encoding="utf-8")
    table, problems = load_table("destinations", path, None, None)
    assert table is None
    assert "has no column 'city', 'district'" in problems[0]


def test_conflicting_rows_for_the_first_key_are_reported(tmp_path: Path):
    path = tmp_path / "d.csv"
    path.write_text("zip,city,district,code\n12730,A,B,CGK10000\n12730,A,B,CGK20000\n", encoding="utf-8")
    table, problems = load_table("destinations", path, None, None)
    assert table is None
    assert problems == ["table 'destinations': d.csv:3: zip '12730' already maps to 'CGK10000'"]


def test_not_utf8_and_empty_files(tmp_path: Path):
    path = tmp_path / "d.csv"
    path.write_bytes("zip,city,district,code\n1,K\xf6ln,,X\n".encode("latin-1"))
    assert "not UTF-8" in load_table("destinations", path, None, None)[1][0]
    path.write_text("", encoding="utf-8")
    assert "empty" in load_table("destinations", path, None, None)[1][0]


def test_normalise_key():
    assert normalise_key(" Jakarta  Selatan ") == normalise_key("JAKARTA-SELATAN") == "JAKARTASELATAN"
    assert normalise_key("Nguyễn") == "NGUYEN"
    assert normalise_key(12730) == "12730"
