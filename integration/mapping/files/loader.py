"""Load a mapping file: read it (and what it ``extends``), check everything, build a ``Mapping``.

Every mistake a store owner can make in the file is found here, all at once, each as one line
naming the file, the line, the rule and what is wrong; nothing is left to fail on the first order.
Files and tables are read only inside the mapping's own folder tree (tables passed in by
integration.yaml's ``lookups:`` are the exception: the operator chose those paths).
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Any

from integration.errors import ConfigError
from integration.jne.fields import BY_NAME, FIELD_NAMES
from integration.mapping.engine import Mapping, ValueRule
from integration.mapping.files.documents import Document, KeyPath, Loc, inside, read_document, suggest
from integration.mapping.files.fingerprint import Fingerprint
from integration.mapping.files.store_facts import StoreKeys, check_store_path
from integration.mapping.files.tables import Key, Table, load_table
from integration.mapping.language.budget import MAX_TEXT
from integration.mapping.language.expressions import ALL_VARS, ROOT_NAMES, Expression, compile_expression
from integration.mapping.language.transforms import Step, build_step
from integration.mapping.language.values import text_of
from integration.mapping.rules import registry, trigger
from integration.mapping.rules.base import REQUIRED, ConfiguredRule, LoadContext, RuleKind
from integration.problems import Origin

RULE_KEYS = ("value", "const", "when", "default", "then")
TABLE_KEYS = ("file", "keys", "value")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_MAX_WARNINGS = 5  # a chain of 26 doubling vars is one mistake: a few lines say it
_HUGE = 2 ** 64
log = logging.getLogger(__name__)


def load_mapping(path: str | os.PathLike[str], tables: dict[str, str | os.PathLike[str]] | None = None, *,
                 fingerprint: Fingerprint | None = None, store_keys: StoreKeys | None = None) -> Mapping:
    """Load and check a mapping file; raise ConfigError with one line per problem.

    ``fingerprint`` collects every file read (also when the load fails), for reloading on edits;
    ``store_keys`` (the store block's known keys) makes every ``store.*`` path an expression reads
    a checked name, like the JNE field names.
    """
    try:
        return _Loader(Path(path), dict(tables or {}), fingerprint or Fingerprint(), store_keys).load()
    except ConfigError:
        raise
    except Exception:  # a checker bug must still reach the owner as a message, not a traceback
        log.exception("checking mapping %s failed", path)
        # Python's words stay in the log (with the traceback); the owner gets what to do.
        raise ConfigError(f"{path}: the mapping could not be checked because of an internal error (the log has "
                          "the details); please report it with the mapping file") from None


class _Loader:
    def __init__(self, path: Path, tables: dict[str, str | os.PathLike[str]], fingerprint: Fingerprint,
                 store_keys: StoreKeys | None):
        self.path = path
        self.fingerprint = fingerprint
        self.store_keys = store_keys
        self.shown = str(path)
        self.root = path.resolve().parent
        self.table_overrides = tables
        self.problems: list[str] = []
        self.doc = Document({})
        self.tables: dict[str, Table] = {}
        self.known_vars: frozenset[str] = frozenset()
        self.roots_read: set[str] = set()  # the scope roots expressions read (pickup: only then a slot)
        self.reads_all_vars = False  # an expression reads ``vars`` as a whole: work every var out
        self.warnings: list[str] = []

    # -- reporting ------------------------------------------------------------------------------

    def where(self, path: KeyPath) -> Loc:
        while path and path not in self.doc.locs:
            path = path[:-1]
        return self.doc.locs.get(path, (self.shown, 1))

    def problem(self, path: KeyPath, rule: str, message: str) -> None:
        file, line = self.where(path)
        self.problems.append(f"{file}:{line}: {rule}: {message}")

    def origin(self, path: KeyPath, rule: str) -> Origin:
        file, line = self.where(path)
        return Origin(rule, os.path.basename(file), line)

    # the Checker a rule's LoadContext talks to (see rules/base.py)

    def expression(self, path: KeyPath, rule: str, source: Any, roots: tuple[str, ...]) -> Expression | None:
        return self._expression(path, rule, source, self.known_vars, roots)

    def steps(self, path: KeyPath, rule: str, spec: Any) -> tuple[Step, ...] | None:
        return self._steps(path, rule, spec, self.tables)

    # -- reading --------------------------------------------------------------------------------

    def load(self) -> Mapping:
        doc = read_document(self.path, self.shown, self.root, self.problems, fingerprint=self.fingerprint)
        if doc is None:
            raise ConfigError(f"{self.shown}: cannot load the mapping", self.problems)
        self.doc = doc
        mapping = self._build()
        if self.problems:
            raise ConfigError(f"{self.shown}: {len(self.problems)} problem(s) in the mapping", self.problems)
        assert mapping is not None
        return mapping

    # -- building -------------------------------------------------------------------------------

    def _section(self, key: str) -> dict[str, Any]:
        value = self.doc.data.get(key)
        return value if isinstance(value, dict) else {}

    def _build(self) -> Mapping | None:
        tables = self.tables = self._tables()
        var_rules: list[ValueRule] = []
        var_names: set[str] = set()  # the vars written above the one being read (it grows: no copies)
        for name, spec in self._section("vars").items():
            if spec is None:
                continue
            if not isinstance(name, str) or not _NAME.match(name):
                self.problem(("vars", name), f"vars.{name}", "a variable name is letters, digits and _ "
                                                             "(it is used as vars.NAME)")
                continue
            rule = self._value_rule(("vars", name), f"vars.{name}", name, spec, tables, var_names)
            var_names.add(name)
            if rule is not None:
                var_rules.append(rule)
        known_vars = self.known_vars = frozenset(var_names)
        self._warn_doubling(var_rules)

        field_rules: list[ValueRule] = []
        for name, spec in self._section("fields").items():
            if spec is None:
                continue
            if name not in BY_NAME:
                self.problem(("fields", name), f"fields.{name}",
                             f"unknown JNE field {suggest(text_of(name), FIELD_NAMES)}"
                             "(the fields are listed in docs/mapping.md)")
                continue
            rule = self._value_rule(("fields", name), f"fields.{name}", name, spec, tables, known_vars)
            if rule is not None:
                field_rules.append(rule)

        the_trigger = trigger.parse(self._section("trigger"), LoadContext(self, ("trigger",), "trigger", tables))
        rules = self._rules()
        self._conflicts(field_rules, rules)
        platform = self.doc.data.get("platform")
        if platform is not None and not isinstance(platform, str):
            self.problem(("platform",), "platform", "needs a name such as shopify or woocommerce")
            platform = None
        if self.problems:
            return None
        return Mapping(path=self.path, platform=platform, vars=tuple(var_rules), fields=tuple(field_rules),
                       trigger=the_trigger, rules=rules, tables=tables, version=self.fingerprint.version,
                       eager_vars=self.reads_all_vars, warnings=tuple(self.warnings))

    def _warn_doubling(self, var_rules: list[ValueRule]) -> None:
        """Warn about vars that read another var whole two or more times: chained, they grow without bound.

        ``v1: concat(vars.v0, vars.v0)`` is twice as long as v0; 26 of them in a row make 2**26
        characters. The budgets stop such an order at run time; this says so when checking, the
        fastest growing vars first.
        """
        growth: dict[str, int] = {}
        found: list[tuple[int, str]] = []
        for rule in var_rules:
            reads: dict[str, int] = {}
            for name in rule.value.whole_var_reads if rule.value is not None else ():
                reads[name] = reads.get(name, 0) + 1
            # how many times its first vars' size it can be (capped: only the order of size matters)
            factor = growth[rule.name] = min(sum(n * growth.get(v, 1) for v, n in reads.items()) or 1, _HUGE)
            twice = [(v, n) for v, n in reads.items() if n >= 2]
            if twice:
                what = ", ".join(f"vars.{v} {n} times" for v, n in twice)
                shown = f"{factor:,}" if factor < _HUGE else f"more than {_HUGE:,}"
                file, line = self.where(("vars", rule.name))
                found.append((factor, f"{file}:{line}: vars.{rule.name}: warning: reads {what}, so it can be {shown} "
                                      f"times as long as the vars it starts from; a chain of such vars grows without "
                                      f"bound (an order whose value passes {MAX_TEXT:,} characters needs attention: "
                                      f"docs/mapping.md, \"Budgets\")"))
        found.sort(key=lambda item: -item[0])
        self.warnings += [text for _, text in found[:_MAX_WARNINGS]]
        if len(found) > _MAX_WARNINGS:
            self.warnings.append(f"{self.shown}: warning: {len(found) - _MAX_WARNINGS} more vars read another var "
                                 "whole two or more times")

    def _expression(self, path: KeyPath, rule: str, source: Any, var_names: set[str] | frozenset[str],
                    roots: tuple[str, ...] = ROOT_NAMES) -> Expression | None:
        expression, problems = compile_expression(source, roots, var_names)
        if expression is not None:
            self.roots_read |= expression.roots
            self.reads_all_vars = self.reads_all_vars or ALL_VARS in expression.var_reads
            if self.store_keys is not None:
                for store_path in sorted(expression.store_paths):
                    message = check_store_path(store_path, self.store_keys)
                    if message is not None:
                        self.problem(path, rule, f"{message} in {source!r}")
        for message in problems:
            if isinstance(source, str) and _NAME.match(source.strip()) and message.startswith("unknown name"):
                message += f"; for a fixed text write {{const: {source.strip()}}}"
            self.problem(path, rule, message)
        return expression

    def _steps(self, path: KeyPath, rule: str, spec: Any, tables: dict[str, Table]) -> tuple[Step, ...] | None:
        if spec is None:
            return ()
        items = spec if isinstance(spec, list) else [spec]
        steps: list[Step] = []
        ok = True
        for index, item in enumerate(items):
            step, message = build_step(item, tables)
            if message is not None:
                self.problem((*path, index) if isinstance(spec, list) else path, rule, message)
                ok = False
            elif step is not None:
                steps.append(step)
        return tuple(steps) if ok else None

    def _value_rule(self, path: KeyPath, rule: str, name: str, spec: Any, tables: dict[str, Table],
                    var_names: set[str] | frozenset[str]) -> ValueRule | None:
        if isinstance(spec, str):
            spec = {"value": spec}
        elif not isinstance(spec, dict):
            self.problem(path, rule, f"write {{value: EXPRESSION}} or {{const: {text_of(spec)}}} "
                                     f"(a bare {type(spec).__name__} is neither)")
            return None
        before = len(self.problems)
        for key in spec:
            if key not in RULE_KEYS:
                self.problem((*path, key), rule, f"unknown key {suggest(text_of(key), RULE_KEYS)}"
                                                 f"(known: {', '.join(RULE_KEYS)})")
        if ("value" in spec) == ("const" in spec):
            self.problem(path, rule, "needs exactly one of value: (an expression) or const: (a fixed text)")
        value = None
        if "value" in spec:
            value = self._expression((*path, "value"), rule, spec["value"], var_names)
        const = spec.get("const")
        if "const" in spec and (const is None or isinstance(const, list | dict)):
            self.problem((*path, "const"), rule, "const: needs a text or a number")
        when = None
        if spec.get("when") is not None:
            when = self._expression((*path, "when"), rule, spec["when"], var_names)
        default = spec.get("default")
        if default is not None and (isinstance(default, list | dict) or not text_of(default).strip()):
            self.problem((*path, "default"), rule, "default: needs a non-blank text, e.g. '-'")
        steps = self._steps((*path, "then"), rule, spec.get("then"), tables)
        if len(self.problems) > before or steps is None:
            return None
        return ValueRule(name=name, origin=self.origin(path, rule), value=value, const=const, when=when,
                         steps=steps, default=None if default is None else text_of(default))

    def _rules(self) -> tuple[ConfiguredRule, ...]:
        """Every rule of the registry the file writes under ``rules:``, and those it needs unwritten."""
        section = self._section("rules")
        for name in section:
            if name not in registry.BY_NAME:
                self.problem(("rules", name), f"rules.{name}", f"unknown rule {suggest(text_of(name), registry.BY_NAME)}"
                                                               f"(known: {', '.join(registry.BY_NAME)})")
        configured: dict[str, ConfiguredRule | None] = {}
        for kind in registry.RULES:
            if section.get(kind.name) is not None:
                configured[kind.name] = self._rule(kind, section[kind.name])
        # a rule that provides a scope root runs with its defaults when an expression reads the root
        # (checked after the written rules: their expressions count too)
        for kind in registry.RULES:
            if kind.name not in configured and kind.provides is not None and kind.provides in self.roots_read:
                configured[kind.name] = self._rule(kind, {}, written=False)
        return tuple(rule for kind in registry.RULES if (rule := configured.get(kind.name)) is not None)

    def _rule(self, kind: RuleKind, spec: Any, written: bool = True) -> ConfiguredRule | None:
        path, rule = ("rules", kind.name), f"rules.{kind.name}"
        if not isinstance(spec, dict):
            self.problem(path, rule, "needs its settings as key: value lines")
            return None
        ctx = LoadContext(self, path, rule, self.tables, written)
        for key in spec:
            if key not in kind.settings:
                ctx.problem(f"unknown key {suggest(text_of(key), kind.settings)}(known: {', '.join(kind.settings)})",
                            key)
        settings: dict[str, Any] = {}
        for key, default in kind.settings.items():
            value = spec.get(key)
            if value is None and default is REQUIRED:
                ctx.problem(f"{key}: is required")
            settings[key] = value if value is not None or default is REQUIRED else default
        return kind.parse(settings, ctx)

    def _conflicts(self, fields: list[ValueRule], rules: tuple[ConfiguredRule, ...]) -> None:
        produced = {name: f"rules.{rule.name}" for rule in rules for name in rule.outputs}
        for rule in fields:
            if rule.name in produced:
                self.problem(("fields", rule.name), f"fields.{rule.name}",
                             f"also produced by {produced[rule.name]}; remove one of the two")

    # -- tables ---------------------------------------------------------------------------------

    def _tables(self) -> dict[str, Table]:
        specs: dict[str, tuple[Path | None, tuple[Key, ...] | None, str | None, KeyPath]] = {}
        for name, spec in self._section("tables").items():
            if spec is None:
                continue
            path = ("tables", name)
            rule = f"tables.{name}"
            if isinstance(spec, str):
                spec = {"file": spec}
            if not isinstance(spec, dict):
                self.problem(path, rule, "write {file: NAME.csv} (optionally keys: and value:)")
                continue
            for key in spec:
                if key not in TABLE_KEYS:
                    self.problem((*path, key), rule, f"unknown key {key!r} (known: {', '.join(TABLE_KEYS)})")
            file = spec.get("file")
            if not isinstance(file, str) or not file.strip():
                self.problem(path, rule, "file: needs the CSV file name")
                continue
            # relative to the file that declares the table (a parent mapping's tables sit beside it)
            table_path = Path(self.where(path)[0]).parent / file
            if not inside(table_path, self.root):
                self.problem((*path, "file"), rule, f"{file!r} is outside the mapping's folder {self.root} "
                                                    "(name tables outside it in integration.yaml lookups:)")
                continue
            keys = self._table_keys(path, rule, spec.get("keys"))
            value = spec.get("value")
            if value is not None and not isinstance(value, str):
                self.problem((*path, "value"), rule, "value: needs a column name")
                continue
            specs[text_of(name)] = (table_path, keys, value.lower() if value else None, path)
        for name, given in self.table_overrides.items():
            _, keys, value, path = specs.get(name, (None, None, None, ("tables",)))
            specs[name] = (Path(given), keys, value, path)
        tables: dict[str, Table] = {}
        for name, (table_path, keys, value, path) in specs.items():
            assert table_path is not None
            table, problems = load_table(name, table_path, keys, value, self.fingerprint)
            for message in problems:
                self.problem(path, f"tables.{name}", message)
            if table is not None:
                tables[name] = table
        return tables

    def _table_keys(self, path: KeyPath, rule: str, spec: Any) -> tuple[Key, ...] | None:
        if spec is None:
            return None
        items = spec if isinstance(spec, list) else [spec]
        keys: list[Key] = []
        for item in items:
            columns = item if isinstance(item, list) else [item]
            if not columns or not all(isinstance(c, str) and c.strip() for c in columns):
                self.problem((*path, "keys"), rule, "keys: needs column names, e.g. [zip, [city, district], city]")
                return None
            keys.append(tuple(c.strip().lower() for c in columns))
        return tuple(keys)
