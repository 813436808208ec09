"""Named transforms of a rule's ``then:`` pipeline, with their load-time argument checks.

A step is written as a name (``upper``) or a one-key object with its argument (``{max_bytes: 30}``).
Each transform takes the value so far and returns the next one; a value it cannot honestly turn
into what JNE takes raises ``Reject`` with a problem code and its parameters, which the engine
files under the field (never garbage, never a traceback). Blank values pass through unchanged except
for ``default`` and ``required``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from typing import Any

import phonenumbers

from integration.mapping.files.tables import LookupMiss, Table, normalise_key
from integration.mapping.language.values import (
    NOT_MONEY,
    NotANumber,
    Refusal,
    decimal_text,
    is_blank,
    number_codes,
    parse_decimal,
    shown,
    text_of,
    whole_rupiah,
)
from integration.problems import define
from integration.text import cut_bytes, decode_entities


class Reject(Refusal):
    """The value cannot become what JNE takes: a problem code and its parameters (``str()``: English)."""


# "got a list/an object where <something> was expected", by (kind, what was expected)
_KINDS = {"list": ("a list", "sebuah daftar"), "object": ("an object", "sebuah objek")}
_EXPECTED = {"text": ("text", "teks"), "phone": ("a phone number", "nomor telepon"),
             "postal_code": ("a postal code", "kode pos")}
GOT_WRONG_KIND = {
    (kind, what): define(f"value.got_{kind}.{what}", en=f"got {kind_en} {{value}}, expected {what_en}",
                         id=f"berisi {kind_id} {{value}}, padahal yang diharapkan {what_id}")
    for kind, (kind_en, kind_id) in _KINDS.items() for what, (what_en, what_id) in _EXPECTED.items()}
PHONE_TOO_LONG = define("transform.phone.too_long", en="{value} is not a phone number (too long)",
                        id="{value} bukan nomor telepon (terlalu panjang)")
NOT_A_PHONE = define("transform.phone.invalid", en="{value} is not a phone number",
                     id="{value} bukan nomor telepon yang sah")
# weights, per unit the transform reads
_UNITS = {"grams": ("grams", "gram"), "kg": ("kilograms", "kilogram")}
NOT_A_WEIGHT = {unit: number_codes(f"transform.weight.{unit}", f"is not a weight in {en}", f"bukan berat dalam {id_}")
                for unit, (en, id_) in _UNITS.items()}
NEGATIVE_WEIGHT = {unit: define(f"transform.weight.{unit}.negative", en=f"{{value}} is not a weight in {en} (negative)",
                                id=f"{{value}} bukan berat dalam {id_} (negatif)")
                   for unit, (en, id_) in _UNITS.items()}
ZERO_WEIGHT = {unit: define(f"transform.weight.{unit}.zero", en=f"{{value}} {en} is not above zero; JNE needs a weight",
                            id=f"{{value}} {id_} tidak lebih dari nol; JNE memerlukan berat")
               for unit, (en, id_) in _UNITS.items()}
HUGE_WEIGHT = {unit: define(f"transform.weight.{unit}.too_big", en=f"{{value}} {en} is more than JNE's NUMBER(10,3) holds",
                            id=f"{{value}} {id_} melebihi yang muat di NUMBER(10,3) milik JNE")
               for unit, (en, id_) in _UNITS.items()}
NEGATIVE_MONEY = define("transform.money.negative", en="{value} is a negative amount",
                        id="{value} adalah jumlah negatif")
IMPLAUSIBLE_MONEY = define("transform.money.implausible", en="{value} is not a plausible amount of rupiah",
                           id="{value} bukan jumlah rupiah yang masuk akal")
NOT_A_QUANTITY = number_codes("transform.quantity", "is not a quantity", "bukan jumlah barang")
ZERO_QUANTITY = define("transform.quantity.zero", en="{value} is not above zero; JNE needs at least one item",
                       id="{value} tidak lebih dari nol; JNE memerlukan paling sedikit satu barang")
HUGE_QUANTITY = define("transform.quantity.too_big", en="{value} does not fit JNE's NUMBER(10,3)",
                       id="{value} tidak muat di NUMBER(10,3) milik JNE")
NOT_A_POSTAL_CODE = define("transform.postal_code.invalid", en="{value} is not a 5-digit postal code (kode pos)",
                           id="{value} bukan kode pos 5 angka")
BLANK = define("transform.required.blank", en="no value (blank)", id="tidak ada nilai (kosong)")
NOT_IN_MAP = define("transform.map.missing", en="{value} is not in the map (known: {known})",
                    id="{value} tidak ada di daftar map (yang dikenal: {known})")


@dataclass(frozen=True)
class Step:
    """One configured transform of a pipeline."""

    name: str
    arg: Any
    fn: Callable[[Any, Any], Any]

    def __call__(self, value: Any) -> Any:
        return self.fn(value, self.arg)


ArgParser = Callable[[Any, dict[str, Any], dict[str, Table]], Any]  # raises ValueError with a message


@dataclass(frozen=True)
class Transform:
    """A named transform: its function, how its argument is checked, and a one-line summary."""

    name: str
    fn: Callable[[Any, Any], Any]
    parse_arg: ArgParser
    summary: str
    extra_keys: tuple[str, ...] = ()


def _text(value: Any, what: str = "text") -> str | None:
    """The text of a scalar, None for blank; a list or object is refused, not stringified."""
    if value is None:
        return None
    if isinstance(value, list | dict):
        kind = "list" if isinstance(value, list) else "object"
        raise Reject(GOT_WRONG_KIND[kind, what], value=shown(value))
    return text_of(value)


# -- text -------------------------------------------------------------------------------------

def _upper(value: Any, _: Any) -> Any:
    text = _text(value)
    return text if text is None else text.upper()


def _lower(value: Any, _: Any) -> Any:
    text = _text(value)
    return text if text is None else text.lower()


def _trim(value: Any, _: Any) -> Any:
    text = _text(value)
    return text if text is None else " ".join(text.split())


_KEEP_PUNCT = frozenset(".,-/#&()'")
_LOOKALIKES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u02bc": "'", "`": "'", "\u00b4": "'",
                             "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-",
                             "\u2212": "-", "\u00a0": " ", "\u2044": "/"})


_PLAIN = re.compile(r"[A-Za-z0-9 .,\-/#&()']*")


def _decode_entities(value: Any, _: Any) -> Any:
    text = _text(value)
    return text if text is None else decode_entities(text)


def _strip_unsupported(value: Any, _: Any) -> Any:
    text = _text(value)
    if text is None:
        return None
    if "&" in text:  # WooCommerce sends names HTML-escaped ("Kopi &amp; Teh"): JNE must get "Kopi & Teh"
        text = decode_entities(text)
    if _PLAIN.fullmatch(text):  # the usual case: nothing to drop
        return " ".join(text.split())
    text = unicodedata.normalize("NFC", text).translate(_LOOKALIKES)
    # Whether a character stays depends on the character alone: decide once per distinct character
    # and drop the others in one pass (a loop per character made a 2 MB address take seconds).
    # Whitespace of any kind stays: the split below turns each run of it into one space.
    dropped = sorted(ch for ch in set(text) if not _kept(ch))
    if dropped:
        text = re.sub("[" + "".join(map(re.escape, dropped)) + "]+", "", text)
    return " ".join(text.split())


def _kept(ch: str) -> bool:
    """Whether strip_unsupported keeps one character (whitespace counts as kept: it becomes a space)."""
    if ch.isspace() or ch in _KEEP_PUNCT:
        return True
    cat = unicodedata.category(ch)
    # Letters (accented too) and their combining marks, and decimal digits; not emoji,
    # symbols, control or private-use characters, which JNE's forms garble or refuse.
    return cat[0] in "LM" or cat == "Nd"


def _max_bytes(value: Any, limit: int) -> Any:
    text = _text(value)
    if text is None:
        return None
    if len(text) <= limit and text.isascii():
        return text
    # between words where a boundary fits ("KOPI GAYO, FRENCH" not "KOPI GAYO, FRENCH PR"); a
    # character is at least one byte, so a huge text is never encoded whole
    return cut_bytes(text[: limit + 1], limit).rstrip()


def _digits(value: Any, _: Any) -> Any:
    text = _text(value)
    return text if text is None else re.sub(r"[^0-9]", "", text)


_NOT_ALNUM = re.compile(r"[^A-Z0-9]+")


def _alnum_upper(value: Any, _: Any) -> Any:
    text = _text(value)
    if text is None:
        return None
    plain = text.upper() if text.isascii() else unicodedata.normalize("NFKD", text).upper()
    return _NOT_ALNUM.sub("", plain)


# -- phone ------------------------------------------------------------------------------------

def _phone(value: Any, region: str) -> Any:
    text = _text(value, "phone")
    if text is None or not text.strip():
        return None
    if len(text) > 40:
        raise Reject(PHONE_TOO_LONG, value=shown(text))
    number = _parse_phone(text, region)
    if number is None:
        raise Reject(NOT_A_PHONE, value=shown(text))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


_ID_NUMBER = re.compile(r"(?:\+?62|0)([1-9]\d{6,12})")


def _parse_phone(text: str, region: str) -> phonenumbers.PhoneNumber | None:
    compact = re.sub(r"[\s\-().]", "", text)
    if region == "ID":
        # The everyday forms (08.., 62.., +62..) need no full parse; validity is still the library's.
        match = _ID_NUMBER.fullmatch(compact)
        if match:
            number = phonenumbers.PhoneNumber(country_code=62, national_number=int(match.group(1)))
            if phonenumbers.is_valid_number(number):
                return number
    candidates = [text]
    code = str(phonenumbers.country_code_for_region(region))
    if compact.isdigit() and compact.startswith(code) and not compact.startswith("0"):
        candidates.append("+" + compact)  # "6281..." is "+6281...", the plus was lost
    for candidate in candidates:
        try:
            number = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return number
    return None


# -- numbers ----------------------------------------------------------------------------------

def _weight(value: Any, mode: str, grams: bool) -> Any:
    if is_blank(value):
        return None
    unit = "grams" if grams else "kg"
    try:
        amount = parse_decimal(value)
    except NotANumber as exc:
        raise Reject(NOT_A_WEIGHT[unit][exc.why], value=shown(value)) from None
    if amount < 0:
        raise Reject(NEGATIVE_WEIGHT[unit], value=shown(value))
    kg = amount / 1000 if grams else amount
    if mode == "ceil":
        whole = max(Decimal(1), kg.to_integral_value(rounding=ROUND_CEILING))
    elif mode == "round":
        whole = max(Decimal(1), kg.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    else:
        whole = kg.quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)
        if whole <= 0:
            raise Reject(ZERO_WEIGHT[unit], value=shown(value))
    if whole >= Decimal(10) ** 7:
        raise Reject(HUGE_WEIGHT[unit], value=shown(value))
    return decimal_text(whole)


def _grams_to_kg(value: Any, mode: str) -> Any:
    return _weight(value, mode, grams=True)


def _kg(value: Any, mode: str) -> Any:
    return _weight(value, mode, grams=False)


def _money(value: Any, _: Any) -> Any:
    if is_blank(value):
        return None
    try:
        amount = parse_decimal(value)
    except NotANumber as exc:
        raise Reject(NOT_MONEY[exc.why], value=shown(value)) from None
    if amount < 0:
        raise Reject(NEGATIVE_MONEY, value=shown(value))
    if amount >= Decimal(10) ** 15:
        raise Reject(IMPLAUSIBLE_MONEY, value=shown(value))
    return decimal_text(whole_rupiah(amount))


def _quantity(value: Any, _: Any) -> Any:
    if type(value) is int and 0 < value < 10_000_000:
        return str(value)  # the usual sum of item counts
    if is_blank(value):
        return None
    try:
        amount = parse_decimal(value)
    except NotANumber as exc:
        raise Reject(NOT_A_QUANTITY[exc.why], value=shown(value)) from None
    if amount <= 0:
        raise Reject(ZERO_QUANTITY, value=shown(value))
    rounded = amount.quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)
    if rounded >= Decimal(10) ** 7 or rounded <= 0:
        raise Reject(HUGE_QUANTITY, value=shown(value))
    return decimal_text(rounded)


def _postal_code(value: Any, _: Any) -> Any:
    text = _text(value, "postal_code")
    if text is None or not text.strip():
        return None
    code = re.sub(r"[\s.-]", "", text)
    if not (len(code) == 5 and code.isascii() and code.isdigit()):
        raise Reject(NOT_A_POSTAL_CODE, value=shown(text))
    return code


# -- blanks, tables, maps ---------------------------------------------------------------------

def _default(value: Any, fallback: str) -> Any:
    return fallback if is_blank(value) else value


def _required(value: Any, _: Any) -> Any:
    if is_blank(value):
        raise Reject(BLANK)
    return value


def _lookup(value: Any, tables: tuple[Table, ...]) -> Any:
    if is_blank(value):
        return None
    # Several tables are tried in order (an owner's few extra rows before JNE's list); when none
    # has a row, the message of the last one tried is shown.
    for table in tables[:-1]:
        try:
            return table.lookup(value)
        except LookupMiss:
            continue
    try:
        return tables[-1].lookup(value)
    except LookupMiss as miss:
        raise Reject(miss.code, **miss.params) from None


@dataclass(frozen=True)
class InlineMap:
    """The argument of ``map``: normalised key -> answer, and an optional default."""

    entries: dict[str, str]
    default: str | None
    shown_keys: str


def _map(value: Any, table: InlineMap) -> Any:
    if is_blank(value):
        return None
    found = table.entries.get(normalise_key(_text(value)))
    if found is not None:
        return found
    if table.default is not None:
        return table.default
    raise Reject(NOT_IN_MAP, value=shown(value), known=table.shown_keys)


# -- argument checks --------------------------------------------------------------------------

def _no_arg(arg: Any, extra: dict[str, Any], tables: dict[str, Table]) -> Any:
    if arg is not None:
        raise ValueError("takes no argument")
    return None


def _positive_int(arg: Any, extra: dict[str, Any], tables: dict[str, Table]) -> int:
    if isinstance(arg, bool) or not isinstance(arg, int) or arg < 1:
        raise ValueError(f"needs a whole number of bytes above 0, got {text_of(arg)!r}")
    return arg


def _region(arg: Any, extra: dict[str, Any], tables: dict[str, Table]) -> str:
    region = "ID" if arg is None else text_of(arg).upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"needs a country code such as ID, got {text_of(arg)!r}")
    return region


def _rounding(arg: Any, extra: dict[str, Any], tables: dict[str, Table]) -> str:
    mode = "ceil" if arg is None else text_of(arg)
    if mode not in ("ceil", "round", "exact"):
        raise ValueError(f"needs ceil, round or exact, got {text_of(arg)!r}")
    return mode


def _fallback(arg: Any, extra: dict[str, Any], tables: dict[str, Table]) -> str:
    if arg is None or isinstance(arg, list | dict) or is_blank(arg):
        raise ValueError("needs the text to use when the value is blank, e.g. {default: '-'}")
    return text_of(arg)


def _table_name(arg: Any, extra: dict[str, Any], tables: dict[str, Table]) -> tuple[Table, ...]:
    names = arg if isinstance(arg, list) and arg else [arg]
    for name in names:
        if not isinstance(name, str) or not name.strip():
            raise ValueError("needs a table name, e.g. {lookup: destinations}, or names tried in order, "
                             "e.g. {lookup: [my_destinations, destinations]}")
        if name not in tables:
            known = ", ".join(sorted(tables)) or "none declared under tables:"
            raise ValueError(f"unknown table {name!r}{_close(name, tables)} (known: {known})")
    return tuple(tables[name] for name in names)


def _close(name: str, known: Any) -> str:
    import difflib

    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f", did you mean {close[0]!r}?" if close else ""


def _inline_map(arg: Any, extra: dict[str, Any], tables: dict[str, Table]) -> InlineMap:
    if not isinstance(arg, dict) or not arg:
        raise ValueError("needs entries, e.g. {map: {JK: DKI JAKARTA}}")
    entries: dict[str, str] = {}
    for key, answer in arg.items():
        if isinstance(answer, list | dict) or answer is None:
            raise ValueError(f"entry {text_of(key)!r} needs a text answer")
        entries[normalise_key(key)] = text_of(answer)
    fallback = extra.get("default")
    if isinstance(fallback, list | dict):
        raise ValueError("default: needs a text")
    keys = ", ".join(text_of(k) for k in list(arg)[:12]) + (", ..." if len(arg) > 12 else "")
    return InlineMap(entries, None if fallback is None else text_of(fallback), keys)


TRANSFORMS: dict[str, Transform] = {t.name: t for t in (
    Transform("upper", _upper, _no_arg, "UPPER CASE"),
    Transform("lower", _lower, _no_arg, "lower case"),
    Transform("trim", _trim, _no_arg, "remove outer spaces and collapse inner runs of spaces"),
    Transform("decode_entities", _decode_entities, _no_arg,
              "HTML entities to the characters meant: &amp; -> &, &ndash; -> \u2013 (WooCommerce escapes names)"),
    Transform("strip_unsupported", _strip_unsupported, _no_arg,
              "decode HTML entities, then drop characters JNE cannot take (emoji, symbols, control "
              "characters); keep letters, digits, spaces and . , - / # & ( ) '"),
    Transform("max_bytes", _max_bytes, _positive_int,
              "cut to N UTF-8 bytes between words (inside a word only when one word is longer)"),
    Transform("digits", _digits, _no_arg, "keep the digits 0-9 only"),
    Transform("alnum_upper", _alnum_upper, _no_arg, "keep A-Z and 0-9 only, upper case"),
    Transform("phone", _phone, _region, "a phone number in +62... form (argument: country, default ID)"),
    Transform("grams_to_kg", _grams_to_kg, _rounding, "grams to kilograms: ceil (default), round or exact"),
    Transform("kg", _kg, _rounding, "a weight already in kilograms: ceil (default), round or exact"),
    Transform("money", _money, _no_arg, "an amount to whole rupiah (half up), e.g. '185000.00' -> 185000"),
    Transform("quantity", _quantity, _no_arg, "a number of items above 0, at most 3 decimals"),
    Transform("postal_code", _postal_code, _no_arg, "a 5-digit Indonesian postal code (spaces, dots, dashes dropped)"),
    Transform("default", _default, _fallback, "use this text when the value is blank"),
    Transform("required", _required, _no_arg, "a blank value is an error"),
    Transform("lookup", _lookup, _table_name, "look the value up in a CSV table (or several, tried in order)"),
    Transform("map", _map, _inline_map, "look the value up in an inline list of entries", ("default",)),
)}


def build_step(spec: Any, tables: dict[str, Table]) -> tuple[Step | None, str | None]:
    """Turn one ``then:`` item into a Step, or None and the problem."""
    if isinstance(spec, str):
        name, arg, extra = spec.strip(), None, {}
    elif isinstance(spec, dict) and spec:
        name = next(iter(spec))
        if not isinstance(name, str):
            return None, f"a step needs a transform name, got {text_of(name)!r}"
        arg, extra = spec[name], {k: v for k, v in spec.items() if k != name}
    else:
        return None, ("a step is a transform name or {name: argument}, got "
                      f"{text_of(spec)[:40]!r}")
    transform = TRANSFORMS.get(name)
    if transform is None:
        return None, f"unknown transform {name!r} (known: {', '.join(TRANSFORMS)})"
    unknown = [k for k in extra if k not in transform.extra_keys]
    if unknown:
        return None, (f"{name}: unexpected key(s) {', '.join(repr(text_of(k)) for k in unknown)} in one step "
                      "(write each transform as its own list item)")
    try:
        parsed = transform.parse_arg(arg, extra, tables)
    except ValueError as exc:
        return None, f"{name}: {exc}"
    return Step(name, parsed, transform.fn), None


def run_pipeline(value: Any, steps: tuple[Step, ...]) -> Any:
    """Apply the steps in order; raises Reject from the first step that refuses the value."""
    for step in steps:
        value = step(value)
    return value


_MEMO_SIZE = 1024
_MEMO_TEXT = 300  # longer texts are rare repeats; not worth keeping


def _memo_key(value: Any) -> tuple[Any, ...] | None:
    kind = type(value)
    if kind is str:
        return (str, value) if len(value) <= _MEMO_TEXT else None
    if kind in (int, bool, float) or value is None:
        return (kind, value)  # the type keeps 1, 1.0 and True apart
    return None


def run_memoized(value: Any, steps: tuple[Step, ...], memo: dict[tuple[Any, ...], tuple[bool, Any]]) -> Any:
    """``run_pipeline`` remembering recent answers per rule.

    Transforms are pure (tables never change after load), and many inputs repeat from order to
    order: every store fact, shipping titles, cities. Phone parsing and character filtering are the
    costly steps this saves. The memo is bounded and simply starts over when full.
    """
    key = _memo_key(value)
    if key is None:
        return run_pipeline(value, steps)
    hit = memo.get(key)
    if hit is not None:
        rejected, answer = hit
        if rejected:
            code, params = answer
            raise Reject(code, **params)
        return answer
    if len(memo) >= _MEMO_SIZE:
        memo.clear()
    try:
        answer = run_pipeline(value, steps)
    except Reject as exc:
        memo[key] = (True, (exc.code, exc.params))
        raise
    memo[key] = (False, answer)
    return answer


