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
from integration.jne.fields import BATAM_FIELDS, BY_NAME, FIELD_NAMES
from integration.mapping.engine import AddressRule, Mapping, PickupRule, ValueRule
from integration.mapping.files.documents import Document, KeyPath, Loc, inside, read_document, suggest
from integration.mapping.files.source import Origin
from integration.mapping.files.tables import Key, Table, load_table
from integration.mapping.language.expressions import ROOT_NAMES, Expression, compile_expression
from integration.mapping.language.transforms import Step, build_step
from integration.mapping.language.values import text_of
from integration.mapping.rules import batam as batam_rule
from integration.mapping.rules import cod as cod_rule
from integration.mapping.rules.trigger import Condition, Trigger

RULE_KEYS = ("value", "const", "when", "default", "then")
TRIGGER_KEYS = ("book_when", "skip_when", "status")
TABLE_KEYS = ("file", "keys", "value")
RULES: dict[str, tuple[str, ...]] = {
    "address": ("from", "into", "max_bytes", "then", "filler"),
    "cod": ("when", "amount"),
    "batam": ("when", "lines", "hs_code", "sku", "sku_table", "line_name", "price", "quantity", "tax",
              "item_type", "npwp", "max_codes"),
    "pickup": ("from",),
}
# Batam defaults fit both platforms: Shopify line ``properties`` and WooCommerce ``meta_data`` are
# both lists of name/key + value entries, and WooCommerce lines have no requires_shipping at all.
BATAM_DEFAULTS = {
    "lines": "order.line_items[?requires_shipping != `false`]",
    "hs_code": "property(line.properties || line.meta_data, ['HS Code', 'hs_code'])",
    "sku": "line.sku",
    "line_name": "line.title || line.name",
    "price": "line.price",
    "quantity": "line.quantity",
    "tax": "order.total_tax",
    "item_type": "store.batam.item_type",
    "npwp": "store.batam.npwp",
}
DEFAULT_ADDRESS_INTO = ("RECEIVER_ADDR1", "RECEIVER_ADDR2", "RECEIVER_ADDR3")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
log = logging.getLogger(__name__)



def load_mapping(path: str | os.PathLike[str], tables: dict[str, str | os.PathLike[str]] | None = None) -> Mapping:
    """Load and check a mapping file; raise ConfigError with one line per problem."""
    try:
        return _Loader(Path(path), dict(tables or {})).load()
    except ConfigError:
        raise
    except Exception as exc:  # a checker bug must still reach the owner as a message, not a traceback
        log.exception("checking mapping %s failed", path)
        raise ConfigError(f"{path}: the mapping could not be checked ({type(exc).__name__}: {exc})") from None


class _Loader:
    def __init__(self, path: Path, tables: dict[str, str | os.PathLike[str]]):
        self.path = path
        self.shown = str(path)
        self.root = path.resolve().parent
        self.table_overrides = tables
        self.problems: list[str] = []
        self.doc = Document({})
        self.uses_pickup = False  # any expression reads pickup.*: only then is the slot computed

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

    # -- reading --------------------------------------------------------------------------------

    def load(self) -> Mapping:
        doc = read_document(self.path, self.shown, self.root, self.problems)
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
        tables = self._tables()
        var_rules: list[ValueRule] = []
        var_names: list[str] = []
        for name, spec in self._section("vars").items():
            if spec is None:
                continue
            if not isinstance(name, str) or not _NAME.match(name):
                self.problem(("vars", name), f"vars.{name}", "a variable name is letters, digits and _ "
                                                             "(it is used as vars.NAME)")
                continue
            rule = self._value_rule(("vars", name), f"vars.{name}", name, spec, tables, tuple(var_names))
            var_names.append(name)
            if rule is not None:
                var_rules.append(rule)
        known_vars = tuple(var_names)

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

        trigger = self._trigger(known_vars)
        rules = self._section("rules")
        for name in rules:
            if name not in RULES:
                self.problem(("rules", name), f"rules.{name}",
                             f"unknown rule {suggest(text_of(name), RULES)}(known: {', '.join(RULES)})")
        address = self._address(rules.get("address"), tables, known_vars)
        cod = self._cod(rules.get("cod"), known_vars)
        batam = self._batam(rules.get("batam"), tables, known_vars)
        pickup = self._pickup(rules.get("pickup"), known_vars)
        self._conflicts(field_rules, address, cod, batam)
        platform = self.doc.data.get("platform")
        if platform is not None and not isinstance(platform, str):
            self.problem(("platform",), "platform", "needs a name such as shopify or woocommerce")
            platform = None
        if self.problems:
            return None
        return Mapping(path=self.path, platform=platform, vars=tuple(var_rules), fields=tuple(field_rules),
                       trigger=trigger, pickup=pickup, address=address, cod=cod, batam=batam, tables=tables,
                       uses_pickup=self.uses_pickup or pickup is not None)

    def _expression(self, path: KeyPath, rule: str, source: Any, var_names: tuple[str, ...],
                    roots: tuple[str, ...] = ROOT_NAMES) -> Expression | None:
        expression, problems = compile_expression(source, roots, var_names)
        if expression is not None and "pickup" in expression.roots:
            self.uses_pickup = True
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
                    var_names: tuple[str, ...]) -> ValueRule | None:
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

    def _trigger(self, var_names: tuple[str, ...]) -> Trigger:
        spec = self._section("trigger")
        for key in spec:
            if key not in TRIGGER_KEYS:
                self.problem(("trigger", key), f"trigger.{key}",
                             f"unknown key {suggest(text_of(key), TRIGGER_KEYS)}(known: {', '.join(TRIGGER_KEYS)})")
        book_when = None
        if spec.get("book_when") is not None:
            expression = self._expression(("trigger", "book_when"), "trigger.book_when", spec["book_when"], var_names)
            if expression is not None:
                book_when = Condition("book_when", expression, self.origin(("trigger", "book_when"), "trigger.book_when"))
        status = None
        if spec.get("status") is not None:
            status = self._expression(("trigger", "status"), "trigger.status", spec["status"], var_names)
        skips: list[Condition] = []
        skip_spec = spec.get("skip_when") or {}
        if not isinstance(skip_spec, dict):
            self.problem(("trigger", "skip_when"), "trigger.skip_when",
                         "needs named conditions, e.g. {test order: 'order.test'}")
            skip_spec = {}
        for name, source in skip_spec.items():
            if source is None:
                continue
            path = ("trigger", "skip_when", name)
            expression = self._expression(path, f"trigger.skip_when.{name}", source, var_names)
            if expression is not None:
                skips.append(Condition(text_of(name), expression, self.origin(path, f"trigger.skip_when.{name}")))
        return Trigger(book_when, tuple(skips), status)

    def _rule_spec(self, name: str, spec: Any) -> dict[str, Any] | None:
        if spec is None:
            return None
        if not isinstance(spec, dict):
            self.problem(("rules", name), f"rules.{name}", "needs its settings as key: value lines")
            return None
        for key in spec:
            if key not in RULES[name]:
                self.problem(("rules", name, key), f"rules.{name}",
                             f"unknown key {suggest(text_of(key), RULES[name])}"
                             f"(known: {', '.join(RULES[name])})")
        return spec

    def _address(self, spec: Any, tables: dict[str, Table], var_names: tuple[str, ...]) -> AddressRule | None:
        spec = self._rule_spec("address", spec)
        if spec is None:
            return None
        rule = "rules.address"
        before = len(self.problems)
        sources = spec.get("from")
        if isinstance(sources, str):
            sources = [sources]
        parts: list[Expression] = []
        if not isinstance(sources, list) or not sources:
            self.problem(("rules", "address"), rule, "from: needs a list of expressions (address1, address2, ...)")
        else:
            for index, source in enumerate(sources):
                expression = self._expression(("rules", "address", "from", index), rule, source, var_names)
                if expression is not None:
                    parts.append(expression)
        into = spec.get("into", list(DEFAULT_ADDRESS_INTO))
        if not isinstance(into, list) or not into:
            self.problem(("rules", "address", "into"), rule, "into: needs a list of JNE address fields")
            into = []
        for name in into:
            if name not in BY_NAME:
                self.problem(("rules", "address", "into"), rule,
                             f"unknown JNE field {suggest(text_of(name), FIELD_NAMES)}")
        limits = [BY_NAME[n].max_bytes or 85 for n in into if n in BY_NAME]
        max_bytes = spec.get("max_bytes", min(limits) if limits else 85)
        if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 10:
            self.problem(("rules", "address", "max_bytes"), rule, "max_bytes: needs a whole number of at least 10")
        elif limits and max_bytes > min(limits):
            self.problem(("rules", "address", "max_bytes"), rule,
                         f"max_bytes: {max_bytes} is more than JNE takes ({min(limits)})")
        filler = spec.get("filler", "-")
        if isinstance(filler, list | dict) or not text_of(filler).strip():
            self.problem(("rules", "address", "filler"), rule, "filler: needs a non-blank text such as '-'")
        steps = self._steps(("rules", "address", "then"), rule, spec.get("then"), tables)
        if len(self.problems) > before or steps is None:
            return None
        return AddressRule(self.origin(("rules", "address"), rule), tuple(parts), tuple(into), max_bytes,
                           steps, text_of(filler))

    def _cod(self, spec: Any, var_names: tuple[str, ...]) -> cod_rule.CodRule | None:
        spec = self._rule_spec("cod", spec)
        if spec is None:
            return None
        found: dict[str, Expression | None] = {}
        for key in ("when", "amount"):
            if spec.get(key) is None:
                self.problem(("rules", "cod"), "rules.cod", f"{key}: is required")
                found[key] = None
            else:
                found[key] = self._expression(("rules", "cod", key), "rules.cod", spec[key], var_names)
        if found["when"] is None or found["amount"] is None:
            return None
        return cod_rule.CodRule(self.origin(("rules", "cod"), "rules.cod"), found["when"], found["amount"])

    def _batam(self, spec: Any, tables: dict[str, Table], var_names: tuple[str, ...]) -> batam_rule.BatamRule | None:
        spec = self._rule_spec("batam", spec)
        if spec is None:
            return None
        rule = "rules.batam"
        before = len(self.problems)
        compiled: dict[str, Expression | None] = {}
        per_line = ("hs_code", "sku", "line_name", "price", "quantity")
        for key, default in BATAM_DEFAULTS.items():
            roots = (*ROOT_NAMES, "line") if key in per_line else ROOT_NAMES
            compiled[key] = self._expression(("rules", "batam", key), rule, spec.get(key, default), var_names, roots)
        when = None
        if spec.get("when") is not None:
            when = self._expression(("rules", "batam", "when"), rule, spec["when"], var_names, (*ROOT_NAMES, "fields"))
        sku_table: Table | None = None
        table_name = spec.get("sku_table", "hs_codes" if "hs_codes" in tables else None)
        if table_name is not None:
            if table_name not in tables:
                self.problem(("rules", "batam", "sku_table"), rule,
                             f"unknown table {text_of(table_name)!r} (known: {', '.join(sorted(tables)) or 'none'})")
            else:
                sku_table = tables[table_name]
        max_codes = spec.get("max_codes", 5)
        if isinstance(max_codes, bool) or not isinstance(max_codes, int) or not 1 <= max_codes <= 5:
            self.problem(("rules", "batam", "max_codes"), rule, "max_codes: needs a whole number from 1 to 5 "
                                                                 "(JNE takes at most five HS codes)")
        if len(self.problems) > before:
            return None
        e = {k: v for k, v in compiled.items() if v is not None}
        return batam_rule.BatamRule(
            origin=self.origin(("rules", "batam"), rule), when=when, lines=e["lines"], hs_code=e["hs_code"],
            sku=e["sku"], sku_table=sku_table, line_name=e["line_name"], price=e["price"],
            quantity=e["quantity"], tax=e["tax"], item_type=e["item_type"], npwp=e["npwp"], max_codes=max_codes)

    def _pickup(self, spec: Any, var_names: tuple[str, ...]) -> PickupRule | None:
        spec = self._rule_spec("pickup", spec)
        if spec is None:
            return None
        source = self._expression(("rules", "pickup", "from"), "rules.pickup", spec.get("from", "store.pickup"),
                                  var_names, tuple(r for r in ROOT_NAMES if r != "pickup"))
        if source is None:
            return None
        return PickupRule(self.origin(("rules", "pickup"), "rules.pickup"), source)

    def _conflicts(self, fields: list[ValueRule], address: AddressRule | None, cod: cod_rule.CodRule | None,
                   batam: batam_rule.BatamRule | None) -> None:
        produced: dict[str, str] = {}
        if address is not None:
            produced.update({name: "rules.address" for name in address.into})
        if cod is not None:
            produced.update({name: "rules.cod" for name in cod_rule.OUTPUTS})
        if batam is not None:
            produced.update({name: "rules.batam" for name in BATAM_FIELDS})
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
            table, problems = load_table(name, table_path, keys, value)
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
