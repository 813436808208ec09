"""A mapping that follows its files: an edit is picked up by the running web and worker processes.

``LiveMapping`` stands where a loaded ``Mapping`` stood (``store.mapping``) and answers like one. At
most once per ``CHECK_EVERY_S`` per process (never per order) it compares the ``stat`` of every
file the mapping was loaded from (the file, what it ``extends``, its CSV tables) with the one noted
when it was read. When one changed, the files are loaded and checked again, exactly as at start:

- they load cleanly: the new mapping is used from then on (the next order, a ``replay``), its
  version (a short hash of the files' contents) is logged;
- they do not: the last good mapping stays in use, the problems are logged once (every line, as
  ``check`` prints them) and kept in ``refused`` for ``status`` and ``/healthz``, until a later
  edit loads.

One thread reloads while the others keep mapping with the mapping they have; nobody waits.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from integration.errors import ConfigError
from integration.mapping.engine import Mapping, MappingResult
from integration.mapping.files.fingerprint import Fingerprint, Stat, stat_of

log = logging.getLogger("integration.mapping")

CHECK_EVERY_S = 1.0
Loader = Callable[[Fingerprint], Mapping]  # loads and checks the files, noting them in the fingerprint


class LiveMapping:
    """The current good mapping of a set of files, reloaded when they change; answers like a Mapping."""

    def __init__(self, load: Loader, mapping: Mapping, fingerprint: Fingerprint, *,
                 check_every_s: float = CHECK_EVERY_S, clock: Callable[[], float] = time.monotonic):
        self._load = load
        self._mapping = mapping
        self._seen: dict[Path, Stat | None] = fingerprint.stats()
        self.refused: list[str] = []          # problems of the files as they are now, when they do not load
        self.refused_version: str | None = None
        self.check_every_s = check_every_s
        self._clock = clock
        self._next_check = clock() + check_every_s
        self._lock = threading.Lock()

    @classmethod
    def load(cls, load: Loader, **options: Any) -> LiveMapping:
        """Load the files now (raising ConfigError with every problem, as at start) and follow them."""
        fingerprint = Fingerprint()
        return cls(load, load(fingerprint), fingerprint, **options)

    # -- the mapping in use ---------------------------------------------------------------------

    @property
    def current(self) -> Mapping:
        """The mapping to use now (checks the files first when a check is due)."""
        if self._clock() >= self._next_check:
            self.refresh()
        return self._mapping

    @property
    def version(self) -> str:
        """The version of the mapping in use."""
        return self.current.version

    def apply(self, order: Any, store: Any, event: Any, now: Any) -> MappingResult:
        """Map one order with the mapping in use (see ``Mapping.apply``)."""
        return self.current.apply(order, store, event, now)

    def __getattr__(self, name: str) -> Any:
        # Everything else a Mapping has (tables, covered, rule, path...) from the one in use.
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.current, name)

    # -- following the files --------------------------------------------------------------------

    def refresh(self, force: bool = False) -> bool:
        """Reload when a file changed since it was read; True when a new mapping is now in use.

        Only one thread checks at a time; the others go on with the mapping in use.
        """
        if not self._lock.acquire(blocking=force):
            return False
        try:
            self._next_check = self._clock() + self.check_every_s
            now = {path: stat_of(path) for path in self._seen}
            if not force and now == self._seen:
                return False
            return self._reload(now)
        finally:
            self._lock.release()

    def _reload(self, now: dict[Path, Stat | None]) -> bool:
        fingerprint = Fingerprint()
        old = self._mapping
        try:
            mapping = self._load(fingerprint)
        except ConfigError as exc:
            problems = list(exc.problems)
            # Tried as they are now: the next try waits for the next edit, not the next second.
            self._seen = {**now, **fingerprint.stats()}
            version = fingerprint.version
            if problems != self.refused or version != self.refused_version:
                log.warning("mapping %s: the edited files do not load (%d problem(s)); still using "
                            "version %s until they do:\n  %s", old.path.name, len(problems), old.version,
                            "\n  ".join(problems))
            self.refused, self.refused_version = problems, version
            return False
        # Files no longer part of the mapping are no longer followed.
        self._seen = fingerprint.stats()
        self.refused, self.refused_version = [], None
        self._mapping = mapping
        if mapping.version != old.version:
            log.info("mapping %s reloaded: version %s -> %s", mapping.path.name, old.version, mapping.version)
        return mapping.version != old.version


def follow(mapping: Any) -> LiveMapping | None:
    """``mapping`` when it follows its files (a LiveMapping), else None."""
    return mapping if isinstance(mapping, LiveMapping) else None


def refused_edits(stores: Iterable[Any]) -> dict[str, dict[str, Any]]:
    """Per store whose mapping files were edited into a state that does not load: the version in use.

    Only counts and versions: ``/healthz`` answers anyone, and the problems quote the files (they
    are in the log and in ``status``/``check``).
    """
    found: dict[str, dict[str, Any]] = {}
    for store in stores:
        live = follow(getattr(store, "mapping", None))
        if live is None:
            continue
        version = live.version  # checks the files when a check is due
        if live.refused:
            found[store.id] = {"version": version, "edit_refused": len(live.refused),
                               "fix": "jne-integration check lists the problems"}
    return found
