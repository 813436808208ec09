"""Read a shipping line's title: which JNE service the buyer chose, or which other courier ships it.

Indonesian shops name the courier and service in the checkout's shipping line: "JNE - OKE",
"JNE YES", "jne reg", "JNE - CTC", "JNE Trucking", but also "SICEPAT - REG" or "J&T Express",
which another courier ships (and whose "REG" is that courier's service, not JNE's), and neutral
titles such as "Flat Rate" or "Free shipping", for which the store's default JNE service applies.

:func:`read_shipping_line` gives a :class:`ShippingChoice`: the JNE service, or the courier and a
skip reason ("shipped with SiCepat, not JNE"). CTC and CTCYES are JNE's same-city prices of REG and
YES; a store whose JNE contract wants them booked as REG/YES says ``ctc_as="base"``: CTC becomes
REG and CTCYES becomes YES, never REG.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

__all__ = ["JNE_SERVICES", "ShippingChoice", "courier_named", "read_shipping_line", "service_named"]

JNE_SERVICES = ("REG", "YES", "OKE", "JTR", "CTC", "CTCYES")
_BASE_OF = {"CTC": "REG", "CTCYES": "YES"}

# Other couriers, by the words checkouts use for them (after normalisation: upper case, "&" kept,
# other punctuation as spaces). Longer phrases first so that "J&T CARGO" is not read as J&T.
_COURIERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("J&T Cargo", ("J&T CARGO", "JNT CARGO", "J T CARGO")),
    ("J&T", ("J&T", "JNT", "J T EXPRESS", "J & T")),
    ("SiCepat", ("SICEPAT", "SI CEPAT")),
    ("AnterAja", ("ANTERAJA", "ANTER AJA")),
    ("Pos Indonesia", ("POS INDONESIA", "POSINDO", "POS KILAT", "POS AJA", "POS")),
    ("TIKI", ("TIKI", "CITRA VAN TITIPAN KILAT")),
    ("Ninja Xpress", ("NINJA",)),
    ("Lion Parcel", ("LION PARCEL", "LION")),
    ("Wahana", ("WAHANA",)),
    ("SAP Express", ("SAP EXPRESS", "SAP")),
    ("GoSend", ("GOSEND", "GO SEND", "GOJEK", "GO JEK")),
    ("GrabExpress", ("GRABEXPRESS", "GRAB EXPRESS", "GRAB")),
    ("Paxel", ("PAXEL",)),
    ("ID Express", ("IDEXPRESS", "ID EXPRESS", "IDX")),
    ("Shopee Express", ("SHOPEE EXPRESS", "SHOPEE XPRESS", "SPX")),
    ("Lazada Express", ("LAZADA EXPRESS", "LEX ID")),
    ("Lalamove", ("LALAMOVE",)),
    ("Deliveree", ("DELIVEREE",)),
    ("RPX", ("RPX",)),
    ("First Logistics", ("FIRST LOGISTICS",)),
    ("Indah Logistik", ("INDAH LOGISTIK", "INDAH CARGO")),
    ("Sentral Cargo", ("SENTRAL CARGO",)),
    ("Dakota Cargo", ("DAKOTA",)),
    ("Borzo", ("BORZO", "MR SPEEDY")),
    ("DHL", ("DHL",)),
    ("FedEx", ("FEDEX",)),
    ("UPS", ("UPS",)),
)
# Not shipped at all: the buyer collects the parcel.
_PICKUP_WORDS = ("LOCAL PICKUP", "STORE PICKUP", "PICKUP IN STORE", "PICK UP IN STORE", "AMBIL DI TOKO",
                 "AMBIL SENDIRI", "AMBIL DITOKO", "COD DI TOKO")

# JNE service words, most specific first: "CTC YES" is CTCYES, not CTC and not YES.
_SERVICES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("CTCYES", ("CTCYES", "CTC YES", "CITY COURIER YES")),
    ("CTC", ("CTC", "CITY COURIER")),
    ("JTR", ("JTR", "TRUCKING", "JNE TRUCKING")),
    ("YES", ("YES", "YAKIN ESOK SAMPAI")),
    ("OKE", ("OKE", "ONGKOS KIRIM EKONOMIS", "EKONOMIS")),
    ("REG", ("REG", "REGULER", "REGULAR", "LAYANAN REGULER")),
)
_JTR_WORD = re.compile(r"(?:^| )JTR ?(?:<|>)? ?[0-9]{0,3}(?= |$)")


@dataclass(frozen=True, slots=True)
class ShippingChoice:
    """What a shipping line says: a JNE ``service`` to book, or ``skip_reason`` and the ``courier``."""

    courier: str                 # "JNE" (named or assumed for a neutral title) or the other courier
    service: str | None          # the SERVICE_CODE to send; None when the line is not JNE's
    named: str | None = None     # the JNE service the title names, before ctc_as ("CTC")
    skip_reason: str | None = None
    default_used: bool = False   # the title names no JNE service: the store's default applies

    @property
    def is_jne(self) -> bool:
        """True when JNE ships this line."""
        return self.skip_reason is None


def _normalise(text: str) -> str:
    """Upper case ASCII words; '&' kept (J&T), every other punctuation mark a space."""
    if not text.isascii():
        text = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
    text = re.sub(r"\s*&\s*(?=T\b)", "&", text.upper())  # "J & T" -> "J&T"
    return " ".join(re.sub(r"[^A-Z0-9&<>]+", " ", text).split())


def _has(words: str, phrase: str) -> bool:
    return f" {phrase} " in f" {words} "


def courier_named(title: str) -> str | None:
    """The other (not JNE) courier a title names, or None."""
    words = _normalise(title)
    for courier, phrases in _COURIERS:
        if any(_has(words, p) for p in phrases):
            return courier
    return None


def service_named(title: str) -> str | None:
    """The JNE service a title names (REG, YES, OKE, JTR, CTC, CTCYES), or None."""
    words = _normalise(title)
    if _JTR_WORD.search(words):  # JNE's truck tariffs JTR, JTR<130, JTR250, JTR>250 are all JTR
        return "JTR"
    squeezed = words.replace(" ", "")
    for service, phrases in _SERVICES:
        if any(_has(words, p) for p in phrases):
            return service
        # "JNE-REG" and "JNEYES" read as one word once punctuation is gone
        if squeezed.startswith("JNE") and squeezed[3:] in phrases:
            return service
    return None


@lru_cache(maxsize=1024)
def read_shipping_line(title: str | None, default_service: str = "REG", ctc_as: str = "named") -> ShippingChoice:
    """The courier and JNE service of a shipping line title (its ``code`` may be passed instead).

    Another courier named in the title wins over service words ("SICEPAT - REG" is SiCepat's
    REG); a title naming JNE's service picks it; a neutral title gets ``default_service``.
    ``ctc_as="base"`` sends CTC as REG and CTCYES as YES for contracts without same-city prices.
    """
    if ctc_as not in ("named", "base"):
        raise ValueError(f"ctc_as must be 'named' or 'base', got {ctc_as!r}")
    text = title or ""
    words = _normalise(text)
    names_jne = _has(words, "JNE") or words.replace(" ", "").startswith("JNE")
    other = None if names_jne else courier_named(text)
    if other is not None:
        return ShippingChoice(courier=other, service=None, skip_reason=f"shipped with {other}, not JNE")
    if not names_jne and any(_has(words, p) for p in _PICKUP_WORDS):
        return ShippingChoice(courier="none", service=None,
                              skip_reason="collected by the buyer at the store, not shipped")
    named = service_named(text)
    if named is None:
        return ShippingChoice(courier="JNE", service=default_service, default_used=True)
    service = _BASE_OF.get(named, named) if ctc_as == "base" else named
    return ShippingChoice(courier="JNE", service=service, named=named)
