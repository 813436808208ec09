"""The Cerberus schema of JNE's document: every rule with a passing and a failing case."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jne_helpers import DOCUMENT_HS_CODE, batam_fields, example_fields, hs_codes, valid_fields

from integration.jne.fields import BY_NAME, FIELD_NAMES, FIELDS
from integration.jne.schema import SCHEMA, BookingValidator, as_form, validate_booking


def problems(**overrides):
    return validate_booking(valid_fields(**overrides))


def assert_only(found: dict[str, list[str]], field: str, *words: str) -> None:
    """Exactly one field has problems, and its messages name the field and contain ``words``."""
    assert list(found) == [field], found
    text = " | ".join(found[field])
    assert field in text
    for word in words:
        assert word in text, (word, text)


# --- the document's own example and the baseline ---

def test_document_example_fails_only_on_insurance_flag_zero():
    found = validate_booking(example_fields())
    assert found == {"INSURANCE_FLAG": ["INSURANCE_FLAG is '0'; JNE accepts Y or N"]}


def test_document_example_with_insurance_n_is_valid():
    assert validate_booking(valid_fields()) == {}


def test_numbers_are_accepted_as_numbers():
    assert problems(WEIGHT=1.5, QTY=2, GOODS_AMOUNT=Decimal("30000.50"), COD_AMOUNT=0) == {}
    assert as_form({"WEIGHT": 0.00001, "QTY": 3, "X": None}) == {"WEIGHT": "0.00001", "QTY": "3"}


def test_schema_covers_every_field_of_the_document():
    assert list(SCHEMA) == list(FIELD_NAMES)
    for f in FIELDS:
        assert SCHEMA[f.name]["required"] is f.required
        assert SCHEMA[f.name].get("max_bytes") == f.max_bytes


def test_a_validator_built_once_is_reusable():
    validator = BookingValidator(SCHEMA)
    assert validator.validate(valid_fields()) is True
    assert validator.validate(example_fields()) is False
    assert list(validator.messages()) == ["INSURANCE_FLAG"]
    assert validator.validate(valid_fields()) is True
    assert validator.messages() == {}


# --- mandatory fields: missing and blank ---

REQUIRED = [f.name for f in FIELDS if f.required]
PLAIN_TEXT = [name for name, rules in SCHEMA.items()
              if set(rules) <= {"type", "required", "nonblank", "max_bytes"}]


@pytest.mark.parametrize("name", REQUIRED)
def test_required_field_missing_or_blank_fails(name):
    for bad in (None, "", " ", "\t \n"):
        found = problems(**{name: bad}) if bad is not None else validate_booking(
            {k: v for k, v in valid_fields().items() if k != name})
        assert found == {name: [f"{name} is required and must not be blank"]}, (bad, found)


@pytest.mark.parametrize("name", [n for n in REQUIRED if n in PLAIN_TEXT])
def test_required_text_field_with_a_dash_passes(name):
    assert problems(**{name: "-"}) == {}


def test_shipper_and_receiver_country_are_required():
    assert "SHIPPER_COUNTRY" in REQUIRED and "RECEIVER_COUNTRY" in REQUIRED
    assert list(problems(RECEIVER_COUNTRY=" ")) == ["RECEIVER_COUNTRY"]


@pytest.mark.parametrize("name", ["SHIPPER_ADDR3", "RECEIVER_ADDR3", "LAT", "LON", "AWB", "COD_FLAG",
                                  "COD_AMOUNT", "RETURN_ZIP", "RETURN_NAME"])
def test_optional_field_may_be_missing_or_blank(name):
    assert problems(**{name: None}) == {}
    assert problems(**{name: ""}) == {}


# --- byte limits ---

LIMITED = [name for name in PLAIN_TEXT if BY_NAME[name].max_bytes]


@pytest.mark.parametrize("name", LIMITED)
def test_byte_limit_ascii(name):
    limit = BY_NAME[name].max_bytes
    assert problems(**{name: "A" * limit}) == {}
    assert_only(problems(**{name: "A" * (limit + 1)}), name, f"is {limit + 1} bytes", f"at most {limit}")


def padded(prefix: str, limit: int) -> str:
    """``prefix`` filled with "x" up to exactly ``limit`` UTF-8 bytes."""
    return prefix + "x" * (limit - len(prefix.encode()))


@pytest.mark.parametrize("name, at_limit", [
    ("RECEIVER_NAME", "王" * 10),                           # Chinese: 3 bytes a character
    ("RECEIVER_NAME", "😀" * 7 + "ab"),                     # emoji: 4 bytes
    ("RECEIVER_NAME", padded("Zoë Siti Nurhaliza Dé", 30)),  # accented Latin: 2 bytes
    ("SHIPPER_CONTACT", "Tôkô Àli Ñusa é"),
    ("RECEIVER_ADDR1", padded("Jl. Merdeka No. 5, 北京路 RT 02/RW 03 😀", 85)),
])
def test_multibyte_value_at_the_byte_limit_passes_and_one_byte_more_fails(name, at_limit):
    limit = BY_NAME[name].max_bytes
    assert len(at_limit.encode()) == limit and len(at_limit) < limit
    assert problems(**{name: at_limit}) == {}
    over = at_limit + "."
    assert_only(problems(**{name: over}), name, f"is {limit + 1} bytes in UTF-8 ({len(over)} characters)",
                f"at most {limit}")


def cut_to_bytes(text: str, limit: int) -> str:
    """What a mapping's max_bytes transform does: cut on a character boundary."""
    return text.encode()[:limit].decode("utf-8", errors="ignore")


@settings(max_examples=150, deadline=None)
@given(st.text(min_size=1, max_size=40).filter(lambda s: s.strip()))
def test_byte_limit_is_utf8_bytes_not_characters(text):
    found = problems(RECEIVER_NAME=text)
    assert ("RECEIVER_NAME" in found) == (len(text.encode()) > 30)
    cut = cut_to_bytes(text, 30)
    if cut.strip():
        assert "RECEIVER_NAME" not in problems(RECEIVER_NAME=cut)


def test_long_values_are_shortened_in_messages():
    message = problems(RECEIVER_ADDR1="JALAN " * 40)["RECEIVER_ADDR1"][0]
    assert message.startswith("RECEIVER_ADDR1 is 240 bytes; JNE accepts at most 85")
    assert len(message) < 120 and "…" in message


# --- formats ---

@pytest.mark.parametrize("good", ["10-10-2019", "29-02-2024", "31-12-2025", "01-01-2026"])
def test_pickup_date_dd_mm_yyyy_passes(good):
    assert problems(PICKUP_DATE=good) == {}


@pytest.mark.parametrize("bad, words", [
    ("2025-01-31", "DD-MM-YYYY"), ("1-1-2025", "DD-MM-YYYY"), ("31/01/2025", "DD-MM-YYYY"),
    ("29-02-2025", "not a real date"), ("31-04-2025", "not a real date"), ("00-01-2025", "not a real date"),
    ("10-13-2025", "not a real date"),
])
def test_pickup_date_wrong_format_or_unreal_fails(bad, words):
    assert_only(problems(PICKUP_DATE=bad), "PICKUP_DATE", repr(bad), words)


@pytest.mark.parametrize("good", ["00:00", "09:05", "16:00", "23:30", "23:59"])
def test_pickup_time_hh_mm_24h_passes(good):
    assert problems(PICKUP_TIME=good) == {}


@pytest.mark.parametrize("bad", ["24:00", "9:30", "16.00", "4pm", "16:60", "16:00:00", " 16:00"])
def test_pickup_time_not_hh_mm_fails(bad):
    assert_only(problems(PICKUP_TIME=bad), "PICKUP_TIME", "HH:MM")


@pytest.mark.parametrize("name", ["SHIPPER_ZIP", "RECEIVER_ZIP", "RETURN_ZIP"])
def test_zip_exactly_five_digits(name):
    assert problems(**{name: "36124"}) == {}
    for bad in ("3612", "361245", "3612a", "３６１２４", "36 12"):
        assert_only(problems(**{name: bad}), name, "exactly 5 digits")


@pytest.mark.parametrize("name", ["WEIGHT", "QTY"])
def test_weight_and_qty_number_10_3_above_zero(name):
    for good in ("1", "0.001", "1234567.123", "2.5", 3, 0.25):
        assert problems(**{name: good}) == {}, good
    for bad, words in (("0", "above 0"), ("0.000", "above 0"), ("-1", "above 0"),
                       ("12345678", "at most 7 digits before the decimal point"),
                       ("0.0001", "at most 3 decimals"), ("1,5", "a number"), ("abc", "a number"),
                       ("1e3", "a number"), ("1.", "a number")):
        assert_only(problems(**{name: bad}), name, words)


@pytest.mark.parametrize("name", ["GOODS_AMOUNT", "COD_AMOUNT"])
def test_amounts_non_negative_numbers(name):
    for good in ("0", "30000", "30000.50", 125000):
        assert problems(**{name: good}) == {}, good
    assert_only(problems(**{name: "-1"}), name, "0 or more")
    assert_only(problems(**{name: "Rp 30.000"}), name, "a number")


def test_tax_value_non_negative_number_on_batam():
    assert validate_booking(batam_fields(TAX_VALUE="11000")) == {}
    assert_only(validate_booking(batam_fields(TAX_VALUE="-5")), "TAX_VALUE", "0 or more")


# --- choices ---

@pytest.mark.parametrize("name, good, bad, says", [
    ("TYPE", ["DROP", "PICKUP"], ["drop", "DELIVERY"], "DROP or PICKUP"),
    ("INSURANCE_FLAG", ["Y", "N"], ["0", "y", "YES"], "Y or N"),
    ("COD_FLAG", ["YES", "NO"], ["Y", "yes", "TRUE"], "YES or NO"),
    ("PICKUP_VEHICLE", ["MOTOR", "motor", "Mobil", "TRUCK"], ["BIKE", "CAR"], "MOTOR, MOBIL or TRUCK"),
    ("PICKUP_SERVICE", ["Domestic", "INTRACITY", "all", "REG"], ["YES", "Regular"], "Domestic, Intracity or All"),
])
def test_choice_fields(name, good, bad, says):
    for value in good:
        assert problems(**{name: value}) == {}, value
    for value in bad:
        assert_only(problems(**{name: value}), name, repr(value), says)


def test_cod_amount_required_and_above_zero_when_cod():
    assert problems(COD_FLAG="YES", COD_AMOUNT="37000") == {}
    assert_only(problems(COD_FLAG="YES", COD_AMOUNT=None), "COD_AMOUNT", "required when COD_FLAG is YES")
    assert_only(problems(COD_FLAG="YES", COD_AMOUNT=" "), "COD_AMOUNT", "required when COD_FLAG is YES")
    assert_only(problems(COD_FLAG="YES", COD_AMOUNT="0"), "COD_AMOUNT", "above zero when COD_FLAG is YES")
    assert problems(COD_FLAG="NO", COD_AMOUNT=None) == {}


@pytest.mark.parametrize("good", ["ALI1001", "8810102030983216", "A" * 20, "0"])
def test_order_id_capitals_and_digits_passes(good):
    assert problems(ORDER_ID=good) == {}


@pytest.mark.parametrize("bad", ["ali1001", "ALI-1001", "ALI 1001", "ALI#1001", "A" * 21, "ÄLI1"])
def test_order_id_anything_else_fails(bad):
    found = problems(ORDER_ID=bad)
    assert list(found) == ["ORDER_ID"]
    assert any("A-Z and digits 0-9" in m for m in found["ORDER_ID"])


# --- Batam ---

def test_batam_booking_with_the_documents_hs_code_passes():
    assert validate_booking(batam_fields(HS_CODE=DOCUMENT_HS_CODE)) == {}
    assert validate_booking(batam_fields(DESTINATION_CODE="BDO10000", ORIGIN_CODE="BTH10000")) == {}


def test_batam_five_hs_codes_pass_six_fail():
    assert validate_booking(batam_fields(HS_CODE=hs_codes(5))) == {}
    assert_only(validate_booking(batam_fields(HS_CODE=hs_codes(6))), "HS_CODE", "6 entries", "at most 5")


def test_hs_code_over_300_bytes_fails():
    long_codes = ",".join(f"{10**12};{10**6};6109.10.00.{i}" for i in range(5))
    assert len(long_codes) <= 300
    assert validate_booking(batam_fields(HS_CODE=long_codes)) == {}
    too_long = ",".join(f"{10**40};{10**6};6109.10.00" for _ in range(5))
    assert len(too_long.encode()) > 300
    assert_only(validate_booking(batam_fields(HS_CODE=too_long)), "HS_CODE", "at most 300")


@pytest.mark.parametrize("good", ["1000;1;4204", "1000;1;6109.10.00", "1000;2.5;1234567890", "0;1;4204"])
def test_hs_code_entry_passes(good):
    assert validate_booking(batam_fields(HS_CODE=good)) == {}


@pytest.mark.parametrize("bad, words", [
    ("1000;1;420", "not 4 to 10 digits"), ("1000;1;12345678901", "not 4 to 10 digits"),
    ("1000;1;4204.", "not 4 to 10 digits"), ("1000;1;HS4204", "not 4 to 10 digits"),
    ("abc;1;4204", "goods value 'abc'"), ("-1;1;4204", "goods value '-1'"),
    ("1000;0;4204", "qty '0'"), ("1000;x;4204", "qty 'x'"),
    ("1000;4204", "2 parts instead of 3"), ("1000;1;4204,", "entry 2 '' has 1 part instead of 3"),
    ("1000 ; 1 ; 4204", "goods value"),
])
def test_hs_code_entry_fails(bad, words):
    assert_only(validate_booking(batam_fields(HS_CODE=bad)), "HS_CODE", words, "value;qty;hs_code")


@pytest.mark.parametrize("name", ["HS_CODE", "ITEM_TYPE"])
def test_batam_requires_hs_code_and_item_type(name):
    assert_only(validate_booking(batam_fields(**{name: None})), name, "required", "Batam")
    assert_only(validate_booking(batam_fields(**{name: " "})), name, "required")


def test_item_type_one_to_five():
    for good in "12345":
        assert validate_booking(batam_fields(ITEM_TYPE=good)) == {}
    for bad in ("0", "6", "A", "01"):
        assert_only(validate_booking(batam_fields(ITEM_TYPE=bad)), "ITEM_TYPE", "1, 2, 3, 4 or 5")


@pytest.mark.parametrize("name, value", [("HS_CODE", DOCUMENT_HS_CODE), ("ITEM_TYPE", "1"),
                                         ("TAX_VALUE", "1000"), ("NPWP", "01.234.567.8-901.000")])
def test_batam_fields_on_a_non_batam_booking_fail(name, value):
    assert_only(problems(**{name: value}), name, "only sent for shipments from or to Batam", "BTH")


def test_blank_batam_default_on_a_non_batam_booking_is_tolerated():
    assert problems(NPWP="") == {}


# --- unknown fields, credentials, types, many problems at once ---

def test_unknown_field_fails():
    assert problems(RECEIVER_EMAIL="ana@example.com") == {
        "RECEIVER_EMAIL": ["RECEIVER_EMAIL is not a field of JNE's pickup API"]}


def test_credentials_are_not_booking_fields_and_are_never_echoed():
    found = problems(username="TESTAPI", api_key="s3cr3t-key-value")
    assert set(found) == {"username", "api_key"}
    assert "s3cr3t-key-value" not in repr(found)
    assert "client adds the credentials" in found["api_key"][0]
    assert "s3cr3t" not in repr(problems(api_key=["s3cr3t"], username={"k": "s3cr3t"}))


@pytest.mark.parametrize("value", [True, ["1"], {"kg": 1}])
def test_values_must_be_text_or_numbers(value):
    assert_only(problems(WEIGHT=value), "WEIGHT", "text or a number")


def test_every_problem_is_reported_at_once():
    found = validate_booking(dict(example_fields(), RECEIVER_ADDR1="x" * 97, WEIGHT="0", ORDER_ID="ab-1",
                                  RECEIVER_PHONE=" ", PICKUP_DATE="31-02-2020", HS_CODE="1;1;1", FOO="1"))
    assert list(found) == ["PICKUP_DATE", "ORDER_ID", "RECEIVER_ADDR1", "RECEIVER_PHONE", "WEIGHT",
                           "INSURANCE_FLAG", "HS_CODE", "FOO"]
    assert found["RECEIVER_ADDR1"][0].startswith("RECEIVER_ADDR1 is 97 bytes; JNE accepts at most 85")
    assert found["RECEIVER_PHONE"] == ["RECEIVER_PHONE is required and must not be blank"]
    assert len(found["HS_CODE"]) == 2  # bad entry, and not a Batam booking


def test_validation_is_thread_safe():
    cases = [valid_fields(), example_fields(), valid_fields(WEIGHT="0"), batam_fields(HS_CODE=hs_codes(6)),
             valid_fields(RECEIVER_NAME="王" * 11)]
    expected = [validate_booking(c) for c in cases]
    mismatches: list[object] = []

    def run() -> None:
        for _ in range(60):
            for case, want in zip(cases, expected, strict=True):
                got = validate_booking(case)
                if got != want:
                    mismatches.append(got)

    threads = [threading.Thread(target=run) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert mismatches == []
    assert [bool(e) for e in expected] == [False, True, True, True, True]
