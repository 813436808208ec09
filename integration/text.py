"""Text as JNE needs it: HTML entities decoded, and values cut to a number of UTF-8 bytes between words.

WooCommerce stores product and address text HTML-escaped and its webhooks send it that way:
"Ship Your Idea &ndash; Color: Black", "Kopi &amp; Teh", sometimes escaped twice ("&amp;ndash;")
and, from some plugins, without the closing semicolon ("&ndash Color"). JNE prints whatever it
gets on the airwaybill, so :func:`decode_entities` turns all of those into the characters meant.

JNE's fields are limited in bytes (VARCHAR2 n Byte). :func:`cut_bytes` cuts a value to a limit at
the last word boundary that fits ("KOTA TANGERANG SELATAN" to 20 bytes is "KOTA TANGERANG", never
"KOTA TANGERANG SELAT"), and only where no boundary fits (one long word) at the last whole
character, so a multi-byte character is never split and a letter never loses its combining mark.
"""

from __future__ import annotations

import html
import re
import unicodedata
from html.entities import html5

__all__ = ["cut_bytes", "decode_entities", "fits"]

_ENTITY = re.compile(r"&(?:#[0-9]{1,7};?|#[xX][0-9A-Fa-f]{1,6};?|[A-Za-z][A-Za-z0-9]{1,31};?)")
# A named entity without its semicolon, which html.unescape leaves alone for all but a few names
# (HTML5 only allows the old ones such as &amp without it); WooCommerce plugins send "&ndash Color".
_BARE_NAMED = re.compile(r"&([A-Za-z][A-Za-z0-9]{1,31})(?![A-Za-z0-9;])")
# Where a value may be cut: after a space, or after punctuation that separates words or items.
_SEPARATORS = frozenset(" \t\n\r\f\v,;/|-\u00a0\u2013\u2014")
_TRAILING = " \t\n\r\f\v,;/|-:.&(\u00a0\u2013\u2014"


def _bare(match: re.Match[str]) -> str:
    return html5.get(match.group(1) + ";", match.group(0))


def decode_entities(text: str) -> str:
    """``text`` with HTML entities decoded: named, numeric, doubly escaped, and without their semicolon."""
    if "&" not in text:
        return text
    for _ in range(2):  # twice at most: "&amp;ndash;" is "&ndash;" escaped once more
        decoded = _BARE_NAMED.sub(_bare, html.unescape(text))
        if decoded == text:
            break
        text = decoded
        if "&" not in text or not _ENTITY.search(text):
            break
    return text


def fits(text: str, limit: int) -> bool:
    """True when ``text`` is at most ``limit`` bytes in UTF-8."""
    if len(text) <= limit and text.isascii():
        return True
    return len(text) <= limit and len(text.encode("utf-8")) <= limit


def _whole_characters(text: str, limit: int) -> str:
    """The longest start of ``text`` within ``limit`` bytes that ends on a whole character with its marks."""
    head = text[:limit].encode("utf-8")[:limit].decode("utf-8", errors="ignore")
    # A base letter whose combining mark did not fit is dropped with it ("é" written e + U+0301).
    while head and len(head) < len(text) and unicodedata.combining(text[len(head)]):
        head = head[:-1]
    return head


def cut_bytes(text: str, limit: int, *, words: bool = True) -> str:
    """``text`` cut to at most ``limit`` UTF-8 bytes, at the last word boundary that fits.

    A value that fits is returned unchanged. Otherwise it is cut after the last space or
    separating punctuation that leaves a non-empty start within the limit, and trailing spaces and
    separators are dropped ("KOPI, TEH" -> "KOPI"). When no boundary fits (one word longer than
    the limit) or ``words`` is false, it is cut at the last whole character instead.
    """
    if limit <= 0:
        return ""
    if fits(text, limit):
        return text
    head = _whole_characters(text, limit)
    if words:
        if text[len(head)] in _SEPARATORS:
            cut = len(head)  # the cut already falls between words
        else:
            cut = max((i + 1 for i, ch in enumerate(head) if ch in _SEPARATORS), default=0)
        start = head[:cut].rstrip(_TRAILING)
        if start:
            return start
    return head.rstrip()
