"""What a mapping rule plug-in is: its declaration, the context it parses in, what it returns.

A rule module (address.py, cod.py, ...) declares one :class:`RuleKind`: its name (the key under
``rules:`` in a mapping file), the settings it accepts with their defaults, the JNE fields it fills
and a ``parse`` function. The loader checks the settings generically (unknown keys, required ones)
and calls ``parse`` with the merged settings and a :class:`LoadContext`, through which the rule
compiles its expressions and reports load problems with file and line. ``parse`` returns a
:class:`ConfiguredRule`, whose ``apply`` maps one order: the values it produces and its
:class:`~integration.problems.Problem` list. Neither the loader nor the engine knows any rule by
name; they loop over ``registry.RULES``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Protocol

from integration.mapping.files.tables import Table
from integration.mapping.language.expressions import ROOT_NAMES, Expression
from integration.mapping.language.transforms import Step
from integration.problems import Origin, Problem

KeyPath = tuple[Any, ...]
REQUIRED = object()  # a setting's default meaning "must be written"

# What ``apply`` gives back: the values it produced (JNE fields; for a rule that ``provides`` a
# scope root, that root's content) and the problems it found.
Applied = tuple[dict[str, Any], list[Problem]]


class Checker(Protocol):
    """The loader's side of a LoadContext: paths are full key paths inside the mapping document."""

    def problem(self, path: KeyPath, rule: str, message: str) -> None:
        """Report a load problem at ``path`` (the loader adds file and line)."""

    def origin(self, path: KeyPath, rule: str) -> Origin:
        """Where ``path`` was written."""

    def expression(self, path: KeyPath, rule: str, source: Any, roots: tuple[str, ...]) -> Expression | None:
        """Compile and check an expression; None (and problems reported) when it is wrong."""

    def steps(self, path: KeyPath, rule: str, spec: Any) -> tuple[Step, ...] | None:
        """Build a ``then:`` pipeline; None (and problems reported) when a step is wrong."""


class LoadContext:
    """What a rule's ``parse`` gets from the loader, bound to the rule's place in the file.

    ``at`` arguments are keys below the rule (``ctx.problem("max_bytes: ...", "max_bytes")``);
    ``failed`` says whether anything was reported through this context or its sub-contexts;
    ``written`` is False for a rule that runs with its defaults without being written.
    """

    def __init__(self, checker: Checker, path: KeyPath, rule: str, tables: Mapping[str, Table],
                 written: bool = True, _counter: list[int] | None = None):
        self._checker = checker
        self.path = path
        self.rule = rule
        self.tables = tables
        self.written = written
        self._counter = _counter if _counter is not None else [0]

    @property
    def failed(self) -> bool:
        """True once a problem was reported through this context (or one made from it)."""
        return self._counter[0] > 0

    def sub(self, *keys: Any, rule: str | None = None) -> LoadContext:
        """A context for keys below this one, optionally under another rule name (counts problems jointly)."""
        return LoadContext(self._checker, (*self.path, *keys), rule or self.rule, self.tables, self.written,
                           self._counter)

    def problem(self, message: str, *at: Any) -> None:
        """Report a load problem at this rule (or at the key ``at`` below it)."""
        self._counter[0] += 1
        self._checker.problem((*self.path, *at), self.rule, message)

    def origin(self, *at: Any) -> Origin:
        """Where the rule (or the key ``at`` below it) was written, for the problems it files."""
        return self._checker.origin((*self.path, *at), self.rule)

    def expression(self, source: Any, *at: Any, roots: tuple[str, ...] = ROOT_NAMES) -> Expression | None:
        """Compile the expression written at ``at``; None when it is wrong (reported)."""
        expression = self._checker.expression((*self.path, *at), self.rule, source, roots)
        if expression is None:
            self._counter[0] += 1
        return expression

    def steps(self, spec: Any, *at: Any) -> tuple[Step, ...] | None:
        """Build the ``then:`` pipeline written at ``at``; None when a step is wrong (reported)."""
        steps = self._checker.steps((*self.path, *at), self.rule, spec)
        if steps is None:
            self._counter[0] += 1
        return steps


class ConfiguredRule:
    """A rule as a mapping file configured it; subclasses are frozen dataclasses."""

    name: ClassVar[str]
    provides: ClassVar[str | None] = None  # the scope root it fills instead of JNE fields (pickup)
    origin: Origin | None

    @property
    def outputs(self) -> tuple[str, ...]:
        """The JNE fields this rule fills (a field rule for one of them is a load problem)."""
        return ()

    @property
    def covers(self) -> Mapping[str, tuple[str, ...]]:
        """Keys this rule files problems under that are not JNE fields, and the fields each stands for."""
        return {}

    def apply(self, scope: dict[str, Any], values: dict[str, str], now: datetime) -> Applied:
        """Map one order: the values produced and the problems; never raises for bad order data."""
        raise NotImplementedError


@dataclass(frozen=True)
class RuleKind:
    """A rule plug-in's declaration (one per rule module, listed in ``registry.RULES``)."""

    name: str                                    # its key under rules:
    settings: Mapping[str, Any]                  # the keys it accepts -> default (REQUIRED: must be written)
    fills: tuple[str, ...]                       # the JNE fields it fills by default
    parse: Callable[[dict[str, Any], LoadContext], ConfiguredRule | None] = field(repr=False)
    # A scope root (``pickup``) the rule fills before vars are worked out, instead of JNE fields
    # (its ConfiguredRule says the same). Such a rule also runs with its defaults when not written,
    # as soon as an expression reads the root.
    provides: str | None = None
