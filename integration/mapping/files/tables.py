"""CSV lookup tables (JNE destination codes, HS codes, regions): read once at load, indexed in dicts.

A table is tried key by key in order: the destinations table by postal code, then city + district,
then city. Keys compare case-, space- and punctuation-insensitively ("Jakarta  Selatan" finds
"JAKARTA SELATAN"); a city written "Kota Bandung" or "Kabupaten Bogor" is tried without that
prefix too, because checkouts type it either way.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from integration.mapping.files.fingerprint import Fingerprint
from integration.mapping.language.values import Refusal, is_blank, text_of
from integration.problems import define

Key = tuple[str, ...]  # the columns of one key, e.g. ("zip",) or ("city", "district")

# What a table of a well-known name looks like when the mapping does not say.
KNOWN_TABLES: dict[str, tuple[tuple[Key, ...], str]] = {
    "destinations": ((("zip",), ("city", "district"), ("city",)), "code"),
    "hs_codes": ((("sku",),), "hs_code"),
    "regions": ((("code",), ("name",)), "region"),
}
_CITY_PREFIX = re.compile(r"^(KOTAADMINISTRASI|KOTAADM|KOTA|KABUPATEN|KAB)(?=[A-Z])")
_MAX_ROWS = 200_000


_NOT_ASCII_ALNUM = re.compile(r"[^A-Z0-9]+")
_NOT_ALNUM = re.compile(r"[\W_]+")


def normalise_key(value: Any) -> str:
    """Compare keys loosely: accents, case, spaces and punctuation do not matter."""
    text = text_of(value)
    if text.isascii():  # the usual case, without the per-character walk
        return _NOT_ASCII_ALNUM.sub("", text.upper())
    # Letters and digits stay (str.isalnum, which is what \\w is less "_"); no character is both
    # alphanumeric and a combining mark, so the accents NFKD split off go with the punctuation.
    # One regex pass instead of a Python loop per character (a 2 MB address took seconds).
    return _NOT_ALNUM.sub("", unicodedata.normalize("NFKD", text).upper())


NOTHING_TO_LOOK_UP = define(
    "lookup.nothing", en="nothing to look up in {file} (needs one of: {wanted})",
    id="tidak ada yang bisa dicari di {file} (perlu salah satu dari: {wanted})")
NO_ROW = define("lookup.no_row", en="no row in {file} for {tried}", id="tidak ada baris di {file} untuk {tried}")
NO_ROW_FOR_VALUE = define(
    "lookup.no_row_value", en="no row in {file} for {value} (looked up by {columns})",
    id="tidak ada baris di {file} untuk {value} (dicari menurut {columns})")


class LookupMiss(Refusal):
    """No row matched: a problem code naming the values tried and the file."""


@dataclass
class Table:
    """One lookup table: an index per key, built once from the CSV file."""

    name: str
    path: Path
    keys: tuple[Key, ...]
    value: str
    index: dict[Key, dict[tuple[str, ...], str]] = field(default_factory=dict, repr=False)
    rows: int = 0

    @property
    def file_name(self) -> str:
        """The file's name as shown to store owners."""
        return self.path.name

    def lookup(self, query: Any) -> str:
        """The value column of the first key that matches ``query`` (a text or an object of columns)."""
        tried: list[Key] = []
        for key in self.keys:
            parts = self._parts(query, key)
            if parts is None:
                continue
            tried.append(key)
            found = self._find(key, parts)
            if found is not None:
                return found
        if not tried:
            wanted = "; ".join(" + ".join(k) for k in self.keys)
            raise LookupMiss(NOTHING_TO_LOOK_UP, file=self.file_name, wanted=wanted)
        if not isinstance(query, dict) and len(tried) > 1:
            # one text tried against several one-column keys (a region's code, then its name):
            # show the text once, not once per column
            columns = ", ".join(k[0] for k in tried)
            raise LookupMiss(NO_ROW_FOR_VALUE, file=self.file_name, value=_shown(query), columns=columns)
        shown = ", ".join(" + ".join(f"{col} {_shown(_get(query, col))}" for col in key) for key in tried)
        raise LookupMiss(NO_ROW, file=self.file_name, tried=shown)

    def _parts(self, query: Any, key: Key) -> tuple[str, ...] | None:
        if isinstance(query, dict):
            values = [query.get(col) for col in key]
        elif len(key) == 1 and not isinstance(query, list):
            values = [query]
        else:
            return None
        if any(is_blank(v) or isinstance(v, list | dict) for v in values):
            return None
        return tuple(normalise_key(v) for v in values)

    def _find(self, key: Key, parts: tuple[str, ...]) -> str | None:
        index = self.index.get(key, {})
        found = index.get(parts)
        if found is None and "city" in key:
            stripped = tuple(_CITY_PREFIX.sub("", p) if col == "city" else p for col, p in zip(key, parts, strict=True))
            if stripped != parts:
                found = index.get(stripped)
        return found


def _get(query: Any, col: str) -> Any:
    return query.get(col) if isinstance(query, dict) else query


def _shown(value: Any) -> str:
    text = " ".join(text_of(value).split())
    return repr(text if len(text) <= 40 else text[:40] + "...")


def load_table(name: str, path: Path, keys: tuple[Key, ...] | None, value: str | None,
               fingerprint: Fingerprint | None = None) -> tuple[Table | None, list[str]]:
    """Read and index a CSV table; return it, or None and one message per problem.

    ``fingerprint`` (when given) notes the file read, so a running service can tell an edit.
    """
    stat = fingerprint.before_read(path) if fingerprint is not None else None
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        if fingerprint is not None:
            fingerprint.missing(path)
        return None, [f"table {name!r}: file {path} does not exist"]
    except OSError as exc:
        if fingerprint is not None:
            fingerprint.missing(path)
        return None, [f"table {name!r}: cannot read {path}: {exc.strerror or exc}"]
    if fingerprint is not None:
        fingerprint.read(path, raw, stat)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None, [f"table {name!r}: {path} is not UTF-8 text (save the CSV as UTF-8)"]
    reader = csv.DictReader(io.StringIO(text, newline=""))
    columns = [c.strip().lower() for c in (reader.fieldnames or [])]
    if not columns:
        return None, [f"table {name!r}: {path} is empty (needs a header row)"]
    reader.fieldnames = columns
    if keys is None or value is None:
        known = KNOWN_TABLES.get(name)
        if known is not None:
            keys = keys or known[0]
            value = value or known[1]
        elif len(columns) >= 2:
            keys = keys or ((columns[0],),)
            value = value or columns[1]
        else:
            return None, [f"table {name!r}: {path} needs at least two columns (a key and a value)"]
    needed = list(dict.fromkeys([c for k in keys for c in k] + [value]))
    missing = [c for c in needed if c not in columns]
    if missing:
        return None, [f"table {name!r}: {path} has no column {', '.join(repr(m) for m in missing)} "
                      f"(columns: {', '.join(columns)}; needs {', '.join(needed)})"]
    table = Table(name, path, tuple(keys), value, {k: {} for k in keys})
    problems: list[str] = []
    for line_no, row in enumerate(reader, start=2):
        if table.rows >= _MAX_ROWS:
            problems.append(f"table {name!r}: {path} has more than {_MAX_ROWS} rows")
            break
        result = (row.get(value) or "").strip()
        if not result:
            continue
        table.rows += 1
        for key in keys:
            cells = [row.get(c) or "" for c in key]
            if any(not c.strip() for c in cells):
                continue
            parts = tuple(normalise_key(c) for c in cells)
            index = table.index[key]
            if parts in index and index[parts] != result:
                # Same key, different answer: say so rather than silently pick one.
                if key == keys[0]:
                    problems.append(f"table {name!r}: {path.name}:{line_no}: {' + '.join(key)} "
                                    f"{' + '.join(c.strip() for c in cells)!r} already maps to {index[parts]!r}")
                continue
            index.setdefault(parts, result)
    if problems:
        return None, problems
    return table, []
