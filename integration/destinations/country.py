"""Is a shipping address in Indonesia? An address abroad must never be booked as a domestic shipment.

Shopify sends ``country_code`` ("ID") and ``country`` ("Indonesia"); WooCommerce sends ``country``
as the code ("ID") and ``state`` as the province code. The country decides when the order gives
one; a postal code and province are only used when it gives none, and then only an Indonesian
province name or code with a postal code of five digits counts as Indonesia: a US "Brownsville PA
15417" is not Papua, however its five digits look.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from integration.destinations.names import known_province, normalise
from integration.problems import Problem, define

__all__ = ["ABROAD", "COUNTRY_UNKNOWN", "Verdict", "address_country", "in_indonesia"]

ABROAD = define(
    "address.outside_indonesia",
    en="the shipping address is outside Indonesia ({country}); JNE pickup/cashless books domestic shipments only",
    id="alamat pengiriman di luar Indonesia ({country}); JNE pickup/cashless hanya untuk pengiriman domestik")
COUNTRY_UNKNOWN = define(
    "address.country_unknown",
    en="the shipping address names no country, and its postal code {zip} and province {province} do not show "
       "it is in Indonesia",
    id="alamat pengiriman tidak menyebut negara, dan kode pos {zip} serta provinsi {province} tidak menunjukkan "
       "alamat di Indonesia")

_INDONESIA = frozenset({"ID", "IDN", "INDONESIA", "REPUBLIK INDONESIA", "REPUBLIC OF INDONESIA", "INDONESIE",
                        "INDONESIEN"})


@dataclass(frozen=True, slots=True)
class Verdict:
    """``inside`` True (Indonesia), False (abroad) or None (cannot tell), with the words of the answer."""

    inside: bool | None
    country: str  # what the order said (or "")
    postal_code: str = ""
    province: str = ""

    def problem(self, key: str = "RECEIVER_COUNTRY") -> Problem | None:
        """The needs-attention problem for an address not shown to be in Indonesia, or None."""
        if self.inside:
            return None
        if self.inside is False:
            return Problem(key, ABROAD, {"country": self.country})
        return Problem(key, COUNTRY_UNKNOWN, {"zip": self.postal_code or "-", "province": self.province or "-"})


def _text(value: Any) -> str:
    return " ".join(str(value).split()) if value is not None else ""


def in_indonesia(country_code: Any = None, country: Any = None, postal_code: Any = None,
                 province: Any = None) -> Verdict:
    """Whether an address is in Indonesia, from its country code or name, else postal code and province."""
    code, name = _text(country_code), _text(country)
    postal, prov = _text(postal_code), _text(province)
    for said in (code, name):
        if said:
            inside = normalise(said) in _INDONESIA
            shown = " ".join(dict.fromkeys(t for t in (name, code) if t))
            return Verdict(inside, shown, postal, prov)
    digits = postal.replace(" ", "")
    if len(digits) == 5 and digits.isdigit() and digits[0] != "0" and prov and known_province(prov):
        return Verdict(True, "", postal, prov)
    return Verdict(None, "", postal, prov)


def address_country(address: Any) -> Verdict:
    """:func:`in_indonesia` for a Shopify ``shipping_address`` or a WooCommerce ``shipping`` object."""
    if not isinstance(address, dict):
        return Verdict(None, "")
    return in_indonesia(address.get("country_code"), address.get("country"),
                        address.get("zip") or address.get("postcode"),
                        address.get("province_code") or address.get("province") or address.get("state"))
