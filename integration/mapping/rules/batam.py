"""The Batam customs rule: HS_CODE, TAX_VALUE, ITEM_TYPE and NPWP for shipments from or to Batam.

Batam is a free-trade zone, so JNE needs a customs declaration: each HS code with the goods value
and quantity ("value;qty;code", comma-separated, at most five codes and 300 bytes). Lines are
grouped by HS code (in order of first appearance) before counting, so ten kinds of coffee under
one code are one entry. A line without an HS code, or more than five codes, is an error that names
the lines: the owner must add the code or split the shipment, never guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from integration.jne.fields import BATAM_FIELDS
from integration.mapping.files.tables import LookupMiss, Table
from integration.mapping.language.expressions import (
    EXPRESSION_FAILED,
    ROOT_NAMES,
    Expression,
    ExpressionError,
    is_false,
)
from integration.mapping.language.values import (
    NOT_MONEY,
    NotANumber,
    decimal_text,
    is_blank,
    parse_decimal,
    shown,
    text_of,
    whole_rupiah,
)
from integration.mapping.rules.base import Applied, ConfiguredRule, LoadContext, RuleKind
from integration.problems import Origin, Problem, define

OUTPUTS = BATAM_FIELDS
_IMPLAUSIBLE = Decimal(10) ** 15  # rupiah: far above any parcel, far below Decimal's precision
_HS_CODE = re.compile(r"^\d{4}(\.?\d{1,4}){0,3}$")  # and 4 to 10 digits, as JNE's schema says
# The defaults fit both platforms: Shopify line ``properties`` and WooCommerce ``meta_data`` are
# both lists of name/key + value entries, and WooCommerce lines have no requires_shipping at all.
DEFAULTS = {
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
_PER_LINE = ("hs_code", "sku", "line_name", "price", "quantity")  # expressions that see ``line``

WHEN_FAILED = define("rule.batam.when_failed", en="the batam 'when' expression failed on this order: {error}",
                     id="ekspresi 'when' aturan batam gagal pada pesanan ini: {error}")
NO_LINES = define("rule.batam.no_lines", en="no line items to declare from {expression}",
                  id="tidak ada barang untuk dideklarasikan dari {expression}")
NOT_AN_HS_CODE = define("rule.batam.not_hs_code",
                        en="{value} of line {line} is not an HS code (4 to 10 digits and dots, e.g. 0901.21)",
                        id="{value} pada barang {line} bukan kode HS (4 sampai 10 angka dan titik, "
                           "misalnya 0901.21)")
NO_PRICE = define("rule.batam.no_price", en="line {line} has no numeric price and quantity",
                  id="barang {line} tidak punya harga dan jumlah berupa angka")
IMPLAUSIBLE_LINE = define("rule.batam.implausible_line", en="line {line} has quantity {quantity} and price {price}",
                          id="barang {line} berjumlah {quantity} dengan harga {price}")
NO_HS_CODE = define("rule.batam.missing_hs_code",
                    en="no HS code for line(s) {lines}: give the product an 'HS Code' property",
                    id="tidak ada kode HS untuk barang {lines}: beri produknya properti 'HS Code'")
NO_HS_CODE_OR_SKU = define(
    "rule.batam.missing_hs_code_table",
    en="no HS code for line(s) {lines}: give the product an 'HS Code' property or add its sku to {file}",
    id="tidak ada kode HS untuk barang {lines}: beri produknya properti 'HS Code' atau tambahkan sku-nya ke {file}")
TOO_MANY_CODES = define(
    "rule.batam.too_many_codes",
    en="{count} different HS codes, JNE takes at most {limit} per shipment ({listed}): split the order into shipments",
    id="{count} kode HS berbeda, JNE menerima paling banyak {limit} per kiriman ({listed}): pecah pesanan "
       "menjadi beberapa kiriman")
TOO_LONG = define("rule.batam.too_long", en="{value} is {size} bytes, JNE takes at most {limit}: split the order",
                  id="{value} berukuran {size} byte, JNE menerima paling banyak {limit} byte: pecah pesanannya")
NEGATIVE_TAX = define("rule.batam.negative_tax", en="the tax {value} is negative", id="pajak {value} negatif")
NOT_TEXT = define("rule.batam.not_text", en="got {value}, expected text",
                  id="berisi {value}, padahal yang diharapkan teks")
NO_ITEM_TYPE = define("rule.batam.no_item_type", en="no item type from {expression} (1-5; set store batam.item_type)",
                      id="tidak ada jenis barang dari {expression} (1-5; isi batam.item_type di blok toko)")


@dataclass(frozen=True)
class BatamRule(ConfiguredRule):
    """The configured Batam rule (expressions compiled at load)."""

    name = "batam"
    origin: Origin
    when: Expression | None  # None: origin or destination code starts with BTH
    lines: Expression
    hs_code: Expression      # per line, ``line.*``
    sku: Expression
    sku_table: Table | None
    line_name: Expression
    price: Expression
    quantity: Expression
    tax: Expression
    item_type: Expression
    npwp: Expression
    max_codes: int = 5
    max_bytes: int = 300

    @property
    def outputs(self) -> tuple[str, ...]:
        """HS_CODE, TAX_VALUE, ITEM_TYPE and NPWP."""
        return OUTPUTS

    def apply(self, scope: dict[str, Any], values: dict[str, str], now: datetime) -> Applied:
        """The customs fields when the shipment needs them (nothing otherwise), and the problems."""
        try:
            if not applies(self, scope, values):
                return {}, []
        except ExpressionError as exc:
            return {}, [Problem("HS_CODE", WHEN_FAILED, {"error": str(exc)}, self.origin)]
        return declare(self, scope)


def _label(name: Any, sku: Any) -> str:
    title = " ".join(text_of(name).split())[:40] or "-"
    code = " ".join(text_of(sku).split())[:30] or "-"
    return f"{title!r} (sku {code})"


def _names(labels: list[str], limit: int = 6) -> str:
    shown = ", ".join(labels[:limit])
    return shown + (f" +{len(labels) - limit}" if len(labels) > limit else "")


def applies(rule: BatamRule, scope: dict[str, Any], fields: dict[str, str]) -> bool:
    """Whether this shipment needs the customs fields; raises ExpressionError from ``when``."""
    if rule.when is None:
        return any(fields.get(k, "").strip().upper().startswith("BTH") for k in ("ORIGIN_CODE", "DESTINATION_CODE"))
    return not is_false(rule.when.evaluate({**scope, "fields": fields}))


def declare(rule: BatamRule, scope: dict[str, Any]) -> Applied:
    """The four customs fields and the problems."""
    out: dict[str, str] = {}
    problems: list[Problem] = []

    def fail(field: str, code: str, **params: Any) -> None:
        problems.append(Problem(field, code, params, rule.origin))

    try:
        hs_code = _hs_code(rule, scope)
    except ExpressionError as exc:
        fail("HS_CODE", EXPRESSION_FAILED, error=str(exc))
    else:
        if isinstance(hs_code, str):
            out["HS_CODE"] = hs_code
        else:
            problems.extend(Problem("HS_CODE", code, params, rule.origin) for code, params in hs_code)

    try:
        tax = rule.tax.evaluate(scope)
        if is_blank(tax):
            out["TAX_VALUE"] = "0"  # an order without a tax amount carries no tax
        else:
            amount = whole_rupiah(parse_decimal(tax))
            if amount < 0:
                fail("TAX_VALUE", NEGATIVE_TAX, value=repr(text_of(tax)[:30]))
            else:
                out["TAX_VALUE"] = decimal_text(amount)
    except NotANumber as exc:
        fail("TAX_VALUE", NOT_MONEY[exc.why], value=repr(text_of(tax)[:30]))
    except ExpressionError as exc:
        fail("TAX_VALUE", EXPRESSION_FAILED, error=str(exc))

    for field, expression in (("ITEM_TYPE", rule.item_type), ("NPWP", rule.npwp)):
        try:
            value = expression.evaluate(scope)
        except ExpressionError as exc:
            fail(field, EXPRESSION_FAILED, error=str(exc))
            continue
        if isinstance(value, list | dict):
            fail(field, NOT_TEXT, value=repr(text_of(value)[:40]))
        elif not is_blank(value):
            out[field] = " ".join(text_of(value).split())
        elif field == "ITEM_TYPE":
            fail(field, NO_ITEM_TYPE, expression=expression.source)
    return out, problems


def _hs_code(rule: BatamRule, scope: dict[str, Any]) -> str | list[tuple[str, dict[str, Any]]]:
    """The HS_CODE text, or the problems (code and parameters)."""
    lines = rule.lines.evaluate(scope)
    if not isinstance(lines, list) or not lines:
        return [(NO_LINES, {"expression": rule.lines.source})]
    groups: dict[str, list[Any]] = {}  # code -> [value, qty, labels]; dicts keep first-seen order
    missing: list[str] = []
    problems: list[tuple[str, dict[str, Any]]] = []
    for item in lines:
        line_scope = {**scope, "line": item}
        sku = rule.sku.evaluate(line_scope)
        label = _label(rule.line_name.evaluate(line_scope), sku)
        code_raw = rule.hs_code.evaluate(line_scope)
        if is_blank(code_raw) and rule.sku_table is not None and not is_blank(sku):
            try:
                code_raw = rule.sku_table.lookup(sku)
            except LookupMiss:
                code_raw = None
        if is_blank(code_raw) or isinstance(code_raw, list | dict):
            missing.append(label)
            continue
        code = "".join(text_of(code_raw).split())
        if not _HS_CODE.match(code) or not 4 <= sum(ch.isdigit() for ch in code) <= 10:
            problems.append((NOT_AN_HS_CODE, {"value": repr(text_of(code_raw)[:30]), "line": label}))
            continue
        try:
            price = parse_decimal(rule.price.evaluate(line_scope))
            qty = parse_decimal(rule.quantity.evaluate(line_scope))
        except NotANumber:
            problems.append((NO_PRICE, {"line": label}))
            continue
        if qty <= 0 or price < 0 or price * qty >= _IMPLAUSIBLE:
            problems.append((IMPLAUSIBLE_LINE, {"line": label, "quantity": decimal_text(qty),
                                                "price": decimal_text(price)}))
            continue
        group = groups.setdefault(code, [Decimal(0), Decimal(0), []])
        group[0] += price * qty
        group[1] += qty
        group[2].append(label)
    if missing:
        if rule.sku_table is not None:
            problems.append((NO_HS_CODE_OR_SKU, {"lines": _names(missing), "file": rule.sku_table.file_name}))
        else:
            problems.append((NO_HS_CODE, {"lines": _names(missing)}))
    if len(groups) > rule.max_codes:
        listed = "; ".join(f"{code}: {_names(g[2], 3)}" for code, g in groups.items())
        problems.append((TOO_MANY_CODES, {"count": len(groups), "limit": rule.max_codes, "listed": listed}))
    if problems:
        return problems
    text = ",".join(f"{decimal_text(whole_rupiah(v))};{decimal_text(q)};{code}" for code, (v, q, _) in groups.items())
    size = len(text.encode("utf-8"))
    if size > rule.max_bytes:
        return [(TOO_LONG, {"value": shown(text), "size": size, "limit": rule.max_bytes})]
    return text


def parse(settings: dict[str, Any], ctx: LoadContext) -> BatamRule | None:
    """Compile the rule's expressions, find its SKU table, check ``max_codes``."""
    compiled: dict[str, Expression | None] = {}
    for key in DEFAULTS:
        roots = (*ROOT_NAMES, "line") if key in _PER_LINE else ROOT_NAMES
        compiled[key] = ctx.expression(settings[key], key, roots=roots)
    when = None
    if settings["when"] is not None:
        when = ctx.expression(settings["when"], "when", roots=(*ROOT_NAMES, "fields"))
    sku_table: Table | None = None
    table_name = settings["sku_table"]
    if table_name is None and "hs_codes" in ctx.tables:
        table_name = "hs_codes"
    if table_name is not None:
        if table_name not in ctx.tables:
            known = ", ".join(sorted(ctx.tables)) or "none"
            ctx.problem(f"unknown table {text_of(table_name)!r} (known: {known})", "sku_table")
        else:
            sku_table = ctx.tables[table_name]
    max_codes = settings["max_codes"]
    if isinstance(max_codes, bool) or not isinstance(max_codes, int) or not 1 <= max_codes <= 5:
        ctx.problem("max_codes: needs a whole number from 1 to 5 (JNE takes at most five HS codes)", "max_codes")
    if ctx.failed:
        return None
    e = {k: v for k, v in compiled.items() if v is not None}
    return BatamRule(
        origin=ctx.origin(), when=when, lines=e["lines"], hs_code=e["hs_code"], sku=e["sku"], sku_table=sku_table,
        line_name=e["line_name"], price=e["price"], quantity=e["quantity"], tax=e["tax"],
        item_type=e["item_type"], npwp=e["npwp"], max_codes=max_codes)


KIND = RuleKind(
    name="batam",
    settings={"when": None, **DEFAULTS, "sku_table": None, "max_codes": 5},
    fills=OUTPUTS,
    parse=parse,
)
