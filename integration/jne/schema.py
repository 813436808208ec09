"""The Cerberus schema of JNE's pickup/cashless API, and the validator that knows JNE's rules.

``validate_booking(fields)`` returns every problem at once as ``{FIELD: [message, ...]}``; an empty
dict means JNE's document has nothing against the booking. Messages are written for store owners:
they name the field, show the value (shortened) and say what JNE accepts.

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

__all__ = ["SCHEMA", "BookingValidator", "as_form", "form_value", "validate_booking"]

# Values are shown in messages up to this many characters: enough to recognise an address.
_SHOW_CHARS = 40

_NUMBER = re.compile(r"(-?)([0-9]+)(?:\.([0-9]+))?")
_DATE = re.compile(r"([0-9]{2})-([0-9]{2})-([0-9]{4})")
_TIME = re.compile(r"(?:[01][0-9]|2[0-3]):[0-5][0-9]")
_HS_CODE = re.compile(r"[0-9]+(?:\.[0-9]+)*")
_PATTERNS: dict[str, re.Pattern[str]] = {}

_BATAM_WHY = "ORIGIN_CODE or DESTINATION_CODE starts with BTH"


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
                self._error(field, f"{field} is {_show(value)} ({type(value).__name__}); "
                                   "JNE accepts text or a number")
        if not update:
            self._check_booking(self.document)
        return not self._errors

    __call__ = validate

    def messages(self) -> dict[str, list[str]]:
        """The last run's problems as store-owner messages keyed by field, in the document's order."""
        found: dict[str, list[str]] = {}
        for error in self._errors:
            found.setdefault(error.field, []).append(self._message(error))
        order = _FIELD_ORDER
        return {name: found[name] for name in sorted(found, key=lambda n: (order.get(n, len(order)), n))}

    def _message(self, error: cerberus_errors.ValidationError) -> str:
        field = error.field
        if error.code == cerberus_errors.CUSTOM.code:
            return str(error.info[0])
        if error.code == cerberus_errors.REQUIRED_FIELD.code:
            return f"{field} is required and must not be blank"
        if error.code == cerberus_errors.UNKNOWN_FIELD.code:
            # Never echo the value: it may be the api_key.
            if field in CREDENTIAL_FIELDS:
                return f"{field} is not a booking field; the JNE client adds the credentials itself"
            return f"{field} is not a field of JNE's pickup API"
        return f"{field} is {_show(error.value)}; JNE refuses it ({error.rule})"

    def _check_booking(self, doc: Mapping[str, object]) -> None:
        """Rules that depend on more than one field, including ones about missing fields."""
        if is_batam(doc):
            for name in ("HS_CODE", "ITEM_TYPE"):
                if doc.get(name) is None or _blank(doc.get(name)):
                    self._error(name, f"{name} is required for a shipment from or to Batam ({_BATAM_WHY})")
        if doc.get("COD_FLAG") == "YES":
            amount = doc.get("COD_AMOUNT")
            if amount is None or _blank(amount):
                self._error("COD_AMOUNT", "COD_AMOUNT is required when COD_FLAG is YES: "
                                          "the amount the courier collects")
            elif isinstance(amount, str) and (parsed := _number(amount)) and parsed[0] == 0:
                self._error("COD_AMOUNT", f"COD_AMOUNT is {_show(amount)}; "
                                          "JNE accepts only an amount above zero when COD_FLAG is YES")

    # --- field rules; each skips blank values: the nonblank rule reports those once ---

    def _validate_nonblank(self, nonblank, field, value):
        """{'type': 'boolean'}"""
        if nonblank and _blank(value):
            self._error(field, f"{field} is required and must not be blank")

    def _validate_max_bytes(self, limit, field, value):
        """{'type': 'integer', 'min': 1}"""
        if not isinstance(value, str) or (_blank(value) and self.schema[field].get("nonblank")):
            return  # a blank mandatory value gets one message, from the nonblank rule
        size = len(value.encode("utf-8"))
        if size > limit:
            chars = "" if size == len(value) else f" in UTF-8 ({len(value)} characters)"
            self._error(field, f"{field} is {size} bytes{chars}; JNE accepts at most {limit}: {_show(value)}")

    def _validate_dmy_date(self, enabled, field, value):
        """{'type': 'boolean'}"""
        if not enabled or not isinstance(value, str) or _blank(value):
            return
        match = _DATE.fullmatch(value)
        if match is None:
            self._error(field, f"{field} is {_show(value)}; JNE accepts a date as DD-MM-YYYY, e.g. 31-01-2025")
            return
        day, month, year = (int(part) for part in match.groups())
        try:
            date(year, month, day)
        except ValueError:
            self._error(field, f"{field} is {_show(value)}, which is not a real date; "
                               "JNE accepts a date as DD-MM-YYYY")

    def _validate_hm_time(self, enabled, field, value):
        """{'type': 'boolean'}"""
        if enabled and isinstance(value, str) and not _blank(value) and _TIME.fullmatch(value) is None:
            self._error(field, f"{field} is {_show(value)}; JNE accepts a 24-hour time as HH:MM, e.g. 16:00")

    def _validate_digits(self, count, field, value):
        """{'type': 'integer', 'min': 1}"""
        if (isinstance(value, str) and not _blank(value)
                and (len(value) != count or not value.isascii() or not value.isdigit())):
            self._error(field, f"{field} is {_show(value)}; JNE accepts exactly {count} digits")

    def _validate_number(self, rule, field, value):
        """{'type': 'dict', 'schema': {'above': {'type': 'number'}, 'min': {'type': 'number'},
            'int_digits': {'type': 'integer'}, 'decimals': {'type': 'integer'}}}"""
        if not isinstance(value, str) or _blank(value):
            return
        parsed = _number(value)
        if parsed is None:
            self._error(field, f"{field} is {_show(value)}; JNE accepts a number written with digits "
                               "and a dot for decimals, e.g. 1 or 0.25")
            return
        number, int_digits, decimals = parsed
        if "above" in rule and not number > rule["above"]:
            self._error(field, f"{field} is {_show(value)}; JNE accepts only a number above {rule['above']}")
        if "min" in rule and number < rule["min"]:
            self._error(field, f"{field} is {_show(value)}; JNE accepts only {rule['min']} or more")
        if "int_digits" in rule and len(int_digits.lstrip("0")) > rule["int_digits"]:
            self._error(field, f"{field} is {_show(value)}; JNE accepts at most {rule['int_digits']} digits "
                               "before the decimal point")
        if "decimals" in rule and len(decimals) > rule["decimals"]:
            self._error(field, f"{field} is {_show(value)}; JNE accepts at most {rule['decimals']} decimals")

    def _validate_choice(self, choice, field, value):
        """{'type': 'dict', 'schema': {'values': {'type': 'list', 'required': True},
            'any_case': {'type': 'boolean'}, 'say': {'type': 'string', 'required': True}}}"""
        if not isinstance(value, str) or _blank(value):
            return
        candidate = value.upper() if choice.get("any_case") else value
        if candidate not in choice["values"]:
            self._error(field, f"{field} is {_show(value)}; JNE accepts {choice['say']}")

    def _validate_pattern(self, pattern, field, value):
        """{'type': 'dict', 'schema': {'regex': {'type': 'string', 'required': True},
            'say': {'type': 'string', 'required': True}}}"""
        if not isinstance(value, str) or _blank(value):
            return
        compiled = _PATTERNS.get(pattern["regex"])
        if compiled is None:
            compiled = _PATTERNS.setdefault(pattern["regex"], re.compile(pattern["regex"]))
        if compiled.fullmatch(value) is None:
            self._error(field, f"{field} is {_show(value)}; JNE accepts {pattern['say']}")

    def _validate_batam_only(self, enabled, field, value):
        """{'type': 'boolean'}"""
        # A blank value is tolerated: store defaults such as npwp: "" must not block ordinary orders.
        if enabled and not _blank(value) and not is_batam(self.document):
            self._error(field, f"{field} is {_show(value)}, but it is only sent for shipments from or to "
                               f"Batam ({_BATAM_WHY}); leave it out")

    def _validate_hs_code(self, max_entries, field, value):
        """{'type': 'integer', 'min': 1}"""
        if not isinstance(value, str) or _blank(value):
            return
        entries = value.split(",")
        if len(entries) > max_entries:
            self._error(field, f"{field} has {len(entries)} entries; JNE accepts at most {max_entries} "
                               "(group line items that share an HS code)")
        for index, entry in enumerate(entries, 1):
            for problem in _hs_entry_problems(entry):
                self._error(field, f"{field} entry {index} {_show(entry)} {problem}; JNE accepts "
                                   "goods value;qty;hs_code, e.g. 1000000;1;4204")


def _hs_entry_problems(entry: str) -> list[str]:
    """What is wrong with one "value;qty;hs_code" entry, in words."""
    parts = entry.split(";")
    if len(parts) != 3:
        return [f"has {len(parts)} part{'s' if len(parts) != 1 else ''} instead of 3"]
    value, qty, code = parts
    problems = []
    parsed_value = _number(value)
    if parsed_value is None or parsed_value[0] < 0:
        problems.append(f"has goods value {_show(value)}, not a number of 0 or more")
    parsed_qty = _number(qty)
    if parsed_qty is None or not parsed_qty[0] > 0:
        problems.append(f"has qty {_show(qty)}, not a number above 0")
    digits = sum(ch.isdigit() for ch in code)
    if _HS_CODE.fullmatch(code) is None or not 4 <= digits <= 10:
        problems.append(f"has HS code {_show(code)}, not 4 to 10 digits (dots allowed)")
    return problems


# Field-specific rules on top of what fields.FIELDS says (required, byte limit, kind).
# PICKUP_SERVICE: the document describes Domestic, Intracity or All, but its own example request
# sends "REG" (the service code) and JNE's test server books it. We accept the three documented
# values in any case plus exactly "REG", so the example stays valid while a typo or another
# service code still gets a message naming the documented values.
_EXTRA_RULES: dict[str, dict[str, Any]] = {
    "PICKUP_SERVICE": {"choice": {"values": ["DOMESTIC", "INTRACITY", "ALL", "REG"], "any_case": True,
                                  "say": "Domestic, Intracity or All"}},
    "PICKUP_VEHICLE": {"choice": {"values": ["MOTOR", "MOBIL", "TRUCK"], "any_case": True,
                                  "say": "MOTOR, MOBIL or TRUCK (any case)"}},
    "ORDER_ID": {"pattern": {"regex": "[A-Z0-9]{1,20}",
                             "say": "1 to 20 capital letters A-Z and digits 0-9, nothing else"}},
    "SHIPPER_ZIP": {"digits": 5},
    "RECEIVER_ZIP": {"digits": 5},
    "RETURN_ZIP": {"digits": 5},
    # NUMBER(10,3): ten digits of which three after the point, so at most seven before it.
    "WEIGHT": {"number": {"above": 0, "int_digits": 7, "decimals": 3}},
    "QTY": {"number": {"above": 0, "int_digits": 7, "decimals": 3}},
    "TYPE": {"choice": {"values": ["DROP", "PICKUP"], "say": "DROP or PICKUP"}},
    "INSURANCE_FLAG": {"choice": {"values": ["Y", "N"], "say": "Y or N"}},
    "COD_FLAG": {"choice": {"values": ["YES", "NO"], "say": "YES or NO"}},
    "ITEM_TYPE": {"choice": {"values": ["1", "2", "3", "4", "5"], "say": "1, 2, 3, 4 or 5"}},
    "HS_CODE": {"hs_code": 5},
}


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


def validate_booking(fields: Mapping[str, object]) -> dict[str, list[str]]:
    """Every problem JNE's rules find in a booking, keyed by field; empty when it is valid."""
    validator = _validator()
    validator.validate(fields)
    return validator.messages()
