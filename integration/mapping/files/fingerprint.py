"""Which files a mapping was loaded from, as they were: the mapping's version and whether it is stale.

A mapping is its file, every file it ``extends`` and every CSV table it reads. The loader notes each
one here as it reads it: the file's ``stat`` taken *before* the read and a SHA-256 of the bytes read.
Taking the stat first is what makes the change test safe: an edit that lands between the stat and
the read leaves a stat that no longer matches, so the next check reloads once more (harmless),
and an edit after the read changes the stat too. A file that was looked for and missing is noted
with no stat, so creating it later counts as a change.

``version`` is a short hash of the contents (not of times or paths), so the same files give the
same version in every process and on every machine, and undoing an edit gives the old version back.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

Stat = tuple[int, int, int]  # (mtime_ns, size, inode): an edit, a replace by rename or a truncation
VERSION_LENGTH = 8


def stat_of(path: Path) -> Stat | None:
    """The change signature of ``path`` now, or None when it cannot be read."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


@dataclass(frozen=True)
class FileMark:
    """One file as the loader read it: its signature before the read and the hash of its bytes."""

    path: Path
    stat: Stat | None
    digest: str  # "" when the file was missing


class Fingerprint:
    """The files of one load, in the order they were read."""

    def __init__(self) -> None:
        self.files: dict[Path, FileMark] = {}

    def before_read(self, path: Path) -> Stat | None:
        """Call just before reading ``path``; pass the result to :meth:`read`."""
        return stat_of(path)

    def read(self, path: Path, data: bytes | str, stat: Stat | None) -> None:
        """Note that ``path`` was read with these contents (``stat`` from :meth:`before_read`)."""
        raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
        self.files[path.resolve()] = FileMark(path.resolve(), stat, hashlib.sha256(raw).hexdigest())

    def missing(self, path: Path) -> None:
        """Note that ``path`` was looked for and could not be read (creating it is a change)."""
        self.files.setdefault(path.resolve(), FileMark(path.resolve(), None, ""))

    @property
    def version(self) -> str:
        """A short hash of every file's name and contents (same files, same version)."""
        digest = hashlib.sha256()
        for mark in sorted(self.files.values(), key=lambda m: (m.path.name, m.digest)):
            digest.update(f"{mark.path.name}\0{mark.digest}\n".encode())
        return digest.hexdigest()[:VERSION_LENGTH]

    def stats(self) -> dict[Path, Stat | None]:
        """The signature each file had when it was read."""
        return {path: mark.stat for path, mark in self.files.items()}

    def changed(self) -> bool:
        """True when any file's signature differs from the one it had when it was read."""
        return any(stat_of(path) != mark.stat for path, mark in self.files.items())
