"""Small value helpers shared by expressions, transforms and rules: text forms, blanks, money.

Also the two shapes every part of the mapping uses to say what is wrong with a value:
:class:`Refusal` (an exception carrying a problem code and its parameters) and the codes for "not
a number", one per reason :class:`NotANumber` gives.
"""

from __future__ import annotations

import json
import math
import re
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation
from typing import Any

from integration.problems import Origin, Problem, define, render

# Enough digits that quantizing any amount a parser lets through cannot fail (the default 28 can).
_CONTEXT = Context(prec=100)
_SHOWN_MAX = 60  # characters of a value quoted in a message; huge strings must not flood the ledger


def is_blank(value: Any) -> bool:
    """True for null, "", whitespace-only text, [] and {}: what JNE would call an empty parameter."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | dict | tuple):
        return not value
    return False


def text_of(value: Any) -> str:
    """The text form of a JSON value: numbers without a spurious '.0', JSON for lists and objects."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return decimal_text(Decimal(repr(value)))
    if isinstance(value, Decimal):
        return decimal_text(value)
    try:
        return json.dumps(value, ensure_ascii=False, default=str, separators=(",", ":"))
    except (TypeError, ValueError, RecursionError):
        return str(type(value).__name__)


def decimal_text(value: Decimal) -> str:
    """A plain decimal string, never exponent notation: 185000, 1.35."""
    if not value.is_finite():
        return str(value)
    if value.is_zero():
        return "0"  # never "-0"
    if value == value.to_integral_value():
        return format(value.to_integral_value(), "f")  # exact at any size, unlike quantize
    return format(value.normalize(_CONTEXT), "f")


def shown(value: Any) -> str:
    """A value quoted for a store-owner message, shortened when long."""
    text = text_of(value)
    if len(text) > _SHOWN_MAX:
        text = text[:_SHOWN_MAX] + f"... ({len(text)} characters)"
    return repr(text)


_PLAIN_NUMBER = re.compile(r"^[-+]?(\d+(\.\d+)?|\.\d+)$")
_ID_GROUPED = re.compile(r"^[-+]?\d{1,3}(\.\d{3})+(,\d+)?$")      # 1.185.000 or 185.000,50
_EN_GROUPED = re.compile(r"^[-+]?\d{1,3}(,\d{3})+(\.\d+)?$")      # 1,185,000 or 185,000.50
_COMMA_DECIMAL = re.compile(r"^[-+]?\d+,\d{1,2}$")                # 185000,50


class Refusal(Exception):
    """Something wrong with a value, as a problem code and parameters; ``str()`` is the English words."""

    def __init__(self, code: str, **params: Any):
        super().__init__(code)
        self.code = code
        self.params = params

    def __str__(self) -> str:
        return render(Problem("", self.code, self.params))

    def problem(self, key: str, origin: Origin | None = None) -> Problem:
        """The refusal filed under a field or rule."""
        return Problem(key, self.code, self.params, origin)


# Why a text is not a number, in words; each reason is part of the codes ``number_codes`` defines.
_NUMBER_REASONS = {
    "not_number": ("not a number", "bukan angka"),
    "ambiguous": ("ambiguous: write 185000 or 185000.00", "ambigu: tulis 185000 atau 185000.00"),
    "too_long": ("too long to be an amount", "terlalu panjang untuk sebuah jumlah"),
}


class NotANumber(ValueError):
    """A value that is not a number a person would recognise; ``why`` is the reason's key, ``str()`` its words."""

    def __init__(self, why: str = "not_number"):
        super().__init__(_NUMBER_REASONS[why][0])
        self.why = why


def number_codes(prefix: str, en: str, id: str) -> dict[str, str]:  # noqa: A002 - the language's code
    """One problem code per reason a value is not a number: ``{value} <en> (<reason>)``, by ``why``."""
    return {why: define(f"{prefix}.{why}", en=f"{{value}} {en} ({reason_en})", id=f"{{value}} {id} ({reason_id})")
            for why, (reason_en, reason_id) in _NUMBER_REASONS.items()}


# An amount of money that is not one: filed by the money transform, the COD rule and the Batam tax.
NOT_MONEY = number_codes("value.not_money", "is not an amount of money", "bukan jumlah uang")


def parse_decimal(value: Any) -> Decimal:
    """Read a JSON number or a numeric text as Decimal (never through float arithmetic).

    Accepts "185000.00", 185000, 185000.5, "Rp 185.000,00", "1,185,000.00". Text that could be read
    two ways ("185.000" or "185,000": thousands or decimals?) is refused rather than guessed.
    """
    if isinstance(value, bool) or value is None or isinstance(value, list | dict):
        raise NotANumber()
    if isinstance(value, int | Decimal):
        number = Decimal(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise NotANumber()
        number = Decimal(repr(value))
    elif isinstance(value, str):
        number = _parse_text(value)
    else:
        raise NotANumber()
    if not number.is_finite():
        raise NotANumber()
    return number


def _parse_text(value: str) -> Decimal:
    text = value.strip()
    rupiah = re.match(r"^(?i:rp|idr)\.?\s*", text)
    text = text[rupiah.end():].replace(" ", "") if rupiah else text.replace(" ", "")
    if len(text) > 40:
        raise NotANumber("too_long")
    if re.fullmatch(r"[-+]?\d{1,3}[.,]\d{3}", text):
        if rupiah and "." in text:  # "Rp 185.000" is how Indonesians write thousands
            return Decimal(text.replace(".", ""))
        raise NotANumber("ambiguous")
    if _PLAIN_NUMBER.match(text):
        cleaned = text
    elif _ID_GROUPED.match(text):
        cleaned = text.replace(".", "").replace(",", ".")
    elif _EN_GROUPED.match(text):
        cleaned = text.replace(",", "")
    elif _COMMA_DECIMAL.match(text):
        cleaned = text.replace(",", ".")
    else:
        raise NotANumber()
    try:
        return Decimal(cleaned)
    except InvalidOperation:
        raise NotANumber() from None


def whole_rupiah(value: Decimal) -> Decimal:
    """Round to whole rupiah, half up (JNE takes integer amounts)."""
    return value.to_integral_value(rounding=ROUND_HALF_UP)
