"""JNE's destination and origin lists: rows parsed, noise dropped, stored in a file beside the configuration.

JNE answers ``/insert/getdestination`` and ``/insert/getorigin`` with
``{"detail": [{"City_Code": "BDO10207", "City_Name": "COBLONG,BANDUNG"}, ...]}``: a name is
``DISTRICT,CITY`` or a city alone. Lists handed out by JNE carry noise that must never become a
destination: rows with a blank code or name, the same row twice, test rows ("TEST", "TESTING",
"DUMMY"...), and codes that are not JNE tariff codes (three letters and five digits, ``CGK10000``).
:func:`parse_rows` keeps the rest and counts what it dropped, by reason.

The lists are stored as JSON in ``jne-lists/`` beside the configuration file (not in the ledger:
``preview`` resolves destinations without touching the ledger), one file per JNE account, and the
list before the last sync is kept beside it as ``<name>.previous.json``.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from integration.destinations.names import CityKey, city_key, district_key, normalise
from integration.errors import GiveUpError

__all__ = ["FORMAT", "JNEList", "JNEPlace", "ListFileError", "LIST_DIR", "list_path", "load_list",
           "parse_rows", "previous_path", "save_list"]

FORMAT = 1
LIST_DIR = "jne-lists"
CODE = re.compile(r"[A-Z]{3}[0-9]{5}")
# Words that mark a row JNE keeps for its own tests, never a real place.
# No kecamatan or kota is called any of these ("JANGAN DIPAKAI" is "do not use").
_TEST_WORDS = frozenset({"TEST", "TESTING", "DUMMY", "SAMPLE", "TRIAL", "XXX", "XXXX", "DIPAKAI"})

REASON_NOT_OBJECT = "not an object with City_Code and City_Name"
REASON_BLANK = "blank code or name"
REASON_BAD_CODE = "code is not a JNE code (three letters, five digits)"
REASON_TEST = "test row"
REASON_DUPLICATE = "duplicate row"


class ListFileError(GiveUpError):
    """A stored list file cannot be read; ``reason`` names the file and what is wrong."""


@dataclass(frozen=True, slots=True)
class JNEPlace:
    """One row of JNE's list: its code, its name as JNE wrote it, and the keys it is matched by."""

    code: str
    name: str
    district: str   # district key; "" for a city row ("BANDUNG")
    city: CityKey

    @property
    def is_city(self) -> bool:
        """True for a row naming a city alone."""
        return not self.district


def place(code: str, name: str) -> JNEPlace:
    """A JNEPlace from a code and a ``DISTRICT,CITY`` or ``CITY`` name."""
    district, sep, city = name.partition(",")
    if not sep:
        return JNEPlace(code, name, "", city_key(district))
    return JNEPlace(code, name, district_key(district), city_key(city))


def _is_test(name: str) -> bool:
    return any(word in _TEST_WORDS for word in normalise(name).split())


def parse_rows(rows: Any) -> tuple[list[JNEPlace], Counter[str]]:
    """The usable rows of a ``detail`` list and how many were ignored, by reason."""
    kept: list[JNEPlace] = []
    ignored: Counter[str] = Counter()
    seen: set[tuple[str, str]] = set()
    for row in rows if isinstance(rows, list) else []:
        if not isinstance(row, dict):
            ignored[REASON_NOT_OBJECT] += 1
            continue
        raw_code, raw_name = row.get("City_Code"), row.get("City_Name")
        code = raw_code.strip().upper() if isinstance(raw_code, str) else ""
        name = " ".join(raw_name.split()).upper() if isinstance(raw_name, str) else ""
        name = ",".join(part.strip() for part in name.split(","))
        if not code or not name.replace(",", "").strip():
            ignored[REASON_BLANK] += 1
        elif CODE.fullmatch(code) is None:
            ignored[REASON_BAD_CODE] += 1
        elif _is_test(name):
            ignored[REASON_TEST] += 1
        elif (code, normalise(name)) in seen:
            ignored[REASON_DUPLICATE] += 1
        else:
            seen.add((code, normalise(name)))
            kept.append(place(code, name))
    return kept, ignored


@dataclass
class JNEList:
    """An account's synced lists: destinations, origins, when and from where."""

    destinations: list[JNEPlace]
    origins: list[JNEPlace]
    account: str = ""
    synced_at: str = ""
    sources: dict[str, str] = field(default_factory=dict)
    ignored: dict[str, dict[str, int]] = field(default_factory=dict)

    def codes(self, which: str = "destinations") -> set[str]:
        """The distinct codes of one list."""
        return {p.code for p in getattr(self, which)}

    def as_json(self) -> dict[str, Any]:
        """The stored form."""
        return {
            "format": FORMAT, "account": self.account, "synced_at": self.synced_at, "sources": self.sources,
            "ignored": self.ignored,
            "destinations": [{"code": p.code, "name": p.name} for p in self.destinations],
            "origins": [{"code": p.code, "name": p.name} for p in self.origins],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> JNEList:
        """The inverse of :meth:`as_json`; raises ValueError on a shape it does not know."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError(f"not a list file of format {FORMAT}")

        def rows(key: str) -> list[JNEPlace]:
            items = data.get(key)
            if not isinstance(items, list):
                raise ValueError(f"{key} is not a list")
            return [place(str(r["code"]), str(r["name"])) for r in items]

        return cls(destinations=rows("destinations"), origins=rows("origins"),
                   account=str(data.get("account") or ""), synced_at=str(data.get("synced_at") or ""),
                   sources=dict(data.get("sources") or {}), ignored=dict(data.get("ignored") or {}))

    @classmethod
    def new(cls, destinations: Iterable[JNEPlace], origins: Iterable[JNEPlace], account: str,
            sources: dict[str, str], ignored: dict[str, dict[str, int]]) -> JNEList:
        """A list synced now."""
        return cls(list(destinations), list(origins), account,
                   datetime.now(UTC).isoformat(timespec="seconds"), sources, ignored)


def account_label(username: str, url: str) -> str:
    """How an account is named in files and messages: ``USERNAME@host:port`` (never the api_key)."""
    netloc = urlsplit(url).netloc or url
    return f"{username}@{netloc}"


def list_path(directory: Path, username: str, url: str) -> Path:
    """The list file of an account inside ``directory`` (the configuration file's folder)."""
    slug = re.sub(r"[^A-Za-z0-9._@-]+", "_", account_label(username, url)).strip("._") or "account"
    return directory / LIST_DIR / f"{slug}.json"


def previous_path(path: Path) -> Path:
    """Where the list before the last sync is kept."""
    return path.with_name(path.stem + ".previous.json")


def load_list(path: Path) -> JNEList | None:
    """The list stored at ``path`` (or, if a sync was cut off mid-way, the previous one); None if none."""
    for candidate in (path, previous_path(path)):
        try:
            raw = candidate.read_text(encoding="utf-8")
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise ListFileError(f"cannot read JNE's list {candidate}: {exc.strerror or exc}") from None
        try:
            return JNEList.from_json(json.loads(raw))
        except (ValueError, KeyError, TypeError) as exc:
            raise ListFileError(f"JNE's list {candidate} is damaged ({exc}); run `jne-integration destinations "
                                f"sync --force` to fetch it again") from None
    return None


def save_list(path: Path, new: JNEList) -> Path | None:
    """Store ``new`` at ``path``, keeping the list there before as the previous one; return that path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(new.as_json(), out, ensure_ascii=False, separators=(",", ":"))
            out.flush()
            os.fsync(out.fileno())
        kept = None
        if path.exists():
            kept = previous_path(path)
            os.replace(path, kept)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return kept
