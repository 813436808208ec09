"""YAML loading with a budget, for integration.yaml and the mapping files.

``yaml.safe_load`` runs no code, but it still builds whatever the text describes: 518 bytes of
nested aliases ("billion laughs") took 3.8 GB and 28 s, and 500 levels of nesting ended in a
RecursionError with a 2,990-line traceback. Every process that loads the configuration paid it.

This loader composes the document (YAML's node graph, where an alias is a second reference to the
same node, so composing costs what the text costs) and checks it before anything is built:

- the file is at most ``Limits.max_bytes`` (2 MiB; the 20,000-rule mapping of the tests is 0.8 MiB);
- nesting is at most ``Limits.max_depth`` levels (64; our files use fewer than 10);
- aliases are counted, not refused (an owner may reuse a pickup block for several stores): the
  nodes they add, expanded, may not exceed ``Limits.alias_nodes`` (10,000) or the number of nodes
  written in the file, whichever is larger, so a file can at most double by aliases. An alias to
  the block that contains it (a recursive document) is refused;
- keys may not hold control characters (NUL, ESC, DEL, C1) or bidirectional overrides: a key is a
  name shown in messages and logs, and an invisible character makes two keys look the same;
- an integer written with more than 100 digits is refused (Python refuses over 4,300 at all).

Each refusal is a ``YAMLBudgetError``: a ``yaml.MarkedYAMLError`` carrying the file name and line,
so code that already reports YAML syntax errors by their mark reports these too. ``load_file``
turns any of them, and syntax errors, into a ``ConfigError`` reading ``file:line: what is wrong``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from integration.errors import ConfigError
from integration.terminal import escape, is_safe

_INT_TAG = "tag:yaml.org,2002:int"
_MAX_INT_DIGITS = 100


@dataclass(frozen=True)
class Limits:
    """How much a YAML file may cost."""

    max_bytes: int = 2 * 1024 * 1024
    max_depth: int = 64
    alias_nodes: int = 10_000


DEFAULT_LIMITS = Limits()


class YAMLBudgetError(yaml.MarkedYAMLError):
    """A YAML file over a budget or holding a refused key; ``problem_mark`` says where."""


class FileTooLarge(OSError):
    """A file over ``Limits.max_bytes``; an OSError, so readers that report unreadable files report it."""


class _Budget:
    """The composer mix-in: depth, alias expansion and recursion checked while composing."""

    limits: Limits = DEFAULT_LIMITS

    def _budget_init(self, limits: Limits) -> None:
        self.limits = limits
        self._depth = 0
        self._written = 0  # nodes in the text
        self._aliased = 0  # nodes added by aliases, expanded
        self._sizes: dict[int, int] = {}
        self._open: set[str] = set()  # anchors of blocks being composed (an alias to one would recurse)

    def compose_node(self, parent: Any, index: Any) -> Any:
        """Compose one node; refuse it when it breaks a budget."""
        if self.check_event(yaml.AliasEvent):  # type: ignore[attr-defined]
            event = self.peek_event()  # type: ignore[attr-defined]
            node = super().compose_node(parent, index)  # type: ignore[misc]
            if event.anchor in self._open:
                raise YAMLBudgetError(None, None, f"the alias *{event.anchor} refers to the block that "
                                      "contains it; a recursive document is not accepted", event.start_mark)
            self._aliased += self._size(node)
            allowed = max(self.limits.alias_nodes, self._written)
            if self._aliased > allowed:
                raise YAMLBudgetError(None, None, f"aliases expand to more than {allowed:,} values (at *"
                                      f"{event.anchor}); write the values out or use fewer aliases",
                                      event.start_mark)
            return node
        event = self.peek_event()  # type: ignore[attr-defined]
        self._depth += 1
        if self._depth > self.limits.max_depth:
            raise YAMLBudgetError(None, None, f"nested more than {self.limits.max_depth} levels deep",
                                  event.start_mark)
        self._written += 1
        # A block's anchor is registered before its children are composed, so an alias among
        # them would return the block itself: keep its anchor "open" until the block is complete.
        anchor = None if isinstance(event, yaml.ScalarEvent) else event.anchor
        if anchor is not None:
            self._open.add(anchor)
        try:
            node = super().compose_node(parent, index)  # type: ignore[misc]
        finally:
            self._open.discard(anchor)
        self._depth -= 1
        return node

    def compose_mapping_node(self, anchor: Any) -> Any:
        """Compose a mapping; refuse keys holding control characters."""
        node = super().compose_mapping_node(anchor)  # type: ignore[misc]
        for key, _value in node.value:
            if isinstance(key, yaml.ScalarNode) and not is_safe(key.value):
                raise YAMLBudgetError(None, None, f"the key '{escape(key.value)}' holds a control or "
                                      "invisible character; keys must be plain text", key.start_mark)
        return node

    def compose_scalar_node(self, anchor: Any) -> Any:
        """Compose a scalar; refuse integers too long to be meant."""
        node = super().compose_scalar_node(anchor)  # type: ignore[misc]
        if node.tag == _INT_TAG and len(node.value) > _MAX_INT_DIGITS:
            raise YAMLBudgetError(None, None, f"a number of {len(node.value):,} digits is not accepted "
                                  f"(at most {_MAX_INT_DIGITS}); quote it if it is text", node.start_mark)
        return node

    def _size(self, node: yaml.Node) -> int:
        """Values ``node`` stands for once every alias inside it is expanded (memoised: linear)."""
        key = id(node)
        known = self._sizes.get(key)
        if known is not None:
            return known
        if isinstance(node, yaml.MappingNode):
            size = 1 + sum(self._size(k) + self._size(v) for k, v in node.value)
        elif isinstance(node, yaml.SequenceNode):
            size = 1 + sum(self._size(item) for item in node.value)
        else:
            size = 1
        self._sizes[key] = size
        return size


@cache
def budgeted(loader_class: type[yaml.SafeLoader]) -> type[yaml.SafeLoader]:
    """``loader_class`` (a SafeLoader or subclass) with the budget checks mixed in."""
    if not issubclass(loader_class, yaml.SafeLoader):
        raise TypeError("only safe loaders are accepted")
    return type(f"Budgeted{loader_class.__name__}", (_Budget, loader_class), {})


def parse(text: str, name: str = "<text>", loader_class: type[yaml.SafeLoader] = yaml.SafeLoader,
          limits: Limits = DEFAULT_LIMITS) -> tuple[yaml.Node | None, Any]:
    """(node, data) of one YAML document within ``limits``; raises ``yaml.YAMLError`` with a mark.

    ``name`` appears in marks (messages) as the file's name. The node keeps every key's line.
    """
    if len(text.encode("utf-8", "surrogatepass")) > limits.max_bytes:
        raise YAMLBudgetError(None, None, f"larger than {limits.max_bytes:,} bytes, the limit for this file", None)
    loader = budgeted(loader_class)(text)
    loader.name = name
    loader._budget_init(limits)  # noqa: SLF001 - our own mix-in
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except RecursionError:  # the depth limit makes this unreachable; kept as a clear refusal anyway
        raise YAMLBudgetError(None, None, "nested too deeply", None) from None
    finally:
        loader.dispose()
    return node, data


def read_capped(path: str | os.PathLike[str], max_bytes: int = DEFAULT_LIMITS.max_bytes) -> str:
    """The UTF-8 text of ``path`` (a BOM is dropped), never reading more than ``max_bytes`` + 1."""
    with open(path, "rb") as handle:
        raw = handle.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise FileTooLarge(f"{path} is larger than {max_bytes:,} bytes, the limit for this file")
    return raw.decode("utf-8-sig")


def load_file(path: str | os.PathLike[str], loader_class: type[yaml.SafeLoader] = yaml.SafeLoader,
              limits: Limits = DEFAULT_LIMITS) -> Any:
    """The data of the YAML file at ``path`` within ``limits``; ``ConfigError`` 'file:line: ...' otherwise."""
    shown = str(path)
    try:
        text = read_capped(path, limits.max_bytes)
    except FileTooLarge as exc:
        raise ConfigError(f"{shown}:1: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{shown}: cannot read: {exc}") from None
    try:
        return parse(text, Path(path).name, loader_class, limits)[1]
    except yaml.YAMLError as exc:
        raise ConfigError(describe(exc, shown)) from None


def describe(exc: yaml.YAMLError, shown: str) -> str:
    """``file:line: what is wrong`` for a YAML error (budget or syntax), never a traceback."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line = mark.line + 1 if mark is not None else 1
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    if isinstance(exc, YAMLBudgetError):
        return f"{shown}:{line}: {problem}"
    context = getattr(exc, "context", None)
    what = f"{context}, {problem}" if context else problem
    return f"{shown}:{line}: not valid YAML: {what}"
