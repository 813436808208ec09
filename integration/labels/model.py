"""What one shipping label shows, taken from the JNE fields that were sent for the booking."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

# Control characters (and the C1 block) would be drawn as boxes or break a line; drop them.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_SPACES = re.compile(r"\s+")


def clean(value: Any, limit: int = 300) -> str:
    """A field value as one printable line: NFC, no control characters, spaces collapsed, cut at ``limit``."""
    if value is None:
        return ""
    text = unicodedata.normalize("NFC", str(value))
    text = _SPACES.sub(" ", _CONTROL.sub(" ", text)).strip()
    if text == "-":  # JNE's filler for a mandatory field without an honest value
        return ""
    return text[:limit]


def rupiah(amount: Any) -> str:
    """``125000`` -> ``Rp 125.000`` (Indonesian grouping, whole rupiah); '' for no amount."""
    try:
        value = Decimal(str(amount).strip())
    except (InvalidOperation, ValueError):
        return ""
    if not value.is_finite():
        return ""
    whole = int(value.to_integral_value())
    sign = "-" if whole < 0 else ""
    return f"Rp {sign}{abs(whole):,}".replace(",", ".")


def _number(value: Any) -> str:
    text = clean(value, 20)
    try:
        number = Decimal(text)
    except (InvalidOperation, ValueError):
        return text
    if not number.is_finite():
        return text
    return format(number.normalize(), "f")  # "2.000" -> "2", "1.50" -> "1.5"


@dataclass(frozen=True)
class Label:
    """One A6 label: the airwaybill (cnote), the booking's references and both addresses."""

    cnote: str
    order_id: str
    service: str
    destination_code: str
    origin_code: str
    receiver_name: str
    receiver_address: tuple[str, ...]
    receiver_city: str
    receiver_zip: str
    receiver_region: str
    receiver_phone: str
    shipper_name: str
    shipper_address: tuple[str, ...]
    shipper_city: str
    shipper_phone: str
    weight_kg: str
    quantity: str
    goods: str
    goods_amount: str
    cod_amount: str          # "Rp 125.000" when cash on delivery, else ""
    special_instructions: str
    store: str = ""
    order_number: str = ""

    @property
    def is_cod(self) -> bool:
        """The courier collects ``cod_amount`` from the receiver."""
        return bool(self.cod_amount)


def label_from_fields(cnote: str, fields: dict[str, Any], *, store: str = "", order_number: str = "") -> Label:
    """The label of a booking from the JNE fields sent for it (the attempts log's ``request``)."""
    f = {str(k).upper(): v for k, v in (fields or {}).items()}

    def lines(prefix: str) -> tuple[str, ...]:
        return tuple(t for t in (clean(f.get(f"{prefix}_ADDR{i}"), 85) for i in (1, 2, 3)) if t)

    cod = clean(f.get("COD_FLAG")).upper() in ("YES", "Y")
    return Label(
        cnote=clean(cnote, 64),
        order_id=clean(f.get("ORDER_ID"), 20),
        service=clean(f.get("SERVICE_CODE"), 10).upper(),
        destination_code=clean(f.get("DESTINATION_CODE"), 10).upper(),
        origin_code=clean(f.get("ORIGIN_CODE"), 10).upper(),
        receiver_name=clean(f.get("RECEIVER_NAME"), 60),
        receiver_address=lines("RECEIVER"),
        receiver_city=clean(f.get("RECEIVER_CITY"), 40),
        receiver_zip=clean(f.get("RECEIVER_ZIP"), 10),
        receiver_region=clean(f.get("RECEIVER_REGION"), 40),
        receiver_phone=clean(f.get("RECEIVER_PHONE"), 50),
        shipper_name=clean(f.get("SHIPPER_NAME"), 60),
        shipper_address=lines("SHIPPER"),
        shipper_city=clean(f.get("SHIPPER_CITY"), 40),
        shipper_phone=clean(f.get("SHIPPER_PHONE"), 50),
        weight_kg=_number(f.get("WEIGHT")),
        quantity=_number(f.get("QTY")),
        goods=clean(f.get("GOODS_DESC"), 60),
        goods_amount=rupiah(f.get("GOODS_AMOUNT")) if f.get("GOODS_AMOUNT") not in (None, "") else "",
        cod_amount=rupiah(f.get("COD_AMOUNT")) if cod else "",
        special_instructions=clean(f.get("SPECIAL_INS"), 60),
        store=clean(store, 64),
        order_number=clean(order_number, 64),
    )
