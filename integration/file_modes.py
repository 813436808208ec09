"""The SQLite ledger's files readable by their owner only (0600): they hold customers' personal data.

SQLite creates its WAL and shared-memory files (``-wal``, ``-shm``) with the permissions of the
database file, and our cross-process write lock (``-writelock``) is created 0600 already. So it is
enough to create the database file 0600 ourselves, before SQLite does (with the process umask,
usually 0644), and to tighten the files of a database created before this rule.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)

PRIVATE = 0o600
SIDE_FILES = ("-wal", "-shm", "-journal", "-writelock")


def secure_sqlite_files(database: str | os.PathLike[str]) -> None:
    """Create ``database`` 0600 if it does not exist; make it and its side files 0600 if they do."""
    path = Path(database)
    # O_EXCL: only a file that did not exist is opened (and closed) here. Closing any descriptor of
    # a database file drops every POSIX lock this process holds on it, so a database another
    # engine of this process already has open must never be opened here; chmod needs no descriptor.
    try:
        os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, PRIVATE))
    except FileExistsError:
        pass
    except OSError:
        return  # a missing directory or a read-only place: SQLite will say so in its own words
    for candidate in (path, *(path.with_name(path.name + suffix) for suffix in SIDE_FILES)):
        try:
            mode = stat.S_IMODE(candidate.stat().st_mode)
            if mode & 0o077:
                candidate.chmod(mode & 0o700)
        except FileNotFoundError:
            continue
        except OSError as exc:  # another user's file: say so, the database still works
            log.warning("cannot make %s private to its owner (%s)", candidate, exc.strerror)
