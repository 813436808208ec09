"""The destination rule: the country check, then DESTINATION_CODE, RECEIVER_CITY and RECEIVER_REGION.

1. Country first: an address the order places outside Indonesia is never booked as domestic. It
   gets the problem "outside Indonesia" under RECEIVER_COUNTRY (unless the trigger skips such
   orders), and no destination is looked for: a US zip 15417 is not Tangerang's.
2. The destination: the store's resolver (``integration.destinations``: the owner's overrides, the
   store's own ``lookups.destinations`` table when its configuration names one, then JNE's synced
   list through Kemendagri's regions) answers one code, several candidates (a problem carrying
   them as ``candidates: [{code, name}]`` with the ``zip`` and ``district`` a choice is kept
   under, which the dashboard lists to pick from), or none (a problem saying what the address was
   understood as).
3. RECEIVER_CITY from the region dataset when the address is in one kota/kabupaten ("JAKARTA
   SELATAN", not "KOTA ADMINISTRASI JA"), else the order's own city text without KOTA/KABUPATEN;
   both cut between words to JNE's 20 bytes. RECEIVER_REGION is the province as JNE writes it,
   from the region dataset, else from the order's province name or code.

The store's files come from ``store.destination_files`` (integration.yaml sets it: the synced list
of the store's JNE account, or ``embedded``, and the overrides file); the resolver is built once per
process and rebuilt when a file changes (``integration.destinations.cache``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from integration.config import DESTINATION_FILES
from integration.destinations.cache import Unusable, resolver_for
from integration.destinations.country import in_indonesia
from integration.destinations.names import city_name
from integration.destinations.resolver import region_name
from integration.jne.fields import BY_NAME
from integration.mapping.files.tables import LookupMiss, Table
from integration.mapping.language.expressions import EXPRESSION_FAILED_IN, Expression, ExpressionError
from integration.mapping.language.values import text_of
from integration.mapping.rules.base import Applied, ConfiguredRule, LoadContext, RuleKind
from integration.problems import Origin, Problem, define

CODE, CITY, REGION, COUNTRY = "DESTINATION_CODE", "RECEIVER_CITY", "RECEIVER_REGION", "RECEIVER_COUNTRY"
OUTPUTS = (CODE, CITY, REGION)
PARTS = ("zip", "city", "district", "province", "address", "country_code", "country")

LIST_UNUSABLE = define("destination.list_unusable", en="{reason}", id="{reason}")
NO_CITY = define(
    "rule.destination.no_city",
    en="the address names no city, and postal code {zip} is not in Kemendagri's list to give one",
    id="alamat tidak menyebut kota, dan kode pos {zip} tidak ada di daftar Kemendagri untuk menentukannya")
NOT_A_PROVINCE = define(
    "rule.destination.not_a_province",
    en="province {value} is not an Indonesian province (a name such as Jawa Barat or a code such as JB), and "
       "postal code {zip} does not give one",
    id="provinsi {value} bukan provinsi Indonesia (nama seperti Jawa Barat atau kode seperti JB), dan kode pos "
       "{zip} tidak menunjukkannya")
NO_PROVINCE = define(
    "rule.destination.no_province",
    en="the address names no province, and postal code {zip} does not give one",
    id="alamat tidak menyebut provinsi, dan kode pos {zip} tidak menunjukkannya")


def _text(value: Any) -> str:
    """One line of text from an order value; lists and objects are no text."""
    if value is None or isinstance(value, list | dict):
        return ""
    return " ".join(text_of(value).split())


def table_function(table: Table):
    """The mapping table as the resolver's store table, answering as ``{lookup: destinations}`` did."""
    def lookup(postal: str, city: str, district: str) -> str | None:
        query = {k: v for k, v in (("zip", postal), ("city", city), ("district", district)) if v}
        try:
            return table.lookup(query)
        except LookupMiss:
            return None

    return lookup


@dataclass(frozen=True)
class DestinationRule(ConfiguredRule):
    """The configured rule: where the address parts are, and the store's own table (if any)."""

    name = "destination"
    origin: Origin
    parts: tuple[tuple[str, tuple[Expression, ...]], ...]   # (part, its expressions) for the parts given
    table: Any = None                                         # the resolver's store table, or None
    city_bytes: int = 20
    region_bytes: int = 20

    @property
    def outputs(self) -> tuple[str, ...]:
        """DESTINATION_CODE, RECEIVER_CITY and RECEIVER_REGION."""
        return OUTPUTS

    @property
    def covers(self) -> dict[str, tuple[str, ...]]:
        """An address abroad stands for every receiver place field and the phone; an unresolved one for the city and region."""
        return {COUNTRY: (*OUTPUTS, "RECEIVER_ZIP", "RECEIVER_PHONE"), CODE: (CITY, REGION)}

    def apply(self, scope: dict[str, Any], values: dict[str, str], now: datetime) -> Applied:
        """The three fields for this order, and the problems."""
        got: dict[str, str] = {}
        for part, expressions in self.parts:
            texts = []
            for expression in expressions:
                try:
                    raw = expression.evaluate(scope)
                except ExpressionError as exc:
                    return {}, [Problem(CODE, EXPRESSION_FAILED_IN, {"expression": expression.source,
                                                                      "error": str(exc)}, self.origin)]
                for item in raw if isinstance(raw, list) else [raw]:
                    text = _text(item)
                    if text:
                        texts.append(text)
            got[part] = " ".join(texts)
        postal, province = got.get("zip", ""), got.get("province", "")
        if "country_code" in got or "country" in got:
            verdict = in_indonesia(got.get("country_code"), got.get("country"), postal, province)
            if not verdict.inside:
                problem = verdict.problem(COUNTRY)
                assert problem is not None
                return {}, [Problem(problem.key, problem.code, problem.params, self.origin)]
        store = scope.get("store")
        files = store.get(DESTINATION_FILES) if isinstance(store, dict) else None
        files = files if isinstance(files, dict) else {}
        resolver = resolver_for(_text(files.get("list")) or None, _text(files.get("overrides")) or None, self.table)
        if isinstance(resolver, Unusable):
            return {}, [Problem(CODE, LIST_UNUSABLE, {"reason": resolver.reason}, self.origin)]
        resolution = resolver.resolve(postal, got.get("city", ""), got.get("district", ""), province,
                                      got.get("address", ""))
        out: dict[str, str] = {}
        problems: list[Problem] = []
        if resolution.found and resolution.code:
            out[CODE] = resolution.code
        else:
            problem = resolution.problem(CODE)
            if problem is not None:
                problems.append(Problem(problem.key, problem.code, problem.params, self.origin))
        city = (resolver.regions.receiver_city(resolution.city, self.city_bytes) if resolution.city is not None
                else city_name(got.get("city", ""), resolver.regions.shared_bases, self.city_bytes)
                if got.get("city") else "")
        if city:
            out[CITY] = city
        elif not problems:
            problems.append(Problem(CITY, NO_CITY, {"zip": postal or "-"}, self.origin))
        known = resolution.province or (resolver.regions.province_of(province) if province else None)
        if known:
            out[REGION] = region_name(known)[: self.region_bytes].strip()
        elif not problems:
            code, params = (NOT_A_PROVINCE, {"value": repr(province)}) if province else (NO_PROVINCE, {})
            problems.append(Problem(REGION, code, {**params, "zip": postal or "-"}, self.origin))
        return out, problems


def parse(settings: dict[str, Any], ctx: LoadContext) -> DestinationRule | None:
    """Compile the address parts (each an expression or a list of them) and find the store's table."""
    parts: list[tuple[str, tuple[Expression, ...]]] = []
    for part in PARTS:
        spec = settings[part]
        if spec is None:
            continue
        sources = spec if isinstance(spec, list) else [spec]
        compiled = []
        for index, source in enumerate(sources):
            at = (part, index) if isinstance(spec, list) else (part,)
            expression = ctx.expression(source, *at)
            if expression is not None:
                compiled.append(expression)
        parts.append((part, tuple(compiled)))
    if not any(part == "zip" for part, _ in parts) and not any(part == "city" for part, _ in parts):
        ctx.problem("needs at least zip: or city: (the order's postal code and city)")
    table_name = settings["table"]
    if not isinstance(table_name, str) or not table_name.strip():
        ctx.problem("table: needs a table name (the store's own zip,city,district,code table), e.g. destinations",
                    "table")
    if ctx.failed:
        return None
    # The table is consulted only when there is one by that name: a store's lookups.destinations
    # (integration.yaml) or a table the mapping itself declares. The default mappings declare none.
    table = ctx.tables.get(table_name.strip())
    limits = {name: BY_NAME[name].max_bytes or 20 for name in (CITY, REGION)}
    return DestinationRule(ctx.origin(), tuple(parts), table_function(table) if table is not None else None,
                           limits[CITY], limits[REGION])


KIND = RuleKind(
    name="destination",
    settings={**{part: None for part in PARTS}, "table": "destinations"},
    fills=OUTPUTS,
    parse=parse,
)
