"""An address outside Indonesia is never taken for a domestic one."""

from __future__ import annotations

from integration.destinations.country import address_country, in_indonesia
from integration.problems import render


def test_shopify_country_code_decides():
    us = {"city": "Brownsville", "zip": "15417", "province": "Pennsylvania", "province_code": "PA",
          "country": "United States", "country_code": "US"}
    verdict = address_country(us)
    assert verdict.inside is False
    assert render(verdict.problem()) == ("the shipping address is outside Indonesia (United States US); JNE "
                                         "pickup/cashless books domestic shipments only")
    kuching = {"city": "Kuching", "zip": "93050", "province": "Sarawak", "province_code": "SWK",
               "country": "Malaysia", "country_code": "MY"}
    assert address_country(kuching).inside is False
    jakarta = {"city": "Jakarta Selatan", "zip": "12170", "province": "Jakarta", "province_code": "JK",
               "country": "Indonesia", "country_code": "ID"}
    assert address_country(jakarta).inside is True and address_country(jakarta).problem() is None


def test_woocommerce_country_is_the_code():
    assert address_country({"city": "Medan", "postcode": "20112", "state": "SU", "country": "ID"}).inside is True
    assert address_country({"city": "Brownsville", "postcode": "15417", "state": "PA", "country": "US"}).inside is False
    assert address_country({"city": "Goma", "postcode": "0091", "state": "NK", "country": "CD"}).inside is False


def test_without_a_country_only_an_indonesian_province_and_postal_code_count():
    assert in_indonesia(postal_code="40132", province="Jawa Barat").inside is True
    assert in_indonesia(postal_code="40132", province="JB").inside is True
    # a US zip that is also an Indonesian one, with a US state: cannot tell, never "Papua"
    unknown = in_indonesia(postal_code="15417", province="Pennsylvania")
    assert unknown.inside is None
    assert render(unknown.problem()) == ("the shipping address names no country, and its postal code 15417 and "
                                         "province Pennsylvania do not show it is in Indonesia")
    assert in_indonesia(postal_code="1541", province="Jawa Barat").inside is None
    assert in_indonesia().inside is None
    assert address_country(None).inside is None


def test_country_names_in_other_spellings():
    for said in ("Indonesia", "INDONESIA", "Republik Indonesia", "IDN", " id "):
        assert in_indonesia(country=said).inside is True, said
    for said in ("Malaysia", "Singapore", "India", "IN"):
        assert in_indonesia(country=said).inside is False, said
