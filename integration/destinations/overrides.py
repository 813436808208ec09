"""The owner's destination overrides (``lookups.destination_overrides``): CSV ``zip,district,code``.

An override wins over everything else: the owner (or a choice made in the dashboard between the
candidates of an ambiguous address) says which JNE code a postal code, in a kecamatan, books to.
A row with a blank district applies to the whole postal code. Rows are checked when loaded: a
postal code of five digits, a JNE code of three letters and five digits, one code per key.
"""

from __future__ import annotations

import csv
import io
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from integration.destinations.jne_list import CODE
from integration.destinations.names import district_key
from integration.errors import ConfigError

__all__ = ["COLUMNS", "Overrides", "load_overrides", "write_choice"]

COLUMNS = ("zip", "district", "code")
_ZIP = re.compile(r"[0-9]{5}")


@dataclass
class Overrides:
    """Override rows indexed by (postal code, district key); district "" covers the whole postal code."""

    path: Path | None = None
    index: dict[tuple[str, str], str] = field(default_factory=dict)

    def find(self, postal_code: str, districts: tuple[str, ...] = ()) -> str | None:
        """The code for a postal code in one of ``districts`` (keys), else for the whole postal code."""
        for key in districts:
            found = self.index.get((postal_code, key))
            if found is not None:
                return found
        return self.index.get((postal_code, ""))

    def __len__(self) -> int:
        return len(self.index)


def _rows(text: str, path: Path) -> tuple[list[tuple[int, dict[str, str]]], list[str]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    columns = [c.strip().lower() for c in (reader.fieldnames or [])]
    missing = [c for c in COLUMNS if c not in columns]
    if missing:
        return [], [f"{path.name}: needs the columns {','.join(COLUMNS)} (missing {', '.join(missing)})"]
    reader.fieldnames = columns
    return [(n, row) for n, row in enumerate(reader, start=2)], []


def load_overrides(path: Path) -> Overrides:
    """Read and check an overrides file; a missing file is an empty table; raises ConfigError listing problems."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        return Overrides(path)
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not UTF-8 text (save the CSV as UTF-8)") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    rows, problems = _rows(text, path)
    table = Overrides(path)
    for line, row in rows:
        postal = (row.get("zip") or "").strip()
        code = (row.get("code") or "").strip().upper()
        district = (row.get("district") or "").strip()
        if not postal and not code and not district:
            continue
        if not _ZIP.fullmatch(postal):
            problems.append(f"{path.name}:{line}: zip {postal!r} is not a five-digit postal code")
            continue
        if not CODE.fullmatch(code):
            problems.append(f"{path.name}:{line}: code {code!r} is not a JNE destination code like BDO10207")
            continue
        key = (postal, district_key(district) if district else "")
        known = table.index.get(key)
        if known is not None and known != code:
            problems.append(f"{path.name}:{line}: zip {postal} district {district or '(any)'!r} already maps to "
                            f"{known}, here to {code}")
            continue
        table.index[key] = code
    if problems:
        raise ConfigError(f"{path}: {len(problems)} problem(s)", problems)
    return table


def write_choice(path: Path, postal_code: str, district: str, code: str) -> None:
    """Record an owner's choice: the row for (postal code, district) becomes ``code`` (file rewritten atomically)."""
    postal_code, code, district = postal_code.strip(), code.strip().upper(), " ".join(district.split())
    if not _ZIP.fullmatch(postal_code):
        raise ValueError(f"zip {postal_code!r} is not a five-digit postal code")
    if not CODE.fullmatch(code):
        raise ValueError(f"code {code!r} is not a JNE destination code like BDO10207")
    kept: list[dict[str, str]] = []
    if path.exists():
        rows, problems = _rows(path.read_bytes().decode("utf-8-sig"), path)
        if problems:
            raise ConfigError(problems[0], problems)
        kept = [{c: (row.get(c) or "").strip() for c in COLUMNS} for _, row in rows]
    key = district_key(district) if district else ""
    kept = [r for r in kept if not (r["zip"] == postal_code
                                    and (district_key(r["district"]) if r["district"] else "") == key)]
    kept.append({"zip": postal_code, "district": district, "code": code})
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(kept)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(out.getvalue())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
