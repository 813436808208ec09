"""Indonesian place names compared as people and JNE write them.

The same kota is "Kota Administrasi Jakarta Selatan" in Kemendagri's list, "JAKARTA SELATAN" in
JNE's, "Jakarta Selatan" or "Jaksel" in a checkout; a kabupaten is "Kabupaten Sleman", "Kab.
Sleman", "SLEMAN" or "SLEMAN KAB". Keys drop case, accents, punctuation, spacing and the
administrative words (KOTA, KABUPATEN, KAB., KOTA ADM., ADMINISTRASI, KECAMATAN, KEC., PROVINSI),
expand the usual abbreviations (KEP. -> KEPULAUAN, TG. -> TANJUNG) and apply a short list of known
aliases (JAKSEL, TANGSEL, JOGJA, DIY, SOLO...). Nothing is guessed beyond that: "Jakarta Selata"
is not "Jakarta Selatan", because a wrong code books a parcel to the wrong city.

A city key keeps what kind of region the text said (KOTA, KAB or nothing), because a kabupaten
and a kota often share a name (Kabupaten Bandung and Kota Bandung are different JNE tariffs).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import NamedTuple

from integration.text import cut_bytes

__all__ = ["CityKey", "city_key", "city_name", "district_key", "known_province", "normalise", "province_key",
           "same_province"]

KOTA = "KOTA"
KAB = "KAB"

_NOT_WORD = re.compile(r"[^A-Z0-9]+")
_TOKENS = {"KEP": "KEPULAUAN", "KEPL": "KEPULAUAN", "TG": "TANJUNG", "TJ": "TANJUNG", "BDR": "BANDAR"}
_CITY_PREFIXES = (
    ("KOTA ADMINISTRASI ", KOTA), ("KOTA ADMINISTRATIF ", KOTA), ("KOTA ADM ", KOTA), ("KOTAMADYA ", KOTA),
    ("KODYA ", KOTA), ("KOTA ", KOTA),
    ("KABUPATEN ADMINISTRASI ", KAB), ("KAB ADMINISTRASI ", KAB), ("KAB ADM ", KAB), ("KABUPATEN ", KAB),
    ("KAB ", KAB),
)
_CITY_SUFFIXES = ((" KOTA", KOTA), (" KAB", KAB), (" KABUPATEN", KAB))
_CITY_ALIASES = {
    "JAKSEL": "JAKARTA SELATAN", "JAKPUS": "JAKARTA PUSAT", "JAKBAR": "JAKARTA BARAT",
    "JAKTIM": "JAKARTA TIMUR", "JAKUT": "JAKARTA UTARA", "TANGSEL": "TANGERANG SELATAN",
    "JOGJA": "YOGYAKARTA", "JOGJAKARTA": "YOGYAKARTA", "JOGYAKARTA": "YOGYAKARTA", "YOGYA": "YOGYAKARTA",
    "YOGJAKARTA": "YOGYAKARTA", "DIY": "YOGYAKARTA", "DI YOGYAKARTA": "YOGYAKARTA",
    "DAERAH ISTIMEWA YOGYAKARTA": "YOGYAKARTA", "SOLO": "SURAKARTA", "UJUNG PANDANG": "MAKASSAR",
}
_DISTRICT_PREFIXES = ("KECAMATAN ", "KEC ", "DISTRIK ", "KELURAHAN ", "KEL ", "DESA ")
_PROVINCE_PREFIXES = ("PROVINSI ", "PROPINSI ", "PROV ")

# Kemendagri's province names (normalised) and what checkouts write instead: Shopify's and
# WooCommerce's two-letter codes, English names, common abbreviations.
_PROVINCE_CODES = {
    "AC": "ACEH", "SU": "SUMATERA UTARA", "SB": "SUMATERA BARAT", "RI": "RIAU", "JA": "JAMBI",
    "SS": "SUMATERA SELATAN", "BE": "BENGKULU", "LA": "LAMPUNG", "BB": "KEPULAUAN BANGKA BELITUNG",
    "KR": "KEPULAUAN RIAU", "JK": "DAERAH KHUSUS IBUKOTA JAKARTA", "JB": "JAWA BARAT", "JT": "JAWA TENGAH",
    "YO": "DAERAH ISTIMEWA YOGYAKARTA", "JI": "JAWA TIMUR", "BT": "BANTEN", "BA": "BALI",
    "NB": "NUSA TENGGARA BARAT", "NT": "NUSA TENGGARA TIMUR", "KB": "KALIMANTAN BARAT",
    "KT": "KALIMANTAN TENGAH", "KS": "KALIMANTAN SELATAN", "KI": "KALIMANTAN TIMUR", "KU": "KALIMANTAN UTARA",
    "SA": "SULAWESI UTARA", "ST": "SULAWESI TENGAH", "SN": "SULAWESI SELATAN", "SG": "SULAWESI TENGGARA",
    "GO": "GORONTALO", "SR": "SULAWESI BARAT", "MA": "MALUKU", "MU": "MALUKU UTARA", "PA": "PAPUA",
    "PB": "PAPUA BARAT", "PD": "PAPUA BARAT DAYA", "PE": "PAPUA PEGUNUNGAN", "PS": "PAPUA SELATAN",
    "PT": "PAPUA TENGAH",
}
_PROVINCE_ALIASES = {
    "DKI JAKARTA": "DAERAH KHUSUS IBUKOTA JAKARTA", "JAKARTA": "DAERAH KHUSUS IBUKOTA JAKARTA",
    "DKI": "DAERAH KHUSUS IBUKOTA JAKARTA", "DAERAH KHUSUS JAKARTA": "DAERAH KHUSUS IBUKOTA JAKARTA",
    "JAKARTA RAYA": "DAERAH KHUSUS IBUKOTA JAKARTA",
    "DI YOGYAKARTA": "DAERAH ISTIMEWA YOGYAKARTA", "DIY": "DAERAH ISTIMEWA YOGYAKARTA",
    "YOGYAKARTA": "DAERAH ISTIMEWA YOGYAKARTA", "JOGJA": "DAERAH ISTIMEWA YOGYAKARTA",
    "NANGGROE ACEH DARUSSALAM": "ACEH", "NAD": "ACEH", "SUMUT": "SUMATERA UTARA", "SUMBAR": "SUMATERA BARAT",
    "SUMSEL": "SUMATERA SELATAN", "SUMATRA UTARA": "SUMATERA UTARA", "SUMATRA BARAT": "SUMATERA BARAT",
    "SUMATRA SELATAN": "SUMATERA SELATAN", "KEPRI": "KEPULAUAN RIAU", "BABEL": "KEPULAUAN BANGKA BELITUNG",
    "BANGKA BELITUNG": "KEPULAUAN BANGKA BELITUNG", "JABAR": "JAWA BARAT", "JATENG": "JAWA TENGAH",
    "JATIM": "JAWA TIMUR", "NTB": "NUSA TENGGARA BARAT", "NTT": "NUSA TENGGARA TIMUR",
    "KALBAR": "KALIMANTAN BARAT", "KALTENG": "KALIMANTAN TENGAH", "KALSEL": "KALIMANTAN SELATAN",
    "KALTIM": "KALIMANTAN TIMUR", "KALTARA": "KALIMANTAN UTARA", "SULUT": "SULAWESI UTARA",
    "SULTENG": "SULAWESI TENGAH", "SULSEL": "SULAWESI SELATAN", "SULTRA": "SULAWESI TENGGARA",
    "SULBAR": "SULAWESI BARAT", "MALUT": "MALUKU UTARA", "PABAR": "PAPUA BARAT",
    "WEST JAVA": "JAWA BARAT", "CENTRAL JAVA": "JAWA TENGAH", "EAST JAVA": "JAWA TIMUR",
    "NORTH SUMATRA": "SUMATERA UTARA", "WEST SUMATRA": "SUMATERA BARAT", "SOUTH SUMATRA": "SUMATERA SELATAN",
    "RIAU ISLANDS": "KEPULAUAN RIAU", "BANGKA BELITUNG ISLANDS": "KEPULAUAN BANGKA BELITUNG",
    "WEST NUSA TENGGARA": "NUSA TENGGARA BARAT", "EAST NUSA TENGGARA": "NUSA TENGGARA TIMUR",
    "WEST KALIMANTAN": "KALIMANTAN BARAT", "CENTRAL KALIMANTAN": "KALIMANTAN TENGAH",
    "SOUTH KALIMANTAN": "KALIMANTAN SELATAN", "EAST KALIMANTAN": "KALIMANTAN TIMUR",
    "NORTH KALIMANTAN": "KALIMANTAN UTARA", "NORTH SULAWESI": "SULAWESI UTARA",
    "CENTRAL SULAWESI": "SULAWESI TENGAH", "SOUTH SULAWESI": "SULAWESI SELATAN",
    "SOUTHEAST SULAWESI": "SULAWESI TENGGARA", "WEST SULAWESI": "SULAWESI BARAT",
    "NORTH MALUKU": "MALUKU UTARA", "WEST PAPUA": "PAPUA BARAT", "SOUTHWEST PAPUA": "PAPUA BARAT DAYA",
    "HIGHLAND PAPUA": "PAPUA PEGUNUNGAN", "SOUTH PAPUA": "PAPUA SELATAN", "CENTRAL PAPUA": "PAPUA TENGAH",
    "SPECIAL REGION OF YOGYAKARTA": "DAERAH ISTIMEWA YOGYAKARTA",
    "SPECIAL CAPITAL REGION OF JAKARTA": "DAERAH KHUSUS IBUKOTA JAKARTA",
}


class CityKey(NamedTuple):
    """A kota/kabupaten as compared: ``kind`` KOTA, KAB or "" (not said) and the ``base`` name."""

    kind: str
    base: str


@lru_cache(maxsize=65536)
def normalise(text: str) -> str:
    """Upper case ASCII words separated by single spaces: accents, punctuation and spacing dropped."""
    if not text.isascii():
        text = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
    words = _NOT_WORD.sub(" ", text.upper()).split()
    return " ".join(_TOKENS.get(w, w) for w in words)


def _strip_prefix(text: str, prefixes: tuple[str, ...]) -> str:
    for prefix in prefixes:
        if text.startswith(prefix) and len(text) > len(prefix):
            return text[len(prefix):]
    return text


@lru_cache(maxsize=65536)
def city_key(text: str) -> CityKey:
    """The kota/kabupaten key of a city name: "Kab. Bandung" -> (KAB, BANDUNG), "Jaksel" -> ("", JAKARTA SELATAN)."""
    name = normalise(text)
    if name.startswith("DKI ") and len(name) > 4:
        name = name[4:]
    kind = ""
    for prefix, what in _CITY_PREFIXES:
        if name.startswith(prefix) and len(name) > len(prefix):
            name, kind = name[len(prefix):], what
            break
    else:
        for suffix, what in _CITY_SUFFIXES:
            if name.endswith(suffix) and len(name) > len(suffix):
                name, kind = name[:-len(suffix)], what
                break
    return CityKey(kind, _CITY_ALIASES.get(name, name))


@lru_cache(maxsize=65536)
def district_key(text: str) -> str:
    """The key of a kecamatan (or kelurahan) name: "Kec. Coblong" -> COBLONG."""
    return _strip_prefix(normalise(text), _DISTRICT_PREFIXES)


@lru_cache(maxsize=4096)
def province_key(text: str) -> str:
    """Kemendagri's province name, normalised, for a name, code or alias ("JB", "West Java") or ""."""
    raw = normalise(text)
    if raw in _PROVINCE_CODES:
        return _PROVINCE_CODES[raw]
    name = _strip_prefix(raw, _PROVINCE_PREFIXES)
    return _PROVINCE_ALIASES.get(name, name)


# Provinces split off since shops' address forms were made: an order saying the old province still
# means the new one ("Papua" for Nabire, now Papua Tengah).
_FORMERLY = {"PAPUA TENGAH": "PAPUA", "PAPUA SELATAN": "PAPUA", "PAPUA PEGUNUNGAN": "PAPUA",
             "PAPUA BARAT DAYA": "PAPUA BARAT", "KALIMANTAN UTARA": "KALIMANTAN TIMUR"}


def same_province(said: str, actual: str) -> bool:
    """True when the province an order ``said`` (a key) covers the region's ``actual`` one (a key)."""
    return said == actual or _FORMERLY.get(actual) == said


def known_province(text: str) -> bool:
    """True when ``text`` names an Indonesian province (name, code or alias)."""
    return province_key(text) in _KNOWN_PROVINCES


_KNOWN_PROVINCES = frozenset(_PROVINCE_CODES.values())


def city_name(name: str, shared: frozenset[str] = frozenset(), limit: int = 20) -> str:
    """A kota/kabupaten name for RECEIVER_CITY: upper case, without KOTA/KABUPATEN, within ``limit`` bytes.

    A kabupaten whose base name a kota also has (``shared``: Bandung, Bogor, Malang...) keeps
    "KAB." so the courier can tell them apart. Cut between words, never inside one.
    """
    key = city_key(name)
    text = f"KAB. {key.base}" if key.kind == KAB and key.base in shared else key.base
    cut = cut_bytes(text, limit)
    if cut != text and cut.endswith(" DAN"):  # "PANGKAJENE DAN" says less than "PANGKAJENE"
        cut = cut[:-4]
    return cut
