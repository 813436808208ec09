"""Destination resolution across Indonesia: real postal codes, JNE's list synced from the sandbox over HTTP.

The list is the sandbox JNE's (one ``DISTRICT,CITY`` row per Kemendagri kecamatan, with noise
rows), fetched by ``sync_account`` over a loopback port and read back from the stored file, as
``preview`` would. Each case names the JNE row the address must resolve to, written out by hand.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from integration.config import JNEAccount
from integration.destinations import load_resolver
from integration.destinations.jne_list import JNEList, list_path, load_list, place
from integration.destinations.overrides import load_overrides, write_choice
from integration.destinations.regions import regions
from integration.destinations.resolver import (
    AMBIGUOUS,
    FOUND,
    UNKNOWN,
    DestinationResolver,
    region_name,
    store_table,
)
from integration.destinations.sync import sync_account
from integration.jne.sandbox import DEFAULT_ACCOUNTS, create_sandbox_app
from integration.problems import render
from integration.serving import serve_in_thread

USERNAME, API_KEY = next(iter(DEFAULT_ACCOUNTS.items()))

# (postal code, city as a shopper types it, JNE's row it must resolve to, province, JNE code prefix)
ACROSS_INDONESIA = [
    ("20111", "Medan", "MEDAN BARAT,MEDAN", "Sumatera Utara", "MES"),
    ("90111", "Makassar", "UJUNG PANDANG,MAKASSAR", "Sulawesi Selatan", "UPG"),
    ("99111", "Jayapura", "JAYAPURA UTARA,JAYAPURA", "Papua", "DJJ"),
    ("55264", "Sleman", "GODEAN,SLEMAN", "Daerah Istimewa Yogyakarta", "JOG"),
    ("55281", "Yogyakarta", "DEPOK,SLEMAN", "Daerah Istimewa Yogyakarta", "JOG"),
    ("29412", "Batam", "BELAKANG PADANG,BATAM", "Kepulauan Riau", "BTH"),
    ("80111", "Denpasar", "DENPASAR UTARA,DENPASAR", "Bali", "DPS"),
    ("80351", "Kab. Badung", "MENGWI,BADUNG", "Bali", "DPS"),
    ("85111", "Kupang", "OEBOBO,KUPANG", "Nusa Tenggara Timur", "KOE"),
    ("97111", "Ambon", "NUSANIWE,AMBON", "Maluku", "AMQ"),
    ("78111", "Pontianak", "PONTIANAK KOTA,PONTIANAK", "Kalimantan Barat", "PNK"),
    ("70111", "Banjarmasin", "BANJARMASIN TENGAH,BANJARMASIN", "Kalimantan Selatan", "BDJ"),
    ("75111", "Samarinda", "SAMARINDA KOTA,SAMARINDA", "Kalimantan Timur", "SRI"),
    ("30112", "Palembang", "ILIR TIMUR TIGA,PALEMBANG", "Sumatera Selatan", "PLM"),
    ("25111", "Padang", "PADANG BARAT,PADANG", "Sumatera Barat", "PDG"),
    ("28111", "Pekanbaru", "PEKANBARU KOTA,PEKANBARU", "Riau", "PKU"),
    ("36111", "Jambi", "PASAR JAMBI,JAMBI", "Jambi", "DJB"),
    ("38113", "Bengkulu", "TELUK SEGARA,BENGKULU", "Bengkulu", "BKS"),
    ("35112", "Bandar Lampung", "KEDATON,BANDAR LAMPUNG", "Lampung", "TKG"),
    ("42111", "Kota Serang", "SERANG,SERANG", "Banten", None),
    ("40111", "Bandung", "SUMUR BANDUNG,BANDUNG", "Jawa Barat", "BDO"),
    ("40193", "Kabupaten Bandung", "CIMENYAN,KAB. BANDUNG", "Jawa Barat", "BDO"),
    ("50111", "Semarang", "GENUK,SEMARANG", "Jawa Tengah", "SRG"),
    ("60111", "Surabaya", "SUKOLILO,SURABAYA", "Jawa Timur", "SUB"),
    ("83112", "Mataram", "AMPENAN,MATARAM", "Nusa Tenggara Barat", "AMI"),
    ("95111", "Manado", "WENANG,MANADO", "Sulawesi Utara", "MDC"),
    ("94115", "Palu", "MANTIKULORE,PALU", "Sulawesi Tengah", "PLW"),
    ("93111", "Kendari", "MANDONGA,KENDARI", "Sulawesi Tenggara", "KDI"),
    ("96113", "Gorontalo", "KOTA TIMUR,GORONTALO", "Gorontalo", "GTO"),
    ("97711", "Ternate", "KOTA TERNATE TENGAH,TERNATE", "Maluku Utara", "TTE"),
    ("98311", "Manokwari", "MANOKWARI TIMUR,MANOKWARI", "Papua Barat", "MKW"),
    ("23111", "Banda Aceh", "SYIAH KUALA,BANDA ACEH", "Aceh", "BTJ"),
    ("33113", "Pangkalpinang", "PANGKAL BALAM,PANGKAL PINANG", "Kepulauan Bangka Belitung", "PGK"),
    ("77111", "Tarakan", "TARAKAN BARAT,TARAKAN", "Kalimantan Utara", "TRK"),
    ("12110", "Jakarta Selatan", "KEBAYORAN BARU,JAKARTA SELATAN", "Daerah Khusus Ibukota Jakarta", "CGK"),
    ("12110", "Jaksel", "KEBAYORAN BARU,JAKARTA SELATAN", "Daerah Khusus Ibukota Jakarta", "CGK"),
    ("91511", "Mamuju", "MAMUJU,MAMUJU", "Sulawesi Barat", None),
    ("98414", "Sorong", "SORONG,SORONG", "Papua Barat Daya", "SOQ"),
    ("99604", "Merauke", "MERAUKE,MERAUKE", "Papua Selatan", "MKQ"),
    ("98811", "Nabire", "NABIRE,NABIRE", "Papua Tengah", None),
    ("99501", "Wamena", "ASOLOKOBAL,JAYAWIJAYA", "Papua Pegunungan", None),
]


@pytest.fixture(scope="module")
def synced(tmp_path_factory) -> Path:
    """JNE's list synced from the sandbox over HTTP into a folder; the stored file's path."""
    folder = tmp_path_factory.mktemp("config")
    server = serve_in_thread(create_sandbox_app())
    try:
        account = JNEAccount(url=f"{server.url}/pickupcashless", username=USERNAME, api_key=API_KEY)
        summary = sync_account(account, folder)
    finally:
        server.stop()
    return Path(summary["file"])


@pytest.fixture(scope="module")
def resolver(synced: Path) -> DestinationResolver:
    return load_resolver(synced)


def test_the_cases_cover_thirty_kecamatan_in_twenty_provinces():
    assert len({(z, name) for z, _, name, _, _ in ACROSS_INDONESIA}) >= 30
    assert len({province for *_, province, _ in ACROSS_INDONESIA}) >= 20


@pytest.mark.parametrize(("postal", "city", "jne_name", "province", "prefix"), ACROSS_INDONESIA,
                         ids=[f"{c[0]}-{c[1]}" for c in ACROSS_INDONESIA])
def test_resolves_real_postal_codes_across_indonesia(resolver, postal, city, jne_name, province, prefix):
    result = resolver.resolve(postal, city)
    assert result.status == FOUND, result.problem() and render(result.problem())
    assert [c.name for c in result.candidates] == [jne_name]
    assert result.code == result.candidates[0].code
    if prefix:
        assert result.code.startswith(prefix)
    assert result.province == province
    assert result.problem() is None


def test_receiver_city_and_region_come_from_the_regions_without_kota_noise(resolver):
    data = regions()
    cases = {"12110": "JAKARTA SELATAN", "40193": "KAB. BANDUNG", "40111": "BANDUNG", "55264": "SLEMAN",
             "15417": "TANGERANG SELATAN", "99111": "JAYAPURA", "35112": "BANDAR LAMPUNG"}
    for postal, expected in cases.items():
        city = resolver.resolve(postal).city
        assert data.receiver_city(city) == expected
    assert region_name(resolver.resolve("12110").province) == "DKI JAKARTA"
    assert region_name(resolver.resolve("55264").province) == "DI YOGYAKARTA"
    assert region_name(resolver.resolve("20111").province) == "SUMATERA UTARA"


def test_a_postal_code_of_several_kecamatan_names_every_candidate(resolver):
    result = resolver.resolve("29432", "Batam")
    assert result.status == AMBIGUOUS
    assert [c.name for c in result.candidates] == ["LUBUK BAJA,BATAM", "BENGKONG,BATAM", "BATAM KOTA,BATAM"]
    message = render(result.problem())
    for candidate in result.candidates:
        assert f"{candidate.code} ({candidate.name})" in message
    assert "3 JNE destinations" in message and "29432" in message
    assert render(result.problem(), "id").startswith("Lubuk Baja, Bengkong, Batam Kota")


def test_the_orders_district_or_street_line_narrows_a_shared_postal_code(resolver):
    assert resolver.resolve("29432", "Batam", "Bengkong").candidates[0].name == "BENGKONG,BATAM"
    assert resolver.resolve("29432", "Batam", "Kec. Batam Kota").candidates[0].name == "BATAM KOTA,BATAM"
    # a kelurahan of one of the kecamatan, as the district
    assert resolver.resolve("29432", "Batam", "Sadai").candidates[0].name == "BENGKONG,BATAM"
    # the kelurahan in the street line, as checkouts without a district field have it
    found = resolver.resolve("29432", "Batam", "", "", "Jl. Raya Baloi Indah No. 5")
    assert found.status == FOUND and found.candidates[0].name == "LUBUK BAJA,BATAM"
    # a district text that names none of them narrows nothing
    assert resolver.resolve("29432", "Batam", "Sekupang").status == AMBIGUOUS


def test_a_typo_is_not_guessed_but_the_postal_code_still_decides(resolver):
    # the real order: "Jakarta Selata" 12260 (Petukangan Utara, Pesanggrahan)
    result = resolver.resolve("12260", "Jakarta Selata")
    assert result.found and result.candidates[0].name == "PESANGGRAHAN,JAKARTA SELATAN"
    # without a postal code, the typo finds nothing rather than a guess
    assert resolver.resolve("", "Jakarta Selata").status == UNKNOWN
    assert resolver.resolve("", "Jakarta Selatan").status == FOUND


def test_a_city_or_province_in_another_province_than_the_postal_code_is_a_conflict(resolver):
    result = resolver.resolve("40132", "Surabaya")
    assert result.status == UNKNOWN
    assert render(result.problem()) == ("postal code 40132 is in Coblong, Kota Bandung, Jawa Barat, but the city "
                                        "says 'Surabaya'; correct the postal code or the city")
    assert resolver.resolve("15417", "Brownsville", "", "PA").problem().code == "destination.conflict"
    assert resolver.resolve("40132", "Bandung", "", "West Java").found
    assert resolver.resolve("40132", "Bandung", "", "JB").found


def test_without_a_postal_code_district_and_city_text_are_matched_to_jnes_rows(resolver):
    assert resolver.resolve("", "Bandung", "Coblong").candidates[0].name == "COBLONG,BANDUNG"
    assert resolver.resolve("", "KOTA BANDUNG", "kec. coblong").candidates[0].name == "COBLONG,BANDUNG"
    assert resolver.resolve("", "Kab. Bandung").candidates[0].name == "KAB. BANDUNG"
    both = resolver.resolve("", "Bandung")
    assert both.status == AMBIGUOUS and {c.name for c in both.candidates} == {"BANDUNG", "KAB. BANDUNG"}
    assert resolver.resolve("", "Jogja").candidates[0].name == "YOGYAKARTA"
    assert resolver.resolve("", "", "").problem().code == "destination.nothing"


def test_an_unknown_postal_code_says_so(resolver):
    result = resolver.resolve("12345")
    assert result.status == UNKNOWN
    assert render(result.problem()) == ("postal code 12345 is not in Kemendagri's list of Indonesian postal codes, "
                                        "and the address names no city or district to find a JNE destination with")
    assert resolver.resolve("12345", "Medan", "Medan Barat").candidates[0].name == "MEDAN BARAT,MEDAN"


def test_noise_rows_never_become_destinations(synced: Path, resolver):
    stored = load_list(synced)
    codes = stored.codes()
    assert "TES10000" not in codes and "CGK19999" not in codes and "DMY10000" not in codes
    assert "BDO1O101" not in codes and "12345" not in codes
    assert len(codes) == len(stored.destinations)  # the duplicate row is gone
    assert stored.ignored["destinations"] == {
        "blank code or name": 4, "test row": 3, "code is not a JNE code (three letters, five digits)": 3,
        "duplicate row": 1, "not an object with City_Code and City_Name": 1}
    assert all("TEST" not in c.name for c in resolver.resolve("", "Jakarta Pusat").candidates)


def test_overrides_win_over_everything(tmp_path: Path, synced: Path):
    overrides = tmp_path / "destination_overrides.csv"
    overrides.write_text("zip,district,code\n29432,Bengkong,BTH19999\n12110,,CGK10000\n", encoding="utf-8")
    table = tmp_path / "jne_destinations.csv"
    table.write_text("zip,city,district,code\n12110,JAKARTA SELATAN,,CGK40000\n", encoding="utf-8")
    resolver = load_resolver(synced, overrides, table)
    assert resolver.resolve("29432", "Batam", "Bengkong").code == "BTH19999"
    assert resolver.resolve("29432", "Batam", "Bengkong").via == "override"
    assert resolver.resolve("29432", "Batam").status == AMBIGUOUS  # the override names one kecamatan only
    assert resolver.resolve("12110", "Jakarta Selatan").code == "CGK10000"  # over the store's own table
    # a choice made for an ambiguous address is written to the overrides, and wins from then on
    write_choice(overrides, "29432", "", "BTH10106")
    again = load_resolver(synced, overrides)
    assert again.resolve("29432", "Batam").code == "BTH10106"
    assert again.resolve("29432", "Batam", "bengkong").code == "BTH19999"
    assert load_overrides(overrides).index[("29432", "")] == "BTH10106"


def test_bad_override_rows_are_refused_with_file_and_line(tmp_path: Path):
    from integration.errors import ConfigError

    bad = tmp_path / "o.csv"
    bad.write_text("zip,district,code\n2943,x,BTH10106\n29432,,bth1\n29432,a,BTH10106\n29432,A,BTH10107\n",
                   encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_overrides(bad)
    assert caught.value.problems == [
        "o.csv:2: zip '2943' is not a five-digit postal code",
        "o.csv:3: code 'BTH1' is not a JNE destination code like BDO10207",
        "o.csv:5: zip 29432 district 'A' already maps to BTH10106, here to BTH10107",
    ]


def test_the_stores_own_table_is_used_first_and_the_list_resolves_the_rest(tmp_path: Path, synced: Path):
    table = tmp_path / "jne_destinations.csv"
    table.write_text("zip,city,district,code\n40132,BANDUNG,COBLONG,BDO10000\n,MEDAN,,MES10000\n",
                     encoding="utf-8")
    resolver = load_resolver(synced, table_file=table)
    assert resolver.resolve("40132", "Bandung").code == "BDO10000"
    assert resolver.resolve("40132", "Bandung").via == "table"
    assert resolver.resolve("20111", "Medan").code == "MES10000"  # by city, as the table always did
    sleman = resolver.resolve("55264", "Sleman")
    assert sleman.via == "jne-district" and sleman.candidates[0].name == "GODEAN,SLEMAN"
    lookup = store_table(table)
    assert lookup("40132", "", "") == "BDO10000" and lookup("99999", "", "") is None


def test_without_a_synced_list_the_owner_is_told_to_sync(tmp_path: Path):
    resolver = load_resolver(list_path(tmp_path, USERNAME, "http://127.0.0.1:1/pickupcashless"))
    result = resolver.resolve("20111", "Medan")
    assert result.status == UNKNOWN
    assert render(result.problem()) == ("JNE's destination list has not been synced yet: run "
                                        "`jne-integration destinations sync`")
    assert result.city is not None and result.city.name == "Kota Medan"


def test_a_kecamatan_jne_lists_only_by_its_city_gets_the_city_code():
    jne = JNEList([place("MES10000", "MEDAN"), place("MES10101", "MEDAN BARAT,MEDAN")], [])
    resolver = DestinationResolver(jne)
    assert resolver.resolve("20111").code == "MES10101"
    fallback = resolver.resolve("20112", "Medan")  # Medan Petisah: no row of its own
    assert fallback.code == "MES10000" and fallback.via == "jne-city"
    nothing = DestinationResolver(JNEList([place("MES10000", "MEDAN")], [])).resolve("90111")
    assert render(nothing.problem()) == ("Ujung Pandang, Kota Makassar, Sulawesi Selatan (postal code 90111) has no "
                                         "destination in JNE's list; add the code to the destination overrides")


def test_jne_city_names_in_any_of_their_forms_match_kota_and_kabupaten_apart():
    jne = JNEList([place("BDO10102", "COBLONG,BANDUNG"), place("BDO20101", "CIMENYAN,BANDUNG KAB."),
                   place("BDO20000", "KABUPATEN BANDUNG"), place("BDO10000", "KOTA BANDUNG"),
                   place("XYZ10101", "CIMENYAN,BANDUNG")], [])
    resolver = DestinationResolver(jne)
    assert resolver.resolve("40132").code == "BDO10102"
    # Cimenyan is in Kabupaten Bandung: the row saying KAB wins over the one that says no kind
    assert resolver.resolve("40193").code == "BDO20101"
    assert resolver.resolve("", "Kab Bandung").code == "BDO20000"
    assert resolver.resolve("", "Kota Bandung").code == "BDO10000"


def test_values_that_are_not_text_get_an_answer_not_a_traceback(resolver):
    assert resolver.resolve(None, None, None).problem().code == "destination.nothing"
    assert resolver.resolve(["20111"], {"a": 1}).status in (FOUND, AMBIGUOUS, UNKNOWN)
    assert resolver.resolve(20111, "Medan").found


def test_an_order_saying_the_province_a_new_one_was_split_from_is_no_conflict(resolver):
    # Nabire is in Papua Tengah since 2022; shops' forms still say Papua
    assert resolver.resolve("98811", "Nabire", "", "Papua").candidates[0].name == "NABIRE,NABIRE"
    assert resolver.resolve("98414", "Sorong", "", "Papua Barat").found
    assert resolver.resolve("98811", "Nabire", "", "Papua Barat").problem().code == "destination.conflict"


def test_an_override_answers_even_where_the_address_contradicts_itself(tmp_path: Path, synced: Path):
    overrides = tmp_path / "o.csv"
    write_choice(overrides, "40132", "", "BDO10102")
    resolver = load_resolver(synced, overrides)
    assert resolver.resolve("40132", "Surabaya").code == "BDO10102"
