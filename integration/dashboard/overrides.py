"""The owner's destination choices, written to the store's override table (CSV ``zip,district,code``).

A choice made in the dashboard for an ambiguous address is saved where the destination resolver
reads first (``lookups.destination_overrides``), so the next order from that postal code and
district resolves by itself. A row for the same zip and district is replaced, not duplicated; the
file is rewritten whole into a temporary file and moved into place, so a reader never sees half a
file and a crash never leaves one.
"""

from __future__ import annotations

import csv
import io
import os
import re
import tempfile
import threading
from pathlib import Path

from integration.config import Config, Store

HEADER = ("zip", "district", "code")
TABLE = "destination_overrides"
_lock = threading.Lock()
_CODE = re.compile(r"^[A-Z0-9]{3,10}$")
_ZIP = re.compile(r"^\d{5}$")
# A district is a name: letters, digits, spaces and . ' / - (and never a leading sign, which a
# spreadsheet opening the file would take for a formula).
_NOT_NAME = re.compile(r"[^\w .'/-]+")


class OverrideError(ValueError):
    """A choice that cannot be saved; ``str()`` says why in the owner's terms."""


def override_path(config: Config, store: Store) -> Path:
    """Where ``store``'s override table is: its ``lookups.destination_overrides``, else beside the config.

    The default, ``destination_overrides/<store>.csv`` next to integration.yaml (the working
    directory for the built-in demo), is used until the owner names a file.
    """
    configured = getattr(store, "lookups", {}).get(TABLE)  # integration.yaml's, or its default
    if configured is not None:
        return Path(configured)
    table = getattr(store.mapping, "tables", {}).get(TABLE)
    if table is not None and getattr(table, "path", None):
        return Path(table.path)
    base = config.path.resolve().parent if config.path else Path.cwd()
    return base / "destination_overrides" / f"{store.id}.csv"


def _one_line(value: str) -> str:
    return " ".join(str(value or "").split())  # no newline, tab or stray spaces reach the file


def save_override(path: Path, zip_code: str, district: str, code: str) -> None:
    """Add or replace the row ``zip,district -> code`` in the CSV at ``path`` (created with its header)."""
    zip_code, code = _one_line(zip_code), _one_line(code).upper()
    district = _NOT_NAME.sub(" ", _one_line(district).upper()).strip().lstrip("-+=@ ")
    if not _ZIP.match(zip_code):
        raise OverrideError(f"postal code {zip_code!r} is not 5 digits; the choice was not saved")
    if not _CODE.match(code):
        raise OverrideError(f"destination code {code!r} is not a JNE code (3-10 letters and digits)")
    with _lock:
        rows: list[list[str]] = []
        if path.exists():
            with path.open(encoding="utf-8-sig", newline="") as f:
                reader = csv.reader(f)
                header = [c.strip().lower() for c in next(reader, [])]
                if header[:3] != list(HEADER):
                    raise OverrideError(f"{path.name} does not start with the header zip,district,code; "
                                        "fix the file, then choose again")
                rows = [r for r in reader if r]
        key = (zip_code, district)
        rows = [r for r in rows if (r[0].strip(), (r[1] if len(r) > 1 else "").strip().upper()) != key]
        rows.append([zip_code, district, code])
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(HEADER)
        writer.writerows(rows)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
                f.write(out.getvalue())
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
