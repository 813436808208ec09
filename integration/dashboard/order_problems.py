"""An order's problems as rows the order page shows: field, message, rule, file, line, candidates.

The ledger keeps problems as ``{FIELD: [message, ...]}`` where a message is text ending in
``(rule fields.X in shopify.yaml:22)`` when a mapping rule produced it, or (the newer shape of
``integration.problems``) a :meth:`Problem.as_dict` mapping whose ``params`` may name destination
``candidates: [{code, name}, ...]``. Both shapes are read here, so the page works before and after
the ledger switches to structured problems.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from integration.problems import Problem, render

_ORIGIN = re.compile(r"^(?P<text>.*?)\s*\(rule (?P<rule>.+?) in (?P<file>[^()]+?):(?P<line>\d+)\)\s*$", re.S)


@dataclass(frozen=True)
class Candidate:
    """One JNE destination the owner may choose for an ambiguous address."""

    code: str
    name: str


@dataclass(frozen=True)
class ProblemRow:
    """One problem as shown: what is wrong and which rule of which file said so."""

    field: str
    message: str
    rule: str = ""
    file: str = ""
    line: int | None = None
    candidates: tuple[Candidate, ...] = ()
    params: Mapping[str, Any] = field(default_factory=dict)


def _candidates(params: Mapping[str, Any]) -> tuple[Candidate, ...]:
    out = []
    for item in params.get("candidates") or ():
        if isinstance(item, Mapping) and str(item.get("code") or "").strip():
            out.append(Candidate(str(item["code"]).strip(), str(item.get("name") or "").strip()))
    return tuple(out)


def row(key: str, item: Any, language: str = "en") -> ProblemRow:
    """One stored problem (text, a Problem, or a Problem's dict) as a row."""
    if isinstance(item, Mapping) and "code" in item:
        item = Problem.from_dict({"field": key, **item})
    if isinstance(item, Problem):
        origin = item.origin
        text = render(Problem(item.key, item.code, item.params), language)
        return ProblemRow(item.key, text, origin.rule if origin else "", origin.file if origin else "",
                          origin.line if origin else None, _candidates(item.params), dict(item.params))
    text = str(item)
    if text.startswith(f"{key}: "):  # the mapping prefixes its messages with the field
        text = text[len(key) + 2:]
    got = _ORIGIN.match(text)
    if got:
        return ProblemRow(key, got["text"], got["rule"], got["file"], int(got["line"]))
    return ProblemRow(key, text)


def rows(errors: Mapping[str, Iterable[Any]] | None, language: str = "en") -> list[ProblemRow]:
    """Every problem of ``{FIELD: [problem, ...]}`` as rows, in the order stored."""
    out: list[ProblemRow] = []
    for key, items in (errors or {}).items():
        if isinstance(items, str | Mapping):
            items = [items]
        out.extend(row(str(key), item, language) for item in items or ())
    return out


def first_message(errors: Mapping[str, Iterable[Any]] | None) -> str:
    """The first problem in one line, for the orders list."""
    found = rows(errors)
    if not found:
        return ""
    first = found[0]
    more = f" (+{len(found) - 1} more)" if len(found) > 1 else ""
    return f"{first.field}: {first.message}{more}"
