"""HTML entities as WooCommerce sends them, and cutting to UTF-8 bytes between words."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from integration.text import cut_bytes, decode_entities, fits


@pytest.mark.parametrize(("raw", "decoded"), [
    ("Ship Your Idea &ndash; Color: Black", "Ship Your Idea \u2013 Color: Black"),
    ("Ship Your Idea &ndash Color Black", "Ship Your Idea \u2013 Color Black"),   # no semicolon
    ("Kopi &amp Teh", "Kopi & Teh"),
    ("Kopi &amp; Teh", "Kopi & Teh"),
    ("Kopi &amp;amp; Teh", "Kopi & Teh"),                                        # escaped twice
    ("Ship &amp;ndash; Idea", "Ship \u2013 Idea"),
    ("Caf&eacute; &#8211; &#x2013; x", "Caf\u00e9 \u2013 \u2013 x"),
    ("Pak&#39;R Sac", "Pak'R Sac"),
    ("Tom &amp; Jerry&apos;s", "Tom & Jerry's"),
    ("R&D department", "R&D department"),                                        # not an entity
    ("AT&T &unknownname; ok", "AT&T &unknownname; ok"),
    ("no entities at all", "no entities at all"),
    ("", ""),
])
def test_entities_are_decoded(raw, decoded):
    assert decode_entities(raw) == decoded


@pytest.mark.parametrize(("text", "limit", "cut"), [
    ("KOTA TANGERANG SELATAN", 20, "KOTA TANGERANG"),
    ("KOTA ADMINISTRASI JAKARTA SELATAN", 20, "KOTA ADMINISTRASI"),
    ("KOTA TANGERANG SELATAN", 22, "KOTA TANGERANG SELATAN"),
    ("KOTA TANGERANG SELATAN", 14, "KOTA TANGERANG"),
    ("KOTA TANGERANG SELATAN", 15, "KOTA TANGERANG"),
    ("KOPI, TEH, GULA", 10, "KOPI, TEH"),
    ("KOPI, TEH, GULA", 9, "KOPI, TEH"),
    ("KOPI, TEH, GULA", 8, "KOPI"),
    ("BAJU/CELANA/SEPATU", 12, "BAJU/CELANA"),
    ("SUPERCALIFRAGILISTIC", 10, "SUPERCALIF"),          # one word longer than the limit: whole characters
    ("KOPI TEH", 8, "KOPI TEH"),
    ("KOPI TEH", 0, ""),
    ("S\u00c3O PAULO", 4, "S\u00c3O"),                    # Ã is two bytes
    ("S\u00c3O PAULO", 3, "S\u00c3"),                     # no boundary fits: whole characters
    ("\u5317\u4eac \u4e0a\u6d77", 7, "\u5317\u4eac"),     # three bytes each
    ("\u5317\u4eac\u4e0a\u6d77", 7, "\u5317\u4eac"),      # never half of a character
    ("CAFE\u0301 X", 5, "CAF"),                           # E + combining accent are kept together
])
def test_cut_bytes_between_words(text, limit, cut):
    assert cut_bytes(text, limit) == cut
    assert len(cut.encode("utf-8")) <= limit


def test_cut_bytes_on_characters_only_when_asked():
    assert cut_bytes("KOTA TANGERANG SELATAN", 20, words=False) == "KOTA TANGERANG SELAT"


def test_fits_counts_bytes_not_characters():
    assert fits("abc", 3) and not fits("abcd", 3)
    assert not fits("\u00e9\u00e9", 3) and fits("\u00e9\u00e9", 4)


_TEXT = st.text(alphabet=st.sampled_from(list("abc XYZ,-/") + ["\u00e9", "\u4eac", "\U0001f600", "\u0301", " "]),
                max_size=60)


@given(_TEXT, st.integers(min_value=0, max_value=80))
def test_cut_never_exceeds_the_limit_and_is_a_start_of_the_text(text, limit):
    cut = cut_bytes(text, limit)
    assert len(cut.encode("utf-8")) <= limit
    assert text.startswith(cut)
    if fits(text, limit):
        assert cut == text


SEPARATORS = " ,;/|-\u00a0\u2013\u2014"
DROPPED_AT_THE_END = SEPARATORS + ":.&("


@given(_TEXT, st.integers(min_value=1, max_value=80))
def test_cut_never_ends_inside_a_word_when_a_boundary_fits(text, limit):
    cut = cut_bytes(text, limit)
    if fits(text, limit):
        return
    within = text.encode("utf-8")[:limit].decode("utf-8", errors="ignore")
    # a boundary fits when some word (not just separators) ends inside the limit
    boundary_fits = any(text[i] in SEPARATORS and within[:i].strip(DROPPED_AT_THE_END)
                        for i in range(1, len(within) + 1))
    rest = text[len(cut):]
    if boundary_fits:
        assert cut and rest[0] in DROPPED_AT_THE_END, (text, limit, cut)
    assert not cut or not unicodedata.combining(rest[0])  # a mark never cut off from its letter


@given(_TEXT, st.integers(min_value=0, max_value=80))
def test_cut_is_idempotent(text, limit):
    once = cut_bytes(text, limit)
    assert cut_bytes(once, limit) == once
