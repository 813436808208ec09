"""Shipping labels: what a courier and a scanner read off the PDF, page by page."""

from __future__ import annotations

import pytest
from pdf_helpers import barcodes, page_sizes_mm, page_texts, pdf_text
from reportlab.graphics.barcode.code128 import Code128

from integration.labels import label_from_fields, render_labels, rupiah
from integration.labels.fonts import label_fonts
from integration.labels.render import barcode

FIELDS = {
    "ORDER_ID": "TC1042", "SERVICE_CODE": "REG", "DESTINATION_CODE": "CGK10101", "ORIGIN_CODE": "CGK10000",
    "RECEIVER_NAME": "SITI RAHMAWATI", "RECEIVER_ADDR1": "JL. KEMANG RAYA NO. 12",
    "RECEIVER_ADDR2": "RT 05/RW 02, BANGKA", "RECEIVER_ADDR3": "-", "RECEIVER_CITY": "JAKARTA SELATAN",
    "RECEIVER_ZIP": "12730", "RECEIVER_REGION": "DKI JAKARTA", "RECEIVER_PHONE": "+6281234567890",
    "SHIPPER_NAME": "TOKO CONTOH", "SHIPPER_ADDR1": "JL. KEMANG RAYA NO 5", "SHIPPER_ADDR2": "MAMPANG",
    "SHIPPER_CITY": "JAKARTA SELATAN", "SHIPPER_PHONE": "+6281234567890", "WEIGHT": "2", "QTY": "3",
    "GOODS_DESC": "KAOS POLOS", "GOODS_AMOUNT": "150000", "COD_FLAG": "YES", "COD_AMOUNT": "185000",
    "SPECIAL_INS": "-",
}


def test_rupiah_uses_indonesian_grouping_in_whole_rupiah():
    assert rupiah("125000") == "Rp 125.000"
    assert rupiah(1250000.4) == "Rp 1.250.000"
    assert rupiah("37000.00") == "Rp 37.000"
    assert rupiah("") == "" and rupiah("abc") == ""


def test_a_cod_label_holds_what_the_courier_needs_and_its_barcode_reads_as_the_cnote():
    pdf = render_labels([label_from_fields("0263783543908677", FIELDS, store="toko-contoh", order_number="#1042")])
    assert page_sizes_mm(pdf) == [(105.0, 148.0)]  # A6
    text = pdf_text(pdf)
    for wanted in ("0263783543908677", "TC1042", "REG", "CGK10101", "SITI RAHMAWATI", "JL. KEMANG RAYA NO. 12",
                   "12730", "+6281234567890", "TOKO CONTOH", "KAOS POLOS", "COD Rp 185.000"):
        assert wanted in text, wanted
    assert barcodes(pdf) == [[("Code128", "0263783543908677")]]


def test_a_prepaid_label_says_non_cod_and_names_no_amount_to_collect():
    fields = {**FIELDS, "COD_FLAG": "NO", "COD_AMOUNT": "185000"}
    text = pdf_text(render_labels([label_from_fields("CGK0001234567", fields)]))
    assert "NON COD" in text
    assert "Rp 185.000" not in text


def test_one_pdf_has_one_page_per_label_in_order_and_each_barcode_is_its_own_cnote():
    cnotes = [f"02637835439086{i:02d}" for i in range(5)] + ["JT0012345ABC"]  # digits and letters
    labels = [label_from_fields(c, {**FIELDS, "ORDER_ID": f"TC{i}"}) for i, c in enumerate(cnotes)]
    pdf = render_labels(labels)
    texts = page_texts(pdf)
    assert len(texts) == len(cnotes)
    for i, (page, cnote) in enumerate(zip(texts, cnotes, strict=True)):
        assert cnote in page and f"TC{i}" in page
    assert [page for page in barcodes(pdf)] == [[("Code128", c)] for c in cnotes]


def test_multibyte_names_are_drawn_with_an_embedded_unicode_font():
    assert label_fonts().unicode, "no TrueType font found: install fonts-dejavu-core"
    fields = {**FIELDS, "RECEIVER_NAME": "Ñandú Łódź Ǆemal", "RECEIVER_ADDR1": "Jl. Ξάνθη 7"}
    text = pdf_text(render_labels([label_from_fields("0263783543908677", fields)]))
    assert "Ñandú Łódź Ǆemal" in text
    assert "Jl. Ξάνθη 7" in text


def test_control_characters_and_markup_in_fields_are_printed_as_plain_text():
    fields = {**FIELDS, "RECEIVER_NAME": "<b>BUDI</b>\x00\x1b[31m", "SPECIAL_INS": "line1\nline2\tend"}
    label = label_from_fields("0263783543908677", fields)
    assert label.receiver_name == "<b>BUDI</b> [31m"
    assert label.special_instructions == "line1 line2 end"
    assert "<b>BUDI</b>" in pdf_text(render_labels([label]))


def test_very_long_values_are_shortened_instead_of_running_off_the_page():
    fields = {**FIELDS, "RECEIVER_ADDR1": "JALAN " * 40, "GOODS_DESC": "X" * 200}
    pdf = render_labels([label_from_fields("0263783543908677", fields)])
    assert len(page_texts(pdf)) == 1
    assert barcodes(pdf) == [[("Code128", "0263783543908677")]]


def test_no_labels_gives_a_one_page_notice():
    assert "No booked orders" in pdf_text(render_labels([]))


@pytest.mark.parametrize("cnote", ["0263783543908677", "CGK0001234567", "JNE12345678901234567"])
def test_the_barcode_with_its_quiet_zones_fits_inside_the_label_margins(cnote):
    code = barcode(cnote)
    assert isinstance(code, Code128) and code.value == cnote
    assert code.width <= 95 * 72 / 25.4
