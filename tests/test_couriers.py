"""Shipping line titles: the JNE service named, the store default for neutral titles, other couriers skipped."""

from __future__ import annotations

import pytest

from integration.couriers import read_shipping_line


@pytest.mark.parametrize(("title", "service"), [
    ("JNE - OKE", "OKE"), ("JNE - CTC", "CTC"), ("JNE - CTCYES", "CTCYES"), ("JNE YES", "YES"),
    ("jne reg", "REG"), ("JNE REG (2-3 hari)", "REG"), ("JNE-REG", "REG"), ("JNEYES", "YES"),
    ("JNE Trucking", "JTR"), ("JNE JTR<130", "JTR"), ("JNE - JTR250", "JTR"), ("JNE CTC YES", "CTCYES"),
    ("jne ctc-yes", "CTCYES"), ("JNE - Ongkos Kirim Ekonomis", "OKE"), ("JNE - JNE City Courier", "CTC"),
    ("JNE Reguler", "REG"), ("JNE Yakin Esok Sampai", "YES"), ("  jne   oke  ", "OKE"), ("YES", "YES"),
    ("Pengiriman JNE OKE", "OKE"),
])
def test_the_jne_service_named_is_picked_in_any_case_and_punctuation(title, service):
    choice = read_shipping_line(title)
    assert choice.is_jne and choice.courier == "JNE"
    assert choice.service == service and choice.named == service and not choice.default_used


@pytest.mark.parametrize("title", ["Flat Rate", "Free shipping", "FREE SHIPPING", "Generic Shipping", "Standard",
                                   "Ongkos kirim", "", None, "JNE"])
def test_a_neutral_title_gets_the_stores_default(title):
    choice = read_shipping_line(title, default_service="YES")
    assert choice.is_jne and choice.service == "YES" and choice.default_used


@pytest.mark.parametrize(("title", "courier"), [
    ("SICEPAT - REG", "SiCepat"), ("SiCepat HALU", "SiCepat"), ("Si Cepat BEST", "SiCepat"),
    ("J&T Express", "J&T"), ("J & T EZ", "J&T"), ("JNT - EZ", "J&T"), ("J&T Cargo", "J&T Cargo"),
    ("AnterAja Reguler", "AnterAja"), ("Anter Aja - Same Day", "AnterAja"), ("Pos Indonesia - Pos Kilat Khusus",
                                                                               "Pos Indonesia"),
    ("POS REG", "Pos Indonesia"), ("TIKI - REG", "TIKI"), ("TIKI ONS", "TIKI"), ("Ninja Xpress", "Ninja Xpress"),
    ("Lion Parcel - REGPACK", "Lion Parcel"), ("Wahana", "Wahana"), ("SAP Express - REG", "SAP Express"),
    ("GoSend Instant", "GoSend"), ("Go-Send Same Day", "GoSend"), ("GrabExpress Instant", "GrabExpress"),
    ("Grab Express Sameday", "GrabExpress"), ("Paxel - Same Day", "Paxel"), ("ID Express - Standard", "ID Express"),
    ("IDExpress", "ID Express"), ("Shopee Express Standard", "Shopee Express"), ("SPX Hemat", "Shopee Express"),
    ("Lalamove", "Lalamove"), ("RPX - REG", "RPX"),
])
def test_another_courier_is_skipped_with_its_name(title, courier):
    choice = read_shipping_line(title)
    assert not choice.is_jne and choice.service is None and choice.courier == courier
    assert choice.skip_reason == f"shipped with {courier}, not JNE"


def test_sicepat_reg_is_not_jne_reg():
    assert read_shipping_line("SICEPAT - REG").skip_reason == "shipped with SiCepat, not JNE"
    assert read_shipping_line("JNE - REG").service == "REG"


def test_ctc_is_sent_as_named_or_as_its_base_service_never_ctcyes_as_reg():
    assert read_shipping_line("JNE - CTC", ctc_as="base").service == "REG"
    assert read_shipping_line("JNE - CTCYES", ctc_as="base").service == "YES"
    assert read_shipping_line("JNE - CTCYES", ctc_as="base").named == "CTCYES"
    assert read_shipping_line("JNE - CTCYES").service == "CTCYES"
    assert read_shipping_line("JNE - YES", ctc_as="base").service == "YES"
    with pytest.raises(ValueError, match="ctc_as"):
        read_shipping_line("JNE - CTC", ctc_as="sometimes")


def test_buyer_pickup_is_not_shipped():
    for title in ("Local pickup", "Ambil di toko", "Store Pickup"):
        choice = read_shipping_line(title)
        assert not choice.is_jne and choice.skip_reason == "collected by the buyer at the store, not shipped"


def test_words_inside_other_words_are_not_couriers():
    # "POSTAL", "TIKIRAN", "GRABBAG", "LIONS", "ASAP" and "REGULARLY" name nothing
    for title in ("Postal delivery", "Tikiran shipping", "Grabbag", "Lions club ASAP"):
        assert read_shipping_line(title).is_jne
