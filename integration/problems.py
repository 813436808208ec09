"""Problems as data: what is wrong with one order, as a code with parameters, rendered in one place.

Every part that finds something wrong with an order (the mapping engine and its rules, JNE's schema,
the booking policy, the pipeline) returns :class:`Problem` values, never finished sentences. A
problem names the JNE field or rule it is filed under (``key``), a ``code`` from the catalogue, the
``params`` its words need (the value, what JNE accepts...) and, when a mapping rule produced it,
the rule's :class:`Origin` (rule, file, line). :func:`render` turns it into words in English or in
Bahasa Indonesia; :func:`messages` gives the contract's ``{FIELD: [message, ...]}`` shape.

Each module that files problems defines its codes next to the code that raises them, with
:func:`define`, in every language at once; ``tests/test_problems.py`` fails when a code lacks a
language or when the two languages name different parameters.
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

LANGUAGES = ("en", "id")
DEFAULT_LANGUAGE = "en"

_CATALOG: dict[str, dict[str, str]] = {}
_FORMATTER = string.Formatter()


def _placeholders(template: str) -> frozenset[str]:
    return frozenset(name for _, name, _, _ in _FORMATTER.parse(template) if name)


def define(code: str, *, en: str, id: str) -> str:  # noqa: A002 - "id" is the language's code
    """Register a problem code's words in every language; returns ``code`` (for a module constant).

    Templates use ``str.format`` names (``{value}``); both languages must name the same ones.
    Defining a code twice with other words is a programming mistake and raises.
    """
    words = {"en": en, "id": id}
    if _placeholders(en) != _placeholders(id):
        raise ValueError(f"problem {code}: the languages name different parameters "
                         f"({sorted(_placeholders(en))} vs {sorted(_placeholders(id))})")
    known = _CATALOG.get(code)
    if known is not None and known != words:
        raise ValueError(f"problem {code} is defined twice with different words")
    _CATALOG[code] = words
    return code


def catalog() -> dict[str, dict[str, str]]:
    """Every defined code with its words per language (a copy)."""
    return {code: dict(words) for code, words in _CATALOG.items()}


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a mapping rule was written: ``rule fields.RECEIVER_PHONE in shopify.yaml:22``."""

    rule: str
    file: str
    line: int

    def render(self, language: str = DEFAULT_LANGUAGE) -> str:
        """The place in words."""
        if language == "id":
            return f"aturan {self.rule} di {self.file}:{self.line}"
        return f"rule {self.rule} in {self.file}:{self.line}"

    def __str__(self) -> str:
        return self.render()


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with an order: filed under ``key``, said by ``code`` with ``params``."""

    key: str
    code: str
    params: Mapping[str, Any] = field(default_factory=dict)
    origin: Origin | None = None

    def render(self, language: str = DEFAULT_LANGUAGE) -> str:
        """The problem in words (see :func:`render`)."""
        return render(self, language)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: field, code, params and, when a rule produced it, rule, file and line."""
        out: dict[str, Any] = {"field": self.key, "code": self.code,
                               "params": {k: _jsonable(v) for k, v in self.params.items()}}
        if self.origin is not None:
            out.update(rule=self.origin.rule, file=self.origin.file, line=self.origin.line)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Problem:
        """The inverse of :meth:`as_dict` (for problems read back from the ledger)."""
        origin = None
        if data.get("rule") is not None:
            origin = Origin(str(data["rule"]), str(data.get("file") or ""), int(data.get("line") or 0))
        return cls(str(data["field"]), str(data["code"]), dict(data.get("params") or {}), origin)


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return str(value)


class _Params(dict):
    """Format parameters; a parameter the template names but the problem lacks shows as '?'."""

    def __missing__(self, key: str) -> str:
        return "?"


def render(problem: Problem, language: str = DEFAULT_LANGUAGE) -> str:
    """``problem`` in words, in ``language`` (en or id), with the rule that produced it when known.

    An unknown code is shown as the code and its parameters rather than raising: a message must
    always reach the owner, even one filed by a newer version of this program.
    """
    words = _CATALOG.get(problem.code)
    if words is None:
        params = ", ".join(f"{k}={v}" for k, v in problem.params.items())
        text = f"{problem.code} ({params})" if params else problem.code
    else:
        template = words.get(language) or words[DEFAULT_LANGUAGE]
        text = template.format_map(_Params(problem.params))
    if problem.origin is not None:
        text = f"{text} ({problem.origin.render(language)})"
    return text


def messages(problems: Iterable[Problem], language: str = DEFAULT_LANGUAGE) -> dict[str, list[str]]:
    """The contract's ``{FIELD or rule: [message, ...]}``, in the order the problems came."""
    out: dict[str, list[str]] = {}
    for problem in problems:
        out.setdefault(problem.key, []).append(render(problem, language))
    return out


def keys(problems: Iterable[Problem]) -> set[str]:
    """The fields and rules the problems are filed under."""
    return {p.key for p in problems}
