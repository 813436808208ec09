"""The field table of JNE's pickup/cashless API document, as data.

One row per request field, in the document's order. Byte limits are UTF-8 bytes (the document's
VARCHAR2 n Byte). ``required`` follows the document, except SHIPPER_COUNTRY and RECEIVER_COUNTRY,
which JNE rejects in practice when they are missing although the document marks them optional.
``batam`` marks the customs fields that are sent only for shipments from or to Batam.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["text", "date", "time", "number"]


@dataclass(frozen=True, slots=True)
class JNEField:
    """One request field of the pickup/cashless API."""

    name: str
    required: bool
    kind: Kind
    max_bytes: int | None
    description: str
    batam: bool = False


def _f(name: str, required: bool, kind: Kind, max_bytes: int | None, description: str,
       batam: bool = False) -> JNEField:
    return JNEField(name, required, kind, max_bytes, description, batam)


FIELDS: tuple[JNEField, ...] = (
    _f("PICKUP_NAME", True, "text", 50, "seller pickup name"),
    _f("PICKUP_DATE", True, "date", None, "pickup date, DD-MM-YYYY"),
    _f("PICKUP_TIME", True, "time", 30, "pickup time, HH:MM (24 h)"),
    _f("PICKUP_PIC", True, "text", 30, "contact name of the pickup seller"),
    _f("PICKUP_PIC_PHONE", True, "text", 30, "phone number of the pickup seller"),
    _f("PICKUP_ADDRESS", True, "text", 300, "address of the pickup seller"),
    _f("PICKUP_DISTRICT", True, "text", 30, "district of the pickup seller"),
    _f("PICKUP_CITY", True, "text", 30, "city of the pickup seller"),
    _f("PICKUP_SERVICE", True, "text", 30, "pickup service: Domestic, Intracity or All"),
    _f("PICKUP_VEHICLE", True, "text", 100, "pickup vehicle: MOTOR, MOBIL or TRUCK"),
    _f("BRANCH", True, "text", 6, "JNE branch of the pickup seller"),
    _f("CUST_ID", True, "text", 10, "customer id at JNE"),
    _f("ORDER_ID", True, "text", 20, "unique order number, [A-Z0-9]"),
    _f("SHIPPER_NAME", True, "text", 30, "shipper name"),
    _f("SHIPPER_ADDR1", True, "text", 85, "shipper address line 1"),
    _f("SHIPPER_ADDR2", True, "text", 85, "shipper address line 2"),
    _f("SHIPPER_ADDR3", False, "text", 85, "shipper address line 3"),
    _f("SHIPPER_CITY", True, "text", 20, "shipper city"),
    _f("SHIPPER_ZIP", True, "text", 5, "shipper postal code"),
    _f("SHIPPER_REGION", True, "text", 20, "shipper region (province)"),
    _f("SHIPPER_COUNTRY", True, "text", 20, "shipper country"),
    _f("SHIPPER_CONTACT", True, "text", 20, "shipper contact name"),
    _f("SHIPPER_PHONE", True, "text", 50, "shipper phone"),
    _f("RECEIVER_NAME", True, "text", 30, "receiver name"),
    _f("RECEIVER_ADDR1", True, "text", 85, "receiver address line 1"),
    _f("RECEIVER_ADDR2", True, "text", 85, "receiver address line 2"),
    _f("RECEIVER_ADDR3", False, "text", 85, "receiver address line 3"),
    _f("RECEIVER_CITY", True, "text", 20, "receiver city"),
    _f("RECEIVER_ZIP", True, "text", 5, "receiver postal code"),
    _f("RECEIVER_REGION", True, "text", 20, "receiver region (province)"),
    _f("RECEIVER_COUNTRY", True, "text", 20, "receiver country"),
    _f("RECEIVER_CONTACT", True, "text", 20, "receiver contact name"),
    _f("RECEIVER_PHONE", True, "text", 50, "receiver phone"),
    _f("ORIGIN_CODE", True, "text", 10, "JNE origin code"),
    _f("DESTINATION_CODE", True, "text", 10, "JNE destination code"),
    _f("SERVICE_CODE", True, "text", 10, "service code (REG, YES, OKE, JTR...)"),
    _f("WEIGHT", True, "number", None, "weight of the goods in kg, NUMBER(10,3)"),
    _f("QTY", True, "number", None, "quantity of the goods, NUMBER(10,3)"),
    _f("GOODS_DESC", True, "text", 60, "description of the goods"),
    _f("GOODS_AMOUNT", True, "number", None, "value of the goods in rupiah"),
    _f("INSURANCE_FLAG", True, "text", 1, "insurance: Y or N"),
    _f("SPECIAL_INS", True, "text", 60, "special instruction"),
    _f("MERCHANT_ID", True, "text", 100, "merchant or seller id"),
    _f("LAT", False, "text", 60, "latitude"),
    _f("LON", False, "text", 60, "longitude"),
    _f("TYPE", True, "text", 10, "DROP or PICKUP"),
    _f("COD_FLAG", False, "text", 3, "cash on delivery: YES or NO"),
    _f("COD_AMOUNT", False, "number", None, "amount the courier collects (COD)"),
    _f("AWB", False, "text", 16, "our airwaybill number"),
    _f("TAX_VALUE", False, "number", None, "tax amount (Batam only)", batam=True),
    _f("ITEM_TYPE", False, "text", 10, "item type 1-5 (Batam only)", batam=True),
    _f("HS_CODE", False, "text", 300, "value;qty;hs_code entries (Batam only)", batam=True),
    _f("NPWP", False, "text", 90, "tax number NPWP (Batam only)", batam=True),
    _f("RETURN_NAME", False, "text", 30, "return name"),
    _f("RETURN_ADDR1", False, "text", 30, "return address line 1"),
    _f("RETURN_ADDR2", False, "text", 30, "return address line 2"),
    _f("RETURN_ADDR3", False, "text", 30, "return address line 3"),
    _f("RETURN_CITY", False, "text", 20, "return city"),
    _f("RETURN_ZIP", False, "text", 5, "return postal code"),
    _f("RETURN_REGION", False, "text", 20, "return region"),
    _f("RETURN_COUNTRY", False, "text", 20, "return country"),
    _f("RETURN_CONTACT", False, "text", 20, "return contact"),
    _f("RETURN_PHONE", False, "text", 15, "return phone"),
    _f("RETURN_BRANCH", False, "text", 6, "return branch"),
)

BY_NAME: dict[str, JNEField] = {f.name: f for f in FIELDS}
FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in FIELDS)
BATAM_FIELDS: tuple[str, ...] = tuple(f.name for f in FIELDS if f.batam)
CREDENTIAL_FIELDS: tuple[str, ...] = ("username", "api_key")


def is_batam(fields: dict[str, object]) -> bool:
    """True when the shipment leaves from or goes to Batam (origin or destination code BTH...)."""
    return any(str(fields.get(k) or "").strip().upper().startswith("BTH")
               for k in ("ORIGIN_CODE", "DESTINATION_CODE"))
