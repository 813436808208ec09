"""Place names compared as people and JNE write them; no guessing of typos."""

from __future__ import annotations

import pytest

from integration.destinations.names import (
    KAB,
    KOTA,
    city_key,
    city_name,
    district_key,
    known_province,
    normalise,
    province_key,
)


@pytest.mark.parametrize(("text", "kind", "base"), [
    ("Kota Administrasi Jakarta Selatan", KOTA, "JAKARTA SELATAN"),
    ("KOTA ADM. JAKARTA SELATAN", KOTA, "JAKARTA SELATAN"),
    ("Jakarta  Selatan", "", "JAKARTA SELATAN"),
    ("jaksel", "", "JAKARTA SELATAN"),
    ("DKI Jakarta Timur", "", "JAKARTA TIMUR"),
    ("Kabupaten Sleman", KAB, "SLEMAN"),
    ("KAB. SLEMAN", KAB, "SLEMAN"),
    ("Kab.Sleman", KAB, "SLEMAN"),
    ("SLEMAN KAB.", KAB, "SLEMAN"),
    ("BANDUNG KOTA", KOTA, "BANDUNG"),
    ("Kabupaten Administrasi Kepulauan Seribu", KAB, "KEPULAUAN SERIBU"),
    ("Kep. Seribu", "", "KEPULAUAN SERIBU"),
    ("Jogja", "", "YOGYAKARTA"), ("DIY", "", "YOGYAKARTA"), ("Yogyakarta", "", "YOGYAKARTA"),
    ("Kota Yogyakarta", KOTA, "YOGYAKARTA"), ("Tangsel", "", "TANGERANG SELATAN"), ("Solo", "", "SURAKARTA"),
    ("Tg. Pinang", "", "TANJUNG PINANG"), ("Kotabaru", "", "KOTABARU"), ("Kota", "", "KOTA"),
    ("Bau-Bau", "", "BAU BAU"), ("Pangkal Pinang", "", "PANGKAL PINANG"),
])
def test_city_keys(text, kind, base):
    assert tuple(city_key(text)) == (kind, base)


def test_typos_are_not_guessed():
    assert city_key("Jakarta Selata").base == "JAKARTA SELATA"
    assert city_key("Bandng").base == "BANDNG"


@pytest.mark.parametrize(("text", "key"), [
    ("Kec. Coblong", "COBLONG"), ("KECAMATAN MEDAN  BARAT", "MEDAN BARAT"), ("Distrik Abepura", "ABEPURA"),
    ("Batam Kota", "BATAM KOTA"), ("Kota Baru", "KOTA BARU"), ("Ilir Timur I", "ILIR TIMUR I"),
    ("Pak'R", "PAK R"), ("Kebon Jeruk ", "KEBON JERUK"),
])
def test_district_keys_keep_kota_in_kecamatan_names(text, key):
    assert district_key(text) == key


@pytest.mark.parametrize(("text", "province"), [
    ("JK", "DAERAH KHUSUS IBUKOTA JAKARTA"), ("DKI Jakarta", "DAERAH KHUSUS IBUKOTA JAKARTA"),
    ("Jakarta", "DAERAH KHUSUS IBUKOTA JAKARTA"), ("West Java", "JAWA BARAT"), ("Jawa Barat", "JAWA BARAT"),
    ("JB", "JAWA BARAT"), ("Prov. Jawa Timur", "JAWA TIMUR"), ("DI Yogyakarta", "DAERAH ISTIMEWA YOGYAKARTA"),
    ("YO", "DAERAH ISTIMEWA YOGYAKARTA"), ("Kepri", "KEPULAUAN RIAU"), ("KR", "KEPULAUAN RIAU"),
    ("Papua Barat Daya", "PAPUA BARAT DAYA"), ("NTT", "NUSA TENGGARA TIMUR"),
])
def test_province_keys(text, province):
    assert province_key(text) == province
    assert known_province(text)


def test_foreign_regions_are_not_provinces():
    for text in ("Kentucky", "Sarawak", "SWK", "California", "RJ", "NK"):
        assert not known_province(text), text


def test_city_name_for_receiver_city():
    shared = frozenset({"BANDUNG", "BOGOR"})
    assert city_name("Kota Administrasi Jakarta Selatan") == "JAKARTA SELATAN"
    assert city_name("Kota Tangerang Selatan") == "TANGERANG SELATAN"
    assert city_name("Kabupaten Sleman") == "SLEMAN"
    assert city_name("Kabupaten Bandung", shared) == "KAB. BANDUNG"
    assert city_name("Kota Bandung", shared) == "BANDUNG"
    assert city_name("Kabupaten Administrasi Kepulauan Seribu") == "KEPULAUAN SERIBU"
    assert city_name("Kabupaten Pangkajene dan Kepulauan") == "PANGKAJENE"  # 20 bytes, between words
    assert normalise("  Caf\u00e9  de\u2013Paris ") == "CAFE DE PARIS"
