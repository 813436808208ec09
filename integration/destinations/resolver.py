"""Resolve an Indonesian address to JNE's destination code.

In order, the first that answers wins:

1. the owner's overrides (``zip,district,code``), over everything;
2. the store's own ``lookups.destinations`` table (``zip,city,district,code``), when its
   configuration names one, exactly as the mapping used it before (postal code, then city +
   district, then city);
3. JNE's synced list, through Kemendagri's regions: the postal code gives the kecamatan it covers
   (often several), narrowed by the order's own district, city and province text and, while still
   several, by kecamatan or village names in the street lines; each kecamatan is matched by name
   to JNE's ``DISTRICT,CITY`` rows (or, where JNE lists only the city, to its city row). Without a
   known postal code, the order's district and city text are matched to JNE's rows directly.

One code: :class:`Resolution` ``found``. Several: ``ambiguous`` with every candidate's code and JNE
name. None: ``unknown`` saying what the address was understood as. A postal code in one province
with a city or province text naming another is a conflict for a person, never a guess.

Everything is indexed in dicts when the resolver is built, and answers are memoised by their
inputs: a resolution costs microseconds (``benchmarks/bench_destinations.py``).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from integration.destinations.jne_list import JNEList, JNEPlace
from integration.destinations.names import city_key, district_key, normalise, province_key, same_province
from integration.destinations.overrides import Overrides
from integration.destinations.regions import Area, City, District, Regions, regions
from integration.problems import Problem, define

__all__ = ["AMBIGUOUS", "CONFLICT", "FOUND", "NO_LIST", "NOTHING", "NOT_IN_LIST", "UNKNOWN", "UNKNOWN_ZIP",
           "Candidate", "DestinationResolver", "Resolution", "region_name", "store_table"]

FOUND, AMBIGUOUS, UNKNOWN = "found", "ambiguous", "unknown"

# ``choices`` is the candidates in words; the params also carry ``candidates`` as data
# ([{code, name}], what the dashboard's picker lists), ``zip`` and ``district`` (the override key).
AMBIGUOUS_CODE = define(
    "destination.ambiguous",
    en="{where} matches {count} JNE destinations: {choices}; choose one (it is kept in the destination "
       "overrides)",
    id="{where} cocok dengan {count} tujuan JNE: {choices}; pilih satu (disimpan di destination overrides)")
NOT_IN_LIST = define(
    "destination.not_in_list",
    en="{where} has no destination in JNE's list; add the code to the destination overrides",
    id="{where} tidak ada di daftar tujuan JNE; tambahkan kodenya di destination overrides")
UNKNOWN_ZIP = define(
    "destination.unknown_postal_code",
    en="postal code {zip} is not in Kemendagri's list of Indonesian postal codes, and the address names no "
       "city or district to find a JNE destination with",
    id="kode pos {zip} tidak ada di daftar kode pos Indonesia (Kemendagri), dan alamat tidak menyebut kota atau "
       "kecamatan untuk mencari tujuan JNE")
UNKNOWN_CODE = define(
    "destination.unknown",
    en="postal code {zip} is not in Kemendagri's list of Indonesian postal codes, and {where} names no JNE "
       "destination",
    id="kode pos {zip} tidak ada di daftar kode pos Indonesia (Kemendagri), dan {where} tidak ada di daftar "
       "tujuan JNE")
CONFLICT = define(
    "destination.conflict",
    en="postal code {zip} is in {where}, but the {what} says {value!r}; correct the postal code or the {what}",
    id="kode pos {zip} ada di {where}, tetapi {what} tertulis {value!r}; perbaiki kode pos atau {what}")
NO_LIST = define(
    "destination.no_list",
    en="JNE's destination list has not been synced yet: run `jne-integration destinations sync`",
    id="daftar tujuan JNE belum disinkronkan: jalankan `jne-integration destinations sync`")
NOTHING = define(
    "destination.nothing",
    en="the address has no postal code, city or district to find a JNE destination with",
    id="alamat tidak punya kode pos, kota atau kecamatan untuk mencari tujuan JNE")

_ZIP = re.compile(r"[0-9]{5}")
_MEMO_MAX = 50_000
# RECEIVER_REGION words for the provinces whose Kemendagri names are long (as JNE's samples write them).
# "KEPULAUAN BANGKA BELITUNG" does not fit RECEIVER_REGION's 20 bytes: "KEP BANGKA BELITUNG".
_SHORT_PROVINCES = {"DAERAH KHUSUS IBUKOTA JAKARTA": "DKI JAKARTA", "DAERAH ISTIMEWA YOGYAKARTA": "DI YOGYAKARTA",
                    "KEPULAUAN BANGKA BELITUNG": "KEP BANGKA BELITUNG"}


def region_name(province: str) -> str:
    """A province as RECEIVER_REGION: upper case, "DKI JAKARTA", "DI YOGYAKARTA" for the long ones (<= 20 bytes)."""
    key = province_key(province)
    return _SHORT_PROVINCES.get(key, key)


@dataclass(frozen=True, slots=True)
class Candidate:
    """One possible destination: JNE's code and JNE's name for it."""

    code: str
    name: str


@dataclass(frozen=True, slots=True)
class Resolution:
    """The answer for one address. ``status`` is found, ambiguous or unknown."""

    status: str
    code: str | None = None
    candidates: tuple[Candidate, ...] = ()
    via: str = ""                 # override, table, jne-district, jne-city, jne-name
    where: str = ""               # what the address was understood as, in words
    city: City | None = None      # the kota/kabupaten, when the address names exactly one
    problem_code: str | None = None
    params: tuple[tuple[str, Any], ...] = ()

    @property
    def found(self) -> bool:
        """True when there is exactly one code."""
        return self.status == FOUND

    @property
    def province(self) -> str | None:
        """Kemendagri's province of the address, when known."""
        return self.city.province if self.city else None

    def problem(self, key: str = "DESTINATION_CODE") -> Problem | None:
        """The owner-facing problem filed under ``key``, or None when found."""
        if self.found or self.problem_code is None:
            return None
        return Problem(key, self.problem_code, dict(self.params))


def _candidates_text(candidates: tuple[Candidate, ...]) -> str:
    return "; ".join(f"{c.code} ({c.name})" for c in candidates)


def _area_words(areas: tuple[Area, ...] | list[Area]) -> str:
    districts = list(dict.fromkeys(a.district for a in areas))
    if len(districts) == 1:
        d = districts[0]
        return f"{d.name}, {d.city.name}, {d.city.province}"
    cities = list(dict.fromkeys(d.city for d in districts))
    names = ", ".join(d.name for d in districts[:6]) + (", ..." if len(districts) > 6 else "")
    if len(cities) == 1:
        return f"{names} ({cities[0].name}, {cities[0].province})"
    return names


def _plain(value: Any) -> str:
    return " ".join(str(value).split()) if value is not None else ""


def _whole_words(needle: str, haystack: str) -> bool:
    return bool(needle) and f" {needle} " in haystack


def store_table(path: str | Path) -> Callable[[str, str, str], str | None]:
    """The store's ``lookups.destinations`` CSV as the resolver's first table (read and indexed once).

    It is read by the mapping's own table loader, so it answers exactly as the mapping's
    ``lookup: destinations`` did: postal code, then city + district, then city.
    """
    from integration.errors import ConfigError
    from integration.mapping.files.tables import LookupMiss, load_table

    table, problems = load_table("destinations", Path(path), None, None)
    if table is None:
        raise ConfigError(problems[0], problems)

    def lookup(postal: str, city: str, district: str) -> str | None:
        query = {"zip": postal, "city": city, "district": district}
        try:
            return table.lookup({k: v for k, v in query.items() if v})
        except LookupMiss:
            return None

    return lookup


class DestinationResolver:
    """Resolves addresses against overrides, the store's table, JNE's list and the regions; thread-safe."""

    def __init__(self, jne: JNEList | None, *, overrides: Overrides | None = None,
                 table: Callable[[str, str, str], str | None] | None = None, region_data: Regions | None = None,
                 memoise: bool = True):
        self.jne = jne
        self.memoise = memoise
        self.overrides = overrides or Overrides()
        self.table = table
        self._regions = region_data
        self._memo: dict[tuple[str, ...], Resolution] = {}
        self._by_district: dict[tuple[str, str], list[JNEPlace]] = defaultdict(list)
        self._by_city: dict[str, list[JNEPlace]] = defaultdict(list)
        for row in (jne.destinations if jne else ()):
            if row.is_city:
                self._by_city[row.city.base].append(row)
            else:
                self._by_district[(row.district, row.city.base)].append(row)

    @property
    def regions(self) -> Regions:
        """Kemendagri's regions (built on first use)."""
        if self._regions is None:
            self._regions = regions()
        return self._regions

    # -- JNE rows for a place --------------------------------------------------------------------

    @staticmethod
    def _kind_filter(rows: list[JNEPlace], kind: str) -> list[JNEPlace]:
        """Rows of the right kind of city: those saying this kind, else those saying no kind."""
        if not kind or len(rows) <= 1:
            return rows
        exact = [r for r in rows if r.city.kind == kind]
        return exact or [r for r in rows if not r.city.kind] or rows

    def _rows_for_district(self, district: District) -> tuple[list[JNEPlace], str]:
        kind = district.city.key.kind
        rows = self._kind_filter(self._by_district.get((district.key, district.city.key.base), []), kind)
        if rows:
            return rows, "jne-district"
        return self._kind_filter(self._by_city.get(district.city.key.base, []), kind), "jne-city"

    # -- resolving -------------------------------------------------------------------------------

    def resolve(self, postal_code: Any = "", city: Any = "", district: Any = "", province: Any = "",
                address: Any = "") -> Resolution:
        """The destination of an address; never raises for what an order holds."""
        key = (postal_code, city, district, province, address)
        if not self.memoise:
            return self._resolve(*(_plain(v) for v in key))
        try:
            found = self._memo.get(key)
        except TypeError:  # a list or object where text belongs: resolved as its text, not memoised
            return self._resolve(*(_plain(v) for v in key))
        if found is None:
            found = self._resolve(*(_plain(v) for v in key))
            if len(self._memo) >= _MEMO_MAX:
                self._memo.clear()
            self._memo[key] = found
        return found

    def _resolve(self, postal_code: str, city: str, district: str, province: str, address: str) -> Resolution:
        digits = re.sub(r"[^0-9]", "", postal_code)
        postal = digits if _ZIP.fullmatch(digits) else ""
        areas = self.regions.areas(postal) if postal else ()
        # The owner's overrides, then the store's own table, answer before anything is narrowed or
        # questioned: they are the owner's word.
        if postal:
            keys = ([district_key(district)] if district else []) + ([areas[0].district.key] if len(areas) == 1 else [])
            found = self._override(postal, keys, areas)
            if found is not None:
                return found
        if self.table is not None:
            code = self.table(postal, city, district)
            if code:
                return Resolution(FOUND, code, (Candidate(code, "store destinations table"),), "table",
                                  _area_words(areas) if areas else f"postal code {postal}", self._one_city(areas))
        narrowed, conflict = self._narrow(areas, postal, city, district, province, address)
        if conflict is not None:
            return conflict
        one_city = self._one_city(narrowed)
        if postal and len(narrowed) == 1 and len(areas) > 1:
            found = self._override(postal, [narrowed[0].district.key], narrowed)
            if found is not None:
                return found
        if self.jne is None:
            return Resolution(UNKNOWN, problem_code=NO_LIST, city=one_city)
        if narrowed:
            return self._from_areas(narrowed, postal, one_city)
        return self._from_names(postal, city, district)

    def _override(self, postal: str, keys: list[str], areas: tuple[Area, ...]) -> Resolution | None:
        code = self.overrides.find(postal, tuple(dict.fromkeys(keys)))
        if code is None:
            return None
        return Resolution(FOUND, code, (Candidate(code, "destination override"),), "override",
                          _area_words(areas) if areas else f"postal code {postal}", self._one_city(areas))

    @staticmethod
    def _one_city(areas: tuple[Area, ...]) -> City | None:
        cities = {a.district.city for a in areas}
        return next(iter(cities)) if len(cities) == 1 else None

    def _narrow(self, areas: tuple[Area, ...], postal: str, city: str, district: str, province: str,
                address: str) -> tuple[tuple[Area, ...], Resolution | None]:
        """The areas the order's own texts agree with, or a conflict the owner must settle."""
        if not areas:
            return areas, None
        if province:
            wanted = province_key(province)
            if wanted in self._province_keys():
                same = tuple(a for a in areas if same_province(wanted, province_key(a.district.city.province)))
                if not same:
                    return (), self._conflict(postal, areas, "province", province)
                areas = same
        if district:
            dk = district_key(district)
            same = tuple(a for a in areas if a.district.key == dk or dk in a.village_keys)
            areas = same or areas
        if city:
            ck = city_key(city)
            ckey = district_key(city)
            same = tuple(a for a in areas if (a.district.city.key.base == ck.base
                                              and ck.kind in ("", a.district.city.key.kind))
                         or a.district.key == ckey or ckey in a.village_keys)
            if same:
                areas = same
            else:
                named = self.regions.cities_named(city)
                provinces = {a.district.city.province for a in areas}
                if named and not any(c.province in provinces for c in named):
                    return (), self._conflict(postal, areas, "city", city)
        if len({a.district for a in areas}) > 1 and address:
            words = f" {normalise(address)} "
            same = tuple(a for a in areas if _whole_words(a.district.key, words)
                         or any(_whole_words(v, words) for v in a.village_keys))
            areas = same or areas
        return areas, None

    def _province_keys(self) -> set[str]:
        cached = self.__dict__.get("_provinces")
        if cached is None:
            cached = self.__dict__["_provinces"] = {province_key(c.province) for c in self.regions.cities.values()}
        return cached

    @staticmethod
    def _conflict(postal: str, areas: tuple[Area, ...], what: str, value: str) -> Resolution:
        where = _area_words(areas)
        return Resolution(UNKNOWN, where=where, problem_code=CONFLICT,
                          params=(("zip", postal), ("where", where), ("what", what), ("value", value)))

    def _from_areas(self, areas: tuple[Area, ...], postal: str, one_city: City | None) -> Resolution:
        rows: dict[str, JNEPlace] = {}
        via = set()
        for district in dict.fromkeys(a.district for a in areas):
            found, how = self._rows_for_district(district)
            if found:
                via.add(how)
            for row in found:
                rows.setdefault(row.code, row)
        where = f"{_area_words(areas)} (postal code {postal})"
        # The override a choice between candidates is kept under: the kecamatan when the address is
        # in one, else the whole postal code (the street names none of them).
        districts = {a.district.name for a in areas}
        district = districts.pop() if len(districts) == 1 else ""
        return self._answer(rows, where, one_city, "jne-district" if via == {"jne-district"} else "jne-city",
                            postal, district)

    def _from_names(self, postal: str, city: str, district: str) -> Resolution:
        if not (city or district):
            if postal:
                return Resolution(UNKNOWN, where=f"postal code {postal}", problem_code=UNKNOWN_ZIP,
                                  params=(("zip", postal),))
            return Resolution(UNKNOWN, problem_code=NOTHING)
        ck = city_key(city) if city else None
        rows: dict[str, JNEPlace] = {}
        if district and ck is not None:
            for row in self._kind_filter(self._by_district.get((district_key(district), ck.base), []), ck.kind):
                rows.setdefault(row.code, row)
        if not rows and ck is not None:  # no such district in JNE's list: the city's own row, if any
            for row in self._kind_filter(self._by_city.get(ck.base, []), ck.kind):
                rows.setdefault(row.code, row)
        named = self.regions.cities_named(city) if city else ()
        where = ", ".join(t for t in (district, city) if t)
        resolution = self._answer(rows, where, named[0] if len(named) == 1 else None, "jne-name", postal, district)
        if not resolution.found and postal and resolution.problem_code == NOT_IN_LIST:
            return Resolution(UNKNOWN, where=where, problem_code=UNKNOWN_CODE,
                              params=(("where", where), ("zip", postal)))
        return resolution

    @staticmethod
    def _answer(rows: dict[str, JNEPlace], where: str, city: City | None, via: str, postal: str = "",
                district: str = "") -> Resolution:
        candidates = tuple(Candidate(r.code, r.name) for r in sorted(rows.values(), key=lambda r: r.code))
        if len(candidates) == 1:
            return Resolution(FOUND, candidates[0].code, candidates, via, where, city)
        if candidates:
            return Resolution(AMBIGUOUS, None, candidates, via, where, city, AMBIGUOUS_CODE,
                              (("where", where), ("count", len(candidates)),
                               ("choices", _candidates_text(candidates)),
                               ("candidates", tuple({"code": c.code, "name": c.name} for c in candidates)),
                               ("zip", postal), ("district", district)))
        return Resolution(UNKNOWN, where=where, city=city, problem_code=NOT_IN_LIST, params=(("where", where),))
