"""One destination resolver per store's files, built once per process and rebuilt when a file changes.

The mapping's destination rule asks :func:`resolver_for` on every order with the store's JNE list
file (or ``embedded``), its overrides file and its own destinations table, if any. The answer is a
resolver built on the first order and kept, with its indexes and its memo, for every order after.
Each call costs a ``stat`` of the two files: when ``destinations sync`` stores a new list, or the
dashboard writes a choice to the overrides, the next order is resolved with them, in every process
(web, worker, preview), without a restart.

``embedded`` (an account at ``jne.url: embedded``, the demo's) resolves against the rows the
embedded sandbox JNE answers ``/insert/getdestination`` with, parsed like a synced list, so the
quick start needs neither a sync nor a network.

A list or overrides file that cannot be read does not raise here: :class:`Unusable` says why, and
the rule files that as the order's problem (and the file is read again once it changes).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from integration.destinations.jne_list import JNEList, ListFileError, load_list, parse_rows, previous_path
from integration.destinations.overrides import Overrides, load_overrides
from integration.destinations.resolver import DestinationResolver
from integration.errors import ConfigError

__all__ = ["EMBEDDED", "Unusable", "embedded_list", "resolver_for"]

EMBEDDED = "embedded"  # the list source of an account at jne.url: embedded (config.EMBEDDED_SANDBOX)

Table = Callable[[str, str, str], str | None]
_Stat = tuple[int, int, int] | None


@dataclass(frozen=True)
class Unusable:
    """A store's list or overrides file that cannot be used now, and why (in the owner's words)."""

    reason: str


@dataclass
class _Entry:
    signature: tuple[_Stat, ...]
    resolver: DestinationResolver | Unusable
    table: Any  # kept so that the id() in the key cannot be reused by another table


_LOCK = threading.Lock()
_ENTRIES: dict[tuple[str, str, int], _Entry] = {}
_MAX_ENTRIES = 64


@lru_cache(maxsize=1)
def embedded_list() -> JNEList:
    """The embedded sandbox's destination and origin lists, parsed as a sync would (noise dropped)."""
    from integration.jne.sandbox_lists import destination_rows, origin_rows

    destinations, ignored_d = parse_rows(destination_rows())
    origins, ignored_o = parse_rows(origin_rows())
    return JNEList.new(destinations, origins, "embedded sandbox", {},
                       {"destinations": dict(ignored_d), "origins": dict(ignored_o)})


def _stat(path: str) -> _Stat:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def _signature(list_source: str, overrides: str) -> tuple[_Stat, ...]:
    if list_source == EMBEDDED:
        return (None, None, _stat(overrides) if overrides else None)
    main = _stat(list_source) if list_source else None
    # load_list falls back to the previous list while the main file is missing (a sync cut off)
    previous = _stat(str(previous_path(Path(list_source)))) if list_source and main is None else None
    return (main, previous, _stat(overrides) if overrides else None)


def _build(list_source: str, overrides: str, table: Table | None) -> DestinationResolver | Unusable:
    try:
        if list_source == EMBEDDED:
            jne: JNEList | None = embedded_list()
        else:
            jne = load_list(Path(list_source)) if list_source else None
    except ListFileError as exc:
        return Unusable(exc.reason)
    try:
        table_of_overrides = load_overrides(Path(overrides)) if overrides else Overrides()
    except ConfigError as exc:
        return Unusable("; ".join(exc.problems) if exc.problems else exc.reason)
    return DestinationResolver(jne, overrides=table_of_overrides, table=table)


def resolver_for(list_source: str | None, overrides: str | None = None,
                 table: Table | None = None) -> DestinationResolver | Unusable:
    """The resolver of these files (``list_source``: a list file, ``embedded`` or None: not synced).

    Built once and reused while neither file changes; ``table`` is the store's own destinations
    table (a function of postal code, city, district), consulted first after the overrides.
    """
    list_source, overrides = list_source or "", overrides or ""
    key = (list_source, overrides, id(table))
    signature = _signature(list_source, overrides)
    entry = _ENTRIES.get(key)
    if entry is not None and entry.signature == signature:
        return entry.resolver
    with _LOCK:
        entry = _ENTRIES.get(key)
        if entry is None or entry.signature != signature:
            if len(_ENTRIES) >= _MAX_ENTRIES:
                _ENTRIES.clear()
            entry = _ENTRIES[key] = _Entry(signature, _build(list_source, overrides, table), table)
    return entry.resolver
