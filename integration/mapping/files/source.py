"""Read a mapping YAML file safely and remember the line of every key, for load-time messages.

Only safe loading is used (a ``SafeLoader`` subclass: no Python objects, no tags that run code).
Two store-owner traps of YAML 1.1 are closed on purpose: ``YES``/``NO``/``on``/``off`` stay text (a
JNE ``COD_FLAG: {const: YES}`` must not turn into ``true``) and numbers with a leading zero or a
colon stay text (``08123...``, HS code ``0901.21``, ``15:00``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from integration import safe_yaml

Path_ = tuple[Any, ...]  # a key path inside the document, e.g. ("fields", "RECEIVER_NAME", "then", 0)


class _MappingLoader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2-like scalars: only true/false are booleans, no octal or sexagesimal."""


_MappingLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers
            if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_MappingLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
_MappingLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^[-+]?(?:0|[1-9][0-9]*)$"), list("-+0123456789"))
_MappingLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float", re.compile(r"^[-+]?(?:0|[1-9][0-9]*)\.[0-9]+(?:[eE][-+]?[0-9]+)?$"),
    list("-+0123456789"))


@dataclass(frozen=True)
class Located:
    """A parsed YAML document plus the 1-based line of every key path, and duplicate-key problems."""

    data: Any
    lines: dict[Path_, int]
    duplicates: list[tuple[Path_, int]]


def parse_yaml(text: str, name: str = "mapping") -> Located:
    """Parse ``text`` safely and within the YAML budget (size, depth, aliases; integration.safe_yaml).

    Raises ``yaml.YAMLError`` (with a mark) when it is not YAML or would expand past the budget.
    """
    node, data = safe_yaml.parse(text, name, loader_class=_MappingLoader)
    lines: dict[Path_, int] = {(): 1}
    duplicates: list[tuple[Path_, int]] = []
    if node is not None:
        _walk(node, (), lines, duplicates)
    return Located(data, lines, duplicates)


def _walk(node: yaml.Node, path: Path_, lines: dict[Path_, int],
          duplicates: list[tuple[Path_, int]]) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: set[Any] = set()
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if key is None:
                continue
            sub = (*path, key)
            if key in seen:
                duplicates.append((sub, key_node.start_mark.line + 1))
            seen.add(key)
            lines[sub] = key_node.start_mark.line + 1
            _walk(value_node, sub, lines, duplicates)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            sub = (*path, index)
            lines[sub] = item.start_mark.line + 1
            _walk(item, sub, lines, duplicates)


def line_of(lines: dict[Path_, int], path: Path_) -> int:
    """The line of ``path``, or of its nearest ancestor that has one."""
    while path and path not in lines:
        path = path[:-1]
    return lines.get(path, 1)


def read_text(path: Path) -> str:
    """Read a mapping or table file as UTF-8 (a BOM is tolerated: spreadsheet exports carry one).

    Never more than the YAML budget's size: a larger file raises ``safe_yaml.FileTooLarge`` (an OSError).
    """
    return safe_yaml.read_capped(path)
