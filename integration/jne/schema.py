"""The Cerberus schema of JNE's pickup/cashless API, and the validator that knows JNE's rules.

``booking_problems(fields)`` returns every problem at once as :class:`~integration.problems.Problem`
values (a code and its parameters, rendered in English or Bahasa Indonesia by
``integration.problems``); ``validate_booking(fields)`` gives the same in English as
``{FIELD: [message, ...]}``. Empty means JNE's document has nothing against the booking. The words
are written for store owners: they name the field, show the value (shortened) and say what JNE
accepts. Problems are only built when something is wrong: a valid booking costs what it did.

Speed: Cerberus' ``Validator.validate(doc, schema)`` and the normalization pass both rebuild and
re-hash the schema on every call (about 2 ms). Here the schema is checked once at import, each
thread keeps one validator built on that checked schema, and documents are validated with
``normalize=False`` (the schema has no normalization rules), which costs a few hundred µs.
``benchmarks/bench_schema.py`` prints the figure.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

import cerberus
from cerberus import errors as cerberus_errors

from integration.jne.fields import BATAM_FIELDS, BY_NAME, CREDENTIAL_FIELDS, FIELD_NAMES, is_batam
from integration.problems import Problem, define, messages

__all__ = ["SCHEMA", "BookingValidator", "as_form", "booking_problems", "form_value", "validate_booking"]

# Values are shown in messages up to this many characters: enough to recognise an address.
_SHOW_CHARS = 40

_NUMBER = re.compile(r"(-?)([0-9]+)(?:\.([0-9]+))?")
_DATE = re.compile(r"([0-9]{2})-([0-9]{2})-([0-9]{4})")
_TIME = re.compile(r"(?:[01][0-9]|2[0-3]):[0-5][0-9]")
_HS_CODE = re.compile(r"[0-9]+(?:\.[0-9]+)*")
_PATTERNS: dict[str, re.Pattern[str]] = {}

_BATAM_WHY = ("ORIGIN_CODE or DESTINATION_CODE starts with BTH", "ORIGIN_CODE atau DESTINATION_CODE diawali BTH")

NOT_TEXT = define("jne.not_text", en="{field} is {value} ({type}); JNE accepts text or a number",
                  id="{field} berisi {value} ({type}); JNE hanya menerima teks atau angka")
REQUIRED = define("jne.required", en="{field} is required and must not be blank",
                  id="{field} wajib diisi dan tidak boleh kosong")
CREDENTIAL_FIELD = define("jne.credential_field",
                          en="{field} is not a booking field; the JNE client adds the credentials itself",
                          id="{field} bukan kolom pemesanan; klien JNE menambahkan kredensialnya sendiri")
UNKNOWN_FIELD = define("jne.unknown_field", en="{field} is not a field of JNE's pickup API",
                       id="{field} bukan kolom API pickup JNE")
REFUSED = define("jne.refused", en="{field} is {value}; JNE refuses it ({rule})",
                 id="{field} berisi {value}; JNE menolaknya ({rule})")
BATAM_REQUIRED = define("jne.batam_required",
                        en=f"{{field}} is required for a shipment from or to Batam ({_BATAM_WHY[0]})",
                        id=f"{{field}} wajib diisi untuk kiriman dari atau ke Batam ({_BATAM_WHY[1]})")
COD_AMOUNT_REQUIRED = define("jne.cod_amount_required",
                             en="{field} is required when COD_FLAG is YES: the amount the courier collects",
                             id="{field} wajib diisi bila COD_FLAG YES: jumlah yang ditagih kurir")
COD_AMOUNT_ZERO = define("jne.cod_amount_zero",
                         en="{field} is {value}; JNE accepts only an amount above zero when COD_FLAG is YES",
                         id="{field} berisi {value}; JNE hanya menerima jumlah di atas nol bila COD_FLAG YES")
TOO_LONG = define("jne.too_long", en="{field} is {size} bytes; JNE accepts at most {limit}: {value}",
                  id="{field} berukuran {size} byte; JNE menerima paling banyak {limit} byte: {value}")
TOO_LONG_UTF8 = define("jne.too_long_utf8",
                       en="{field} is {size} bytes in UTF-8 ({chars} characters); JNE accepts at most {limit}: {value}",
                       id="{field} berukuran {size} byte dalam UTF-8 ({chars} karakter); JNE menerima paling "
                          "banyak {limit} byte: {value}")
NOT_A_DATE = define("jne.date_format", en="{field} is {value}; JNE accepts a date as DD-MM-YYYY, e.g. 31-01-2025",
                    id="{field} berisi {value}; JNE menerima tanggal dalam bentuk DD-MM-YYYY, misalnya 31-01-2025")
NOT_A_REAL_DATE = define("jne.date_unreal",
                         en="{field} is {value}, which is not a real date; JNE accepts a date as DD-MM-YYYY",
                         id="{field} berisi {value}, yang bukan tanggal sebenarnya; JNE menerima tanggal dalam "
                            "bentuk DD-MM-YYYY")
NOT_A_TIME = define("jne.time_format", en="{field} is {value}; JNE accepts a 24-hour time as HH:MM, e.g. 16:00",
                    id="{field} berisi {value}; JNE menerima jam 24 jam dalam bentuk HH:MM, misalnya 16:00")
NOT_DIGITS = define("jne.digits", en="{field} is {value}; JNE accepts exactly {count} digits",
                    id="{field} berisi {value}; JNE hanya menerima tepat {count} angka")
NOT_A_NUMBER = define("jne.not_number", en="{field} is {value}; JNE accepts a number written with digits and a dot "
                                           "for decimals, e.g. 1 or 0.25",
                      id="{field} berisi {value}; JNE menerima angka yang ditulis dengan digit dan titik untuk "
                         "desimal, misalnya 1 atau 0.25")
NOT_ABOVE = define("jne.not_above", en="{field} is {value}; JNE accepts only a number above {limit}",
                   id="{field} berisi {value}; JNE hanya menerima angka di atas {limit}")
BELOW_MIN = define("jne.below_min", en="{field} is {value}; JNE accepts only {limit} or more",
                   id="{field} berisi {value}; JNE hanya menerima {limit} atau lebih")
TOO_MANY_DIGITS = define("jne.int_digits",
                         en="{field} is {value}; JNE accepts at most {limit} digits before the decimal point",
                         id="{field} berisi {value}; JNE menerima paling banyak {limit} angka sebelum titik desimal")
TOO_MANY_DECIMALS = define("jne.decimals", en="{field} is {value}; JNE accepts at most {limit} decimals",
                           id="{field} berisi {value}; JNE menerima paling banyak {limit} angka desimal")
BATAM_ONLY = define("jne.batam_only",
                    en=f"{{field}} is {{value}}, but it is only sent for shipments from or to Batam ({_BATAM_WHY[0]}); "
                       "leave it out",
                    id=f"{{field}} berisi {{value}}, padahal kolom ini hanya dikirim untuk kiriman dari atau ke Batam "
                       f"({_BATAM_WHY[1]}); kosongkan")
HS_TOO_MANY = define("jne.hs_entries",
                     en="{field} has {count} entries; JNE accepts at most {limit} (group line items that share an "
                        "HS code)",
                     id="{field} berisi {count} entri; JNE menerima paling banyak {limit} (gabungkan barang yang "
                        "kode HS-nya sama)")
_HS_FORM = ("JNE accepts goods value;qty;hs_code, e.g. 1000000;1;4204",
            "JNE menerima nilai barang;jumlah;kode_hs, misalnya 1000000;1;4204")
HS_PARTS = define("jne.hs_entry.parts", en=f"{{field}} entry {{index}} {{entry}} has {{parts}} parts instead of 3; "
                                           f"{_HS_FORM[0]}",
                  id=f"{{field}} entri {{index}} {{entry}} terdiri dari {{parts}} bagian, bukan 3; {_HS_FORM[1]}")
HS_ONE_PART = define("jne.hs_entry.one_part", en=f"{{field}} entry {{index}} {{entry}} has 1 part instead of 3; "
                                                 f"{_HS_FORM[0]}",
                     id=f"{{field}} entri {{index}} {{entry}} terdiri dari 1 bagian, bukan 3; {_HS_FORM[1]}")
HS_VALUE = define("jne.hs_entry.value", en=f"{{field}} entry {{index}} {{entry}} has goods value {{value}}, not a "
                                           f"number of 0 or more; {_HS_FORM[0]}",
                  id=f"{{field}} entri {{index}} {{entry}} bernilai barang {{value}}, bukan angka 0 atau lebih; "
                     f"{_HS_FORM[1]}")
HS_QTY = define("jne.hs_entry.qty", en=f"{{field}} entry {{index}} {{entry}} has qty {{value}}, not a number above 0; "
                                       f"{_HS_FORM[0]}",
                id=f"{{field}} entri {{index}} {{entry}} berjumlah {{value}}, bukan angka di atas 0; {_HS_FORM[1]}")
HS_CODE = define("jne.hs_entry.code", en=f"{{field}} entry {{index}} {{entry}} has HS code {{value}}, not 4 to 10 "
                                         f"digits (dots allowed); {_HS_FORM[0]}",
                 id=f"{{field}} entri {{index}} {{entry}} berkode HS {{value}}, bukan 4 sampai 10 angka (boleh "
                    f"bertitik); {_HS_FORM[1]}")


def _show(value: object) -> str:
    """The value quoted for a message, shortened when long."""
    text = str(value)
    if len(text) > _SHOW_CHARS:
        text = text[: _SHOW_CHARS - 1] + "…"
    return repr(text)


def _blank(value: object) -> bool:
    return isinstance(value, str) and not value.strip()


def _number(value: str) -> tuple[Decimal, str, str] | None:
    """(value, integer digits, decimal digits) of plain decimal text such as "1", "0.25", "-3"."""
    match = _NUMBER.fullmatch(value)
    if match is None:
        return None
    return Decimal(value), match.group(2), match.group(3) or ""


def form_value(value: object) -> object:
    """The text a value is sent as: numbers in plain decimal notation, anything else unchanged."""
    # bool is an int subclass, but True is not a number JNE understands: the validator reports it.
    if isinstance(value, str | bool) or value is None:
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        value = Decimal(repr(value))  # repr is the shortest exact text; avoids 1e-05 notation
    if isinstance(value, Decimal):
        return format(value, "f")
    return value


def as_form(fields: Mapping[str, object]) -> dict[str, Any]:
    """The booking as it is form-posted: numbers as text, None values left out (requests drops them)."""
    return {name: form_value(value) for name, value in fields.items() if value is not None}


class BookingValidator(cerberus.Validator):
    """Cerberus validator with JNE's rules: UTF-8 byte limits, non-blank, dates, numbers, Batam.

    Build it once with a schema (``BookingValidator(SCHEMA)``) and reuse it through ``validate(doc)``:
    documents are validated without Cerberus' normalization pass. One instance per thread: a
    validator keeps the state of its last run. ``messages()`` gives the last run's problems.
    """

    # Cerberus reads each rule's constraint schema from the docstring of its _validate_* method.

    # Cerberus runs 'nullable' on every field of every document; as_form() drops None values before
    # validation, so that check can never fire here and only costs time (about 13 % of a run).
    mandatory_validations = ()

    def validate(self, document, schema=None, update=False, normalize=False):
        """Validate ``document`` (numbers accepted as text) and JNE's cross-field rules."""
        if isinstance(document, Mapping):
            document = as_form(document)
        super().validate(document, schema=schema, update=update, normalize=normalize)
        for field, value in self.document.items():
            # Checked here rather than with Cerberus' 'type' rule on every field: that rule cost
            # about 15 % of a run, and what can be form-posted is decided by as_form() anyway.
            # Unknown fields are reported already, without their value (it may be the api_key).
            if not isinstance(value, str) and field in self.schema:
                self._problem(field, NOT_TEXT, value=_show(value), type=type(value).__name__)
        if not update:
            self._check_booking(self.document)
        return not self._errors

    __call__ = validate

    def problems(self) -> list[Problem]:
        """The last run's problems, grouped by field in the document's order."""
        if not self._errors:
            return []
        found: dict[str, list[Problem]] = {}
        for error in self._errors:
            found.setdefault(error.field, []).append(self._as_problem(error))
        order = _FIELD_ORDER
        return [p for name in sorted(found, key=lambda n: (order.get(n, len(order)), n)) for p in found[name]]

    def messages(self) -> dict[str, list[str]]:
        """The last run's problems as English store-owner messages keyed by field, in the document's order."""
        return messages(self.problems())

    def _problem(self, field: str, code: str, **params: Any) -> None:
        """File a problem about ``field`` (Cerberus keeps it as a custom error)."""
        self._error(field, cerberus_errors.CUSTOM, Problem(field, code, {"field": field, **params}))

    @staticmethod
    def _as_problem(error: cerberus_errors.ValidationError) -> Problem:
        field = error.field
        if error.code == cerberus_errors.CUSTOM.code and isinstance(error.info[0], Problem):
            return error.info[0]
        if error.code == cerberus_errors.REQUIRED_FIELD.code:
            return Problem(field, REQUIRED, {"field": field})
        if error.code == cerberus_errors.UNKNOWN_FIELD.code:
            # Never echo the value: it may be the api_key.
            return Problem(field, CREDENTIAL_FIELD if field in CREDENTIAL_FIELDS else UNKNOWN_FIELD, {"field": field})
        return Problem(field, REFUSED, {"field": field, "value": _show(error.value), "rule": error.rule})

    def _check_booking(self, doc: Mapping[str, object]) -> None:
        """Rules that depend on more than one field, including ones about missing fields."""
        if is_batam(doc):
            for name in ("HS_CODE", "ITEM_TYPE"):
                if doc.get(name) is None or _blank(doc.get(name)):
                    self._problem(name, BATAM_REQUIRED)
        if doc.get("COD_FLAG") == "YES":
            amount = doc.get("COD_AMOUNT")
            if amount is None or _blank(amount):
                self._problem("COD_AMOUNT", COD_AMOUNT_REQUIRED)
            elif isinstance(amount, str) and (parsed := _number(amount)) and parsed[0] == 0:
                self._problem("COD_AMOUNT", COD_AMOUNT_ZERO, value=_show(amount))

    # --- field rules; each skips blank values: the nonblank rule reports those once ---

    def _validate_nonblank(self, nonblank, field, value):
        """{'type': 'boolean'}"""
        if nonblank and _blank(value):
            self._problem(field, REQUIRED)

    def _validate_max_bytes(self, limit, field, value):
        """{'type': 'integer', 'min': 1}"""
        if not isinstance(value, str) or (_blank(value) and self.schema[field].get("nonblank")):
            return  # a blank mandatory value gets one message, from the nonblank rule
        size = len(value.encode("utf-8"))
        if size > limit:
            if size == len(value):
                self._problem(field, TOO_LONG, size=size, limit=limit, value=_show(value))
            else:
                self._problem(field, TOO_LONG_UTF8, size=size, chars=len(value), limit=limit, value=_show(value))

    def _validate_dmy_date(self, enabled, field, value):
        """{'type': 'boolean'}"""
        if not enabled or not isinstance(value, str) or _blank(value):
            return
        match = _DATE.fullmatch(value)
        if match is None:
            self._problem(field, NOT_A_DATE, value=_show(value))
            return
        day, month, year = (int(part) for part in match.groups())
        try:
            date(year, month, day)
        except ValueError:
            self._problem(field, NOT_A_REAL_DATE, value=_show(value))

    def _validate_hm_time(self, enabled, field, value):
        """{'type': 'boolean'}"""
        if enabled and isinstance(value, str) and not _blank(value) and _TIME.fullmatch(value) is None:
            self._problem(field, NOT_A_TIME, value=_show(value))

    def _validate_digits(self, count, field, value):
        """{'type': 'integer', 'min': 1}"""
        if (isinstance(value, str) and not _blank(value)
                and (len(value) != count or not value.isascii() or not value.isdigit())):
            self._problem(field, NOT_DIGITS, value=_show(value), count=count)

    def _validate_number(self, rule, field, value):
        """{'type': 'dict', 'schema': {'above': {'type': 'number'}, 'min': {'type': 'number'},
            'int_digits': {'type': 'integer'}, 'decimals': {'type': 'integer'}}}"""
        if not isinstance(value, str) or _blank(value):
            return
        parsed = _number(value)
        if parsed is None:
            self._problem(field, NOT_A_NUMBER, value=_show(value))
            return
        number, int_digits, decimals = parsed
        if "above" in rule and not number > rule["above"]:
            self._problem(field, NOT_ABOVE, value=_show(value), limit=rule["above"])
        if "min" in rule and number < rule["min"]:
            self._problem(field, BELOW_MIN, value=_show(value), limit=rule["min"])
        if "int_digits" in rule and len(int_digits.lstrip("0")) > rule["int_digits"]:
            self._problem(field, TOO_MANY_DIGITS, value=_show(value), limit=rule["int_digits"])
        if "decimals" in rule and len(decimals) > rule["decimals"]:
            self._problem(field, TOO_MANY_DECIMALS, value=_show(value), limit=rule["decimals"])

    def _validate_choice(self, choice, field, value):
        """{'type': 'dict', 'schema': {'values': {'type': 'list', 'required': True},
            'any_case': {'type': 'boolean'}, 'say': {'type': 'list', 'required': True}}}"""
        if not isinstance(value, str) or _blank(value):
            return
        candidate = value.upper() if choice.get("any_case") else value
        if candidate not in choice["values"]:
            self._problem(field, _ACCEPTS[field], value=_show(value))

    def _validate_pattern(self, pattern, field, value):
        """{'type': 'dict', 'schema': {'regex': {'type': 'string', 'required': True},
            'say': {'type': 'list', 'required': True}}}"""
        if not isinstance(value, str) or _blank(value):
            return
        compiled = _PATTERNS.get(pattern["regex"])
        if compiled is None:
            compiled = _PATTERNS.setdefault(pattern["regex"], re.compile(pattern["regex"]))
        if compiled.fullmatch(value) is None:
            self._problem(field, _ACCEPTS[field], value=_show(value))

    def _validate_batam_only(self, enabled, field, value):
        """{'type': 'boolean'}"""
        # A blank value is tolerated: store defaults such as npwp: "" must not block ordinary orders.
        if enabled and not _blank(value) and not is_batam(self.document):
            self._problem(field, BATAM_ONLY, value=_show(value))

    def _validate_hs_code(self, max_entries, field, value):
        """{'type': 'integer', 'min': 1}"""
        if not isinstance(value, str) or _blank(value):
            return
        entries = value.split(",")
        if len(entries) > max_entries:
            self._problem(field, HS_TOO_MANY, count=len(entries), limit=max_entries)
        for index, entry in enumerate(entries, 1):
            for code, params in _hs_entry_problems(entry):
                self._problem(field, code, index=index, entry=_show(entry), **params)


def _hs_entry_problems(entry: str) -> list[tuple[str, dict[str, Any]]]:
    """What is wrong with one "value;qty;hs_code" entry: problem codes and their parameters."""
    parts = entry.split(";")
    if len(parts) != 3:
        return [(HS_ONE_PART, {})] if len(parts) == 1 else [(HS_PARTS, {"parts": len(parts)})]
    value, qty, code = parts
    problems: list[tuple[str, dict[str, Any]]] = []
    parsed_value = _number(value)
    if parsed_value is None or parsed_value[0] < 0:
        problems.append((HS_VALUE, {"value": _show(value)}))
    parsed_qty = _number(qty)
    if parsed_qty is None or not parsed_qty[0] > 0:
        problems.append((HS_QTY, {"value": _show(qty)}))
    digits = sum(ch.isdigit() for ch in code)
    if _HS_CODE.fullmatch(code) is None or not 4 <= digits <= 10:
        problems.append((HS_CODE, {"value": _show(code)}))
    return problems


# Field-specific rules on top of what fields.FIELDS says (required, byte limit, kind).
# PICKUP_SERVICE: the document describes Domestic, Intracity or All, but its own example request
# sends "REG" (the service code) and JNE's test server books it. We accept the three documented
# values in any case plus exactly "REG", so the example stays valid while a typo or another
# service code still gets a message naming the documented values.
# "say" is what JNE accepts, in English and in Bahasa Indonesia.
_EXTRA_RULES: dict[str, dict[str, Any]] = {
    "PICKUP_SERVICE": {"choice": {"values": ["DOMESTIC", "INTRACITY", "ALL", "REG"], "any_case": True,
                                  "say": ["Domestic, Intracity or All", "Domestic, Intracity atau All"]}},
    "PICKUP_VEHICLE": {"choice": {"values": ["MOTOR", "MOBIL", "TRUCK"], "any_case": True,
                                  "say": ["MOTOR, MOBIL or TRUCK (any case)",
                                          "MOTOR, MOBIL atau TRUCK (huruf besar atau kecil)"]}},
    "ORDER_ID": {"pattern": {"regex": "[A-Z0-9]{1,20}",
                             "say": ["1 to 20 capital letters A-Z and digits 0-9, nothing else",
                                     "1 sampai 20 huruf besar A-Z dan angka 0-9, tanpa karakter lain"]}},
    "SHIPPER_ZIP": {"digits": 5},
    "RECEIVER_ZIP": {"digits": 5},
    "RETURN_ZIP": {"digits": 5},
    # NUMBER(10,3): ten digits of which three after the point, so at most seven before it.
    "WEIGHT": {"number": {"above": 0, "int_digits": 7, "decimals": 3}},
    "QTY": {"number": {"above": 0, "int_digits": 7, "decimals": 3}},
    "TYPE": {"choice": {"values": ["DROP", "PICKUP"], "say": ["DROP or PICKUP", "DROP atau PICKUP"]}},
    "INSURANCE_FLAG": {"choice": {"values": ["Y", "N"], "say": ["Y or N", "Y atau N"]}},
    "COD_FLAG": {"choice": {"values": ["YES", "NO"], "say": ["YES or NO", "YES atau NO"]}},
    "ITEM_TYPE": {"choice": {"values": ["1", "2", "3", "4", "5"], "say": ["1, 2, 3, 4 or 5", "1, 2, 3, 4 atau 5"]}},
    "HS_CODE": {"hs_code": 5},
}
# One problem code per field with a choice or a pattern: "FIELD is 'x'; JNE accepts <say>".
_ACCEPTS: dict[str, str] = {
    name: define(f"jne.accepts.{name}", en=f"{{field}} is {{value}}; JNE accepts {say[0]}",
                 id=f"{{field}} berisi {{value}}; JNE hanya menerima {say[1]}")
    for name, rules in _EXTRA_RULES.items() for kind in ("choice", "pattern") if kind in rules
    for say in [rules[kind]["say"]]}


def _rules_for(name: str) -> dict[str, Any]:
    field = BY_NAME[name]
    rules: dict[str, Any] = {"required": field.required}
    if field.required:
        rules["nonblank"] = True
    if field.max_bytes is not None:
        rules["max_bytes"] = field.max_bytes
    if field.kind == "date":
        rules["dmy_date"] = True
    elif field.kind == "time":
        rules["hm_time"] = True
    elif field.kind == "number":
        rules["number"] = {"min": 0}  # amounts; WEIGHT and QTY are stricter below
    if field.batam:
        rules["batam_only"] = True
    rules.update(_EXTRA_RULES.get(name, {}))
    return rules


_unknown = set(_EXTRA_RULES) - set(FIELD_NAMES)
if _unknown:  # a typo here would silently drop a rule
    raise RuntimeError(f"schema rules for fields that JNE's document does not have: {sorted(_unknown)}")
if set(BATAM_FIELDS) != {"TAX_VALUE", "ITEM_TYPE", "HS_CODE", "NPWP"}:
    raise RuntimeError(f"unexpected Batam fields in fields.py: {BATAM_FIELDS}")

SCHEMA: dict[str, dict[str, Any]] = {name: _rules_for(name) for name in FIELD_NAMES}
_FIELD_ORDER = {name: index for index, name in enumerate(FIELD_NAMES)}

# Checked once here (raises cerberus.SchemaError if a rule is wrong); every thread's validator
# shares this checked DefinitionSchema, which validation only reads.
_CHECKED_SCHEMA = BookingValidator(SCHEMA).schema
_local = threading.local()


def _validator() -> BookingValidator:
    validator = getattr(_local, "validator", None)
    if validator is None:
        validator = _local.validator = BookingValidator(_CHECKED_SCHEMA)
    return validator


def booking_problems(fields: Mapping[str, object]) -> list[Problem]:
    """Every problem JNE's rules find in a booking, grouped by field; empty when it is valid."""
    validator = _validator()
    if validator.validate(fields):
        return []
    return validator.problems()


def validate_booking(fields: Mapping[str, object]) -> dict[str, list[str]]:
    """Every problem JNE's rules find in a booking as English messages keyed by field; empty when valid."""
    validator = _validator()
    if validator.validate(fields):
        return {}
    return validator.messages()
