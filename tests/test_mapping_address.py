"""The address rule's spreading: one part per line, wrapping at words, never dropping anything."""

from __future__ import annotations

import pytest

from integration.mapping.rules.address import AddressTooLong, distinct_parts, spread


def size(text: str) -> int:
    return len(text.encode("utf-8"))


def test_short_parts_go_one_per_line():
    assert spread(["JL. KEMANG RAYA NO. 12", "RT 05/RW 02", "PT MAJU"], 3, 85) == \
        ["JL. KEMANG RAYA NO. 12", "RT 05/RW 02", "PT MAJU"]


def test_blank_and_repeated_parts_are_left_out():
    assert spread(["Jl. A", "", "  ", "jl.  a", "Kec. B"], 3, 85) == ["Jl. A", "Kec. B"]
    assert distinct_parts(["", "x", "X "]) == ["x"]


def test_a_long_part_wraps_at_a_word_boundary_and_the_next_part_starts_a_new_line():
    address1 = ("Perumahan Bukit Cimanggu City Blok Q7 No. 12, Jl. Sholeh Iskandar KM 6, "
                "Gang Masjid Al-Ikhlas dekat warung Bu Eni")
    address2 = "RT 004/RW 012, Kel. Cibadak, Kec. Tanah Sareal, masuk gerbang utama lalu belok kiri"
    lines = spread([address1, address2], 3, 85)
    assert len(lines) == 3
    assert all(size(line) <= 85 for line in lines)
    assert " ".join(lines[:2]) == address1
    assert lines[2] == address2


def test_more_parts_than_lines_share_lines_smallest_first_so_address1_keeps_its_line():
    lines = spread(["Jl. Kemang Raya No. 12", "RT 1/RW 2", "Kel. Bangka", "Kec. Mampang Prapatan"], 3, 85)
    assert lines == ["Jl. Kemang Raya No. 12", "RT 1/RW 2, Kel. Bangka", "Kec. Mampang Prapatan"]
    lines = spread(["Jl. A", "B", "C", "D", "E"], 2, 85)
    assert len(lines) == 2 and ", ".join(lines) == "Jl. A, B, C, D, E"


def test_packing_words_tightly_when_parts_on_their_own_lines_do_not_fit():
    parts = ["A" * 50 + " " + "B" * 30, "C" * 40 + " " + "D" * 40, "E" * 20]
    lines = spread(parts, 3, 85)
    joined = " ".join(lines)
    for word in ("A" * 50, "B" * 30, "C" * 40, "D" * 40, "E" * 20):
        assert word in joined
    assert len(lines) <= 3 and all(size(line) <= 85 for line in lines)


def test_a_single_word_longer_than_a_line_is_split_hard():
    word = "X" * 200
    lines = spread([word], 3, 85)
    assert lines == ["X" * 85, "X" * 85, "X" * 30]


def test_hard_split_respects_multibyte_characters():
    word = "é" * 100  # 200 bytes
    lines = spread([word], 3, 85)
    assert "".join(lines) == word
    assert all(size(line) <= 85 for line in lines)


def test_too_long_is_an_error_with_its_size_and_the_limit():
    parts = ["kata " * 40, "jalan " * 20]
    with pytest.raises(AddressTooLong) as caught:
        spread(parts, 3, 85)
    message = str(caught.value)
    total = size(", ".join(" ".join(p.split()) for p in parts))
    assert f"the address is {total} bytes" in message
    assert "3 lines of 85 bytes (255 bytes)" in message


def test_no_parts_gives_no_lines():
    assert spread(["", "  "], 3, 85) == []
