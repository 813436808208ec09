"""Mapping documents: one YAML file read safely, what it ``extends`` merged in, every key located.

Each key path of the merged document remembers the file and line it came from, so a problem in a
rule inherited from a parent mapping is reported in the parent file, and an overriding rule in the
child file. ``extends`` may only name files inside the mapping's own folder tree.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from integration.mapping.files.fingerprint import Fingerprint
from integration.mapping.files.source import parse_yaml, read_text
from integration.mapping.language.values import text_of

TOP_KEYS = ("extends", "platform", "description", "tables", "vars", "trigger", "fields", "rules")
Loc = tuple[str, int]          # (file as shown, line)
KeyPath = tuple[Any, ...]


@dataclass
class Document:
    """A merged mapping document and, for every key path, the file and line it came from."""

    data: dict[str, Any]
    locs: dict[KeyPath, Loc] = field(default_factory=dict)


def read_document(path: Path, shown: str, root: Path, problems: list[str],
                  chain: tuple[Path, ...] = (), fingerprint: Fingerprint | None = None) -> Document | None:
    """Read ``path`` and what it extends, merged; append one line per problem to ``problems``.

    ``fingerprint`` notes every file read (or looked for), so a running service can tell an edit.
    """
    fingerprint = fingerprint if fingerprint is not None else Fingerprint()
    resolved = path.resolve()
    if resolved in chain:
        problems.append(f"{shown}:1: extends: loops back to itself "
                        f"({' -> '.join(p.name for p in (*chain, resolved))})")
        return None
    stat = fingerprint.before_read(path)
    try:
        text = read_text(path)
    except FileNotFoundError:
        fingerprint.missing(path)
        problems.append(f"{shown}:1: mapping file does not exist")
        return None
    except (OSError, UnicodeDecodeError) as exc:
        fingerprint.missing(path)
        problems.append(f"{shown}:1: cannot read the mapping file: {exc}")
        return None
    fingerprint.read(path, text, stat)
    try:
        located = parse_yaml(text, path.name)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else 1
        what = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        problems.append(f"{shown}:{line}: not valid YAML: {what}")
        return None
    data = located.data
    if data is None:
        data = {}
    if not isinstance(data, dict):
        problems.append(f"{shown}:1: the top level must be keys such as fields:, trigger:, rules:")
        return None
    for dup_path, line in located.duplicates:
        problems.append(f"{shown}:{line}: {'.'.join(map(str, dup_path))}: written twice; "
                        "only the last one would count")
    locs: dict[KeyPath, Loc] = {p: (shown, line) for p, line in located.lines.items()}
    doc = Document(data, locs)
    for key in list(data):
        if key not in TOP_KEYS:
            problems.append(f"{shown}:{locs.get((key,), (shown, 1))[1]}: {key}: unknown top-level key "
                            f"{suggest(text_of(key), TOP_KEYS)}(known: {', '.join(TOP_KEYS)})")
            del data[key]
    for key in ("tables", "vars", "trigger", "fields", "rules"):
        if key in data and data[key] is not None and not isinstance(data[key], dict):
            problems.append(f"{shown}:{locs.get((key,), (shown, 1))[1]}: {key}: must be a set of "
                            "named entries (key: value lines)")
            del data[key]
    parent = data.get("extends")
    if parent is None:
        return doc
    if not isinstance(parent, str) or not parent.strip():
        problems.append(f"{shown}:{locs[('extends',)][1]}: extends: needs a file name, e.g. shopify.yaml")
        return doc
    parent_path = path.parent / parent
    parent_shown = os.path.normpath(os.path.join(os.path.dirname(shown), parent))
    if not inside(parent_path, root):
        problems.append(f"{shown}:{locs[('extends',)][1]}: extends: {parent!r} is outside the "
                        f"mapping's folder {root}")
        return doc
    if not parent_path.is_file():
        fingerprint.missing(parent_path)
        problems.append(f"{shown}:{locs[('extends',)][1]}: extends: {parent!r} does not exist "
                        f"(looked for {parent_shown})")
        return doc
    base = read_document(parent_path, parent_shown, root, problems, (*chain, resolved), fingerprint)
    if base is None:
        return doc
    return merge(base, doc)


def merge(base: Document, child: Document) -> Document:
    """``child`` over ``base``: entries replace by name, ``NAME: null`` removes, rules merge key by key."""
    data = {k: (dict(v) if isinstance(v, dict) else v) for k, v in base.data.items()}
    locs = dict(base.locs)
    # Key paths by prefix, so that taking one entry's lines costs that entry's lines, not a scan of
    # every line (a scan per entry made a child with 20,000 vars quadratic).
    base_under, child_under = _PathIndex(base.locs), _PathIndex(child.locs)

    def take(prefix: KeyPath) -> None:
        for p in base_under.under(prefix):
            locs.pop(p, None)
        for p in child_under.under(prefix):
            locs[p] = child.locs[p]

    def by_name(section: dict[str, Any], updates: dict[str, Any], prefix: KeyPath) -> None:
        for name, entry in updates.items():
            if entry is None:
                section.pop(name, None)
                for p in base_under.under((*prefix, name)) + child_under.under((*prefix, name)):
                    locs.pop(p, None)
            else:
                section[name] = entry
                take((*prefix, name))

    for key, value in child.data.items():
        if key == "extends":
            continue
        current = data.get(key)
        if key in ("fields", "vars", "tables") and isinstance(value, dict) and isinstance(current, dict):
            by_name(current, value, (key,))
        elif key == "rules" and isinstance(value, dict) and isinstance(current, dict):
            for name, block in value.items():
                old = current.get(name)
                if isinstance(block, dict) and isinstance(old, dict):
                    merged = dict(old)
                    by_name(merged, block, ("rules", name))
                    current[name] = merged
                else:
                    by_name(current, {name: block}, ("rules",))
        elif key == "trigger" and isinstance(value, dict) and isinstance(current, dict):
            for name, entry in value.items():
                old = current.get(name)
                if name == "skip_when" and isinstance(entry, dict) and isinstance(old, dict):
                    merged = dict(old)
                    by_name(merged, entry, ("trigger", "skip_when"))
                    current[name] = merged
                else:
                    by_name(current, {name: entry}, ("trigger",))
        else:
            data[key] = value
            take((key,))
        if (key,) in child.locs:
            locs[(key,)] = child.locs[(key,)]
    data.pop("extends", None)
    return Document(data, locs)


class _PathIndex:
    """The key paths of a document's ``locs`` under a prefix, indexed per prefix length on first use."""

    def __init__(self, locs: dict[KeyPath, Loc]):
        self._locs = locs
        self._by_length: dict[int, dict[KeyPath, list[KeyPath]]] = {}

    def under(self, prefix: KeyPath) -> list[KeyPath]:
        """The paths that start with ``prefix`` (itself included)."""
        size = len(prefix)
        index = self._by_length.get(size)
        if index is None:
            index = self._by_length[size] = {}
            for path in self._locs:
                if len(path) >= size:
                    index.setdefault(path[:size], []).append(path)
        return index.get(prefix, [])


def inside(path: Path, root: Path) -> bool:
    """Whether ``path`` (symlinks resolved) lies under ``root``."""
    try:
        return path.resolve().is_relative_to(root)
    except (OSError, RuntimeError):
        return False


def suggest(word: str, choices: Any) -> str:
    """The word quoted, with the closest known choice when there is one, for a message."""
    close = difflib.get_close_matches(word, [str(c) for c in choices], n=1, cutoff=0.6)
    return f"{word!r}, did you mean {close[0]!r}? " if close else f"{word!r} "

