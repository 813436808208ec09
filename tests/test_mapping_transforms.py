"""Every named transform: what it makes of good values, and the message it gives for bad ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from integration.mapping.files.tables import load_table
from integration.mapping.language.transforms import TRANSFORMS, Reject, build_step, run_pipeline


def step(spec, tables=None):
    built, problem = build_step(spec, tables or {})
    assert problem is None, problem
    return built


def apply(spec, value, tables=None):
    return step(spec, tables)(value)


def problem_of(spec, tables=None):
    built, problem = build_step(spec, tables or {})
    assert built is None
    return problem


# -- text ---------------------------------------------------------------------------------------

def test_upper_lower_keep_blank_and_turn_numbers_into_text():
    assert apply("upper", "Jl. Kemang Raya") == "JL. KEMANG RAYA"
    assert apply("lower", "TOKO") == "toko"
    assert apply("upper", None) is None
    assert apply("upper", 1042) == "1042"
    assert apply("upper", "nguyễn") == "NGUYỄN"


def test_trim_collapses_inner_whitespace():
    assert apply("trim", "  Jl.\tKemang \n Raya  ") == "Jl. Kemang Raya"
    assert apply("trim", "   ") == ""


def test_text_transforms_refuse_lists_and_objects():
    with pytest.raises(Reject, match="got a list"):
        apply("upper", ["a", "b"])
    with pytest.raises(Reject, match="got an object"):
        apply("trim", {"a": 1})


def test_strip_unsupported_keeps_letters_digits_and_address_punctuation():
    assert apply("strip_unsupported", "Jl. Kemang No. 12, RT 05/RW 02 #3 (belakang) & Co's") == \
        "Jl. Kemang No. 12, RT 05/RW 02 #3 (belakang) & Co's"
    assert apply("strip_unsupported", "Nguyễn Thị Ánh") == "Nguyễn Thị Ánh"


def test_strip_unsupported_drops_emoji_symbols_and_control_characters():
    assert apply("strip_unsupported", "Rumah 🏠 hijau ★ <b>\x00\x07") == "Rumah hijau b"
    assert apply("strip_unsupported", "Titip\ndi pos\tsatpam") == "Titip di pos satpam"
    assert apply("strip_unsupported", "Jalan “Melati” – gang ‘2’") == "Jalan Melati - gang '2'"
    assert apply("strip_unsupported", "🙂🙂") == ""


def test_strip_unsupported_composes_decomposed_accents():
    assert apply("strip_unsupported", "Nguye\u0302\u0303n") == "Nguyễn"


def test_max_bytes_cuts_between_words_and_on_a_character_boundary():
    assert apply({"max_bytes": 5}, "ABCDEFG") == "ABCDE"  # one word: cut inside it, nothing else fits
    assert apply({"max_bytes": 5}, "ABC") == "ABC"
    # 30 bytes end inside "HỒNG" (and inside its 3-byte "Ồ"): the cut falls between words
    cut = apply({"max_bytes": 30}, "NGUYỄN THỊ ÁNH TUYẾT HỒNG NHUNG")
    assert cut == "NGUYỄN THỊ ÁNH TUYẾT"
    assert len(cut.encode()) == 27
    assert apply({"max_bytes": 20}, "NGUYỄN THỊ ÁNH TUYẾT") == "NGUYỄN THỊ ÁNH"  # trailing space dropped
    assert apply({"max_bytes": 4}, "ééé") == "éé"
    # JNE's 20-byte city: never "KOTA TANGERANG SELAT"
    assert apply({"max_bytes": 20}, "KOTA TANGERANG SELATAN") == "KOTA TANGERANG"
    assert apply({"max_bytes": 60}, "Kopi Gayo 250g - Bubuk, Kopi Kintamani 200g - Bubuk, Gelas Kopi") == \
        "Kopi Gayo 250g - Bubuk, Kopi Kintamani 200g - Bubuk, Gelas"


def test_strip_unsupported_and_decode_entities_give_the_characters_woocommerce_meant():
    assert apply("strip_unsupported", "Kopi &amp; Teh") == "Kopi & Teh"
    assert apply("strip_unsupported", "Kopi &amp Teh") == "Kopi & Teh"
    assert apply("strip_unsupported", "Ship Your Idea &ndash; Color: Black") == "Ship Your Idea - Color Black"
    assert apply("strip_unsupported", "Ship Your Idea &ndash Color: Black") == "Ship Your Idea - Color Black"
    assert apply("decode_entities", "Caf&eacute; &amp;ndash; Bar") == "Caf\u00e9 \u2013 Bar"


def test_max_bytes_on_a_huge_string_is_quick_and_exact():
    assert apply({"max_bytes": 60}, "x" * 5_000_000) == "x" * 60


def test_digits_and_alnum_upper():
    assert apply("digits", "12 730-") == "12730"
    assert apply("digits", 40131) == "40131"
    assert apply("alnum_upper", "tc-#1042") == "TC1042"
    assert apply("alnum_upper", "Ñandú 7") == "NANDU7"


# -- phone --------------------------------------------------------------------------------------

@pytest.mark.parametrize("raw", [
    "081234567890", "0812-3456-7890", "0812 3456 7890", "(0812) 3456 7890", "6281234567890",
    "62 812 3456 7890", "+6281234567890", "+62 812-3456-7890", "81234567890", 6281234567890,
])
def test_phone_forms_all_give_the_same_e164(raw):
    assert apply("phone", raw) == "+6281234567890"


def test_phone_accepts_landlines():
    assert apply("phone", "021-555-1234") == "+62215551234"


@pytest.mark.parametrize("raw", ["tidak ada", "abc", "0811", "12", "+1 555", "0" * 41, "08123456789012345678"])
def test_phone_that_is_not_a_number_is_an_error_not_garbage(raw):
    with pytest.raises(Reject, match="is not a phone number"):
        apply("phone", raw)


def test_phone_blank_stays_blank_for_the_fallback_and_required_checks():
    assert apply("phone", "") is None
    assert apply("phone", None) is None


def test_phone_region_argument_is_checked_at_load():
    assert apply({"phone": "SG"}, "+65 6123 4567") == "+6561234567"
    assert "country code" in problem_of({"phone": "XX"})


# -- numbers ------------------------------------------------------------------------------------

@pytest.mark.parametrize("grams,want", [(1350, "2"), (1000, "1"), (1001, "2"), (0, "1"), (1, "1"),
                                        ("2200", "3"), (9999.5, "10")])
def test_grams_to_kg_ceil_bills_whole_kilograms_at_least_one(grams, want):
    assert apply({"grams_to_kg": "ceil"}, grams) == want
    assert apply("grams_to_kg", grams) == want  # ceil is the default


def test_grams_to_kg_round_and_exact():
    assert apply({"grams_to_kg": "round"}, 1499) == "1"
    assert apply({"grams_to_kg": "round"}, 1500) == "2"
    assert apply({"grams_to_kg": "round"}, 200) == "1"
    assert apply({"grams_to_kg": "exact"}, 1350) == "1.35"
    assert apply({"grams_to_kg": "exact"}, 1234.5678) == "1.235"
    assert apply({"grams_to_kg": "exact"}, 2000) == "2"


def test_grams_to_kg_refuses_what_is_not_a_weight():
    for bad in ("berat", -5, [1]):
        with pytest.raises(Reject, match="not a weight"):
            apply("grams_to_kg", bad)
    with pytest.raises(Reject, match="not above zero"):
        apply({"grams_to_kg": "exact"}, 0)
    assert "ceil, round or exact" in problem_of({"grams_to_kg": "up"})


def test_kg_rounds_a_weight_already_in_kilograms():
    assert apply("kg", "1.2") == "2"
    assert apply({"kg": "exact"}, 0.25) == "0.25"


@pytest.mark.parametrize("raw,want", [
    ("185000.00", "185000"), (185000, "185000"), ("185000", "185000"), (185000.0, "185000"),
    ("185000.50", "185001"), ("185000.49", "185000"), ("0.5", "1"), ("Rp 185.000,00", "185000"),
    ("1.185.000", "1185000"), ("1,185,000.00", "1185000"), ("185000,50", "185001"),
    ("12345678901234.5", "12345678901235"), (0.1 + 0.2, "0"),
])
def test_money_gives_whole_rupiah_half_up_with_decimal(raw, want):
    assert apply("money", raw) == want


def test_money_never_goes_through_float_arithmetic():
    # 0.1 + 0.2 style errors would turn 2.675 * 100 into 267.49999...; Decimal keeps it exact
    assert apply("money", "2.5") == "3"
    assert apply("money", "1000000000000.5") == "1000000000001"


@pytest.mark.parametrize("raw", ["185.000", "185,000", "abc", "1e5", "NaN", [100], {"a": 1}, True])
def test_money_refuses_ambiguous_or_non_numbers(raw):
    with pytest.raises(Reject, match="not an amount of money"):
        apply("money", raw)


# -- blanks, maps, tables -----------------------------------------------------------------------

def test_default_fills_blank_only():
    assert apply({"default": "-"}, "") == "-"
    assert apply({"default": "-"}, "   ") == "-"
    assert apply({"default": "-"}, None) == "-"
    assert apply({"default": "-"}, "catatan") == "catatan"
    assert problem_of({"default": ""}).startswith("default:")


def test_required_rejects_blank():
    with pytest.raises(Reject, match="blank"):
        apply("required", "  ")
    assert apply("required", "x") == "x"


def test_map_matches_loosely_and_uses_its_default():
    spec = {"map": {"JK": "DKI JAKARTA", "Jawa Barat": "JAWA BARAT"}}
    assert apply(spec, "jk") == "DKI JAKARTA"
    assert apply(spec, "JAWA  barat") == "JAWA BARAT"
    with pytest.raises(Reject, match="not in the map"):
        apply(spec, "XX")
    assert apply({**spec, "default": "LAINNYA"}, "XX") == "LAINNYA"


def test_map_needs_entries():
    assert "needs entries" in problem_of({"map": []})
    assert "needs a text answer" in problem_of({"map": {"JK": None}})


def test_lookup_uses_a_loaded_table(tmp_path: Path):
    csv = tmp_path / "hs.csv"
    csv.write_text("sku,hs_code\nKOPI-1,0901.21\n", encoding="utf-8")
    table, problems = load_table("hs_codes", csv, None, None)
    assert problems == []
    tables = {"hs_codes": table}
    assert apply({"lookup": "hs_codes"}, "kopi-1", tables) == "0901.21"
    with pytest.raises(Reject, match=r"no row in hs\.csv for sku 'NOPE'"):
        apply({"lookup": "hs_codes"}, "NOPE", tables)
    assert "unknown table 'hs'" in problem_of({"lookup": "hs"}, tables)


# -- building steps -----------------------------------------------------------------------------

def test_unknown_transform_names_the_known_ones():
    message = problem_of("uper")
    assert message.startswith("unknown transform 'uper' (known: upper, lower, trim")


@pytest.mark.parametrize("spec,needle", [
    ({"max_bytes": 0}, "above 0"), ({"max_bytes": "30"}, "whole number"), ({"max_bytes": True}, "whole number"),
    ({"upper": 3}, "takes no argument"), (42, "a step is"), ({}, "a step is"),
    ({"max_bytes": 3, "upper": None}, "unexpected key"),
])
def test_bad_arguments_are_reported(spec, needle):
    assert needle in problem_of(spec)


def test_pipeline_applies_in_order_and_stops_at_the_first_rejection():
    steps = (step("strip_unsupported"), step("upper"), step({"max_bytes": 8}))
    assert run_pipeline("  siti 🙂 rahmawati", steps) == "SITI"  # 8 bytes end inside a word
    with pytest.raises(Reject):
        run_pipeline("abc", (step("phone"), step("upper")))


def test_every_transform_has_a_summary():
    assert all(t.summary for t in TRANSFORMS.values())
