"""The sandbox JNE over real HTTP: the document's replies, its memory, its faults and controls."""

from __future__ import annotations

import re
import threading
import time
from datetime import datetime

import jne_helpers
import pytest
import requests
from jne_helpers import DOCUMENT_EXAMPLE, TEST_API_KEY, TEST_USERNAME, valid_fields

from integration.jne.sandbox import AUTH_ERROR, EMPTY_ERROR, create_sandbox_app
from integration.serving import serve_in_thread

sandbox_server, sandbox = jne_helpers.sandbox_server, jne_helpers.sandbox

CNOTE = re.compile(r"[0-9]{16}")


def form(**overrides):
    """The document's example request with INSURANCE_FLAG N, credentials included."""
    return {"username": TEST_USERNAME, "api_key": TEST_API_KEY, **valid_fields(**overrides)}


def test_documents_example_request_books_with_a_16_digit_cnote(sandbox):
    response = sandbox.post(dict(DOCUMENT_EXAMPLE, INSURANCE_FLAG="N"))
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert list(body) == ["detail"] and list(body["detail"][0]) == ["status", "cnote_no"]
    assert body["detail"][0]["status"] == "success"
    assert CNOTE.fullmatch(body["detail"][0]["cnote_no"])


def test_lenient_like_jnes_test_server_insurance_flag_zero_books(sandbox):
    assert sandbox.post(DOCUMENT_EXAMPLE).json()["detail"][0]["status"] == "success"


def test_root_path_answers_too(sandbox):
    response = requests.post(sandbox.server.url + "/", data=form(), timeout=5)
    assert response.json()["detail"][0]["status"] == "success"


@pytest.mark.parametrize("credentials", [
    {"username": TEST_USERNAME, "api_key": "0" * 32},
    {"username": "NOBODY", "api_key": TEST_API_KEY},
    {"username": TEST_USERNAME},
    {},
])
def test_bad_credentials_get_jnes_auth_error(sandbox, credentials):
    response = sandbox.post({**valid_fields(), **credentials})
    assert response.status_code == 200 and response.json() == AUTH_ERROR
    assert response.text.replace(" ", "").strip() == '{"error":"UsernameOrAPIKEYNotFound.","status":false}'
    assert sandbox.bookings() == []


@pytest.mark.parametrize("name", ["PICKUP_NAME", "ORDER_ID", "RECEIVER_PHONE", "WEIGHT", "SHIPPER_COUNTRY",
                                  "RECEIVER_COUNTRY", "TYPE"])
def test_missing_or_blank_mandatory_field_gets_jnes_empty_error(sandbox, name):
    missing = form()
    del missing[name]
    for bad in (missing, form(**{name: ""}), form(**{name: " "})):
        response = sandbox.post(bad)
        assert response.status_code == 200 and response.json() == EMPTY_ERROR
    assert sandbox.bookings() == []


def test_optional_fields_may_be_left_out(sandbox):
    response = sandbox.post(form(SHIPPER_ADDR3=None, RECEIVER_ADDR3=None, LAT=None, LON=None, AWB=None,
                                 COD_FLAG=None, COD_AMOUNT=None))
    assert response.json()["detail"][0]["status"] == "success"


def test_duplicate_order_id_gets_the_first_cnote(sandbox):
    first = sandbox.post(form()).json()["detail"][0]["cnote_no"]
    again = sandbox.post(form(RECEIVER_NAME="OTHER")).json()
    assert again == {"detail": [{"reason": "Order id already exist, please try another one", "status": "Error",
                                 "cnote": first}]}
    assert len(sandbox.bookings()) == 1 and sandbox.bookings()[0]["fields"]["RECEIVER_NAME"] == "ANA"


def test_order_id_with_lowercase_or_hyphen_gets_success_without_cnote(sandbox):
    for bad in ("ali1001", "ALI-1001", "A" * 21):
        assert sandbox.post(form(ORDER_ID=bad)).json() == {"detail": [{"status": "success", "cnote_no": ""}]}
    assert sandbox.bookings() == []


@pytest.mark.parametrize("overrides, words", [
    ({"RECEIVER_ADDR1": "王" * 29}, "RECEIVER_ADDR1 is too long (maximum 85 bytes)"),
    ({"WEIGHT": "0"}, "WEIGHT must be a number greater than 0"),
    ({"QTY": "satu"}, "QTY must be a number greater than 0"),
])
def test_values_jne_refuses_get_a_detail_reason(sandbox, overrides, words):
    assert sandbox.post(form(**overrides)).json() == {"detail": [{"status": "Error", "reason": words}]}
    assert sandbox.bookings() == []


def test_html_in_a_value_gets_the_firewall_page(sandbox):
    response = sandbox.post(form(GOODS_DESC="<script>alert(1)</script>"))
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/html")
    assert "Content not confirm our security Policy" in response.text
    assert sandbox.bookings() == []


def test_bookings_keep_fields_without_credentials(sandbox):
    cnote = sandbox.post(form(ORDER_ID="ALI1")).json()["detail"][0]["cnote_no"]
    [booking] = sandbox.bookings()
    assert set(booking) == {"username", "order_id", "cnote", "fields", "booked_at"}
    assert (booking["username"], booking["order_id"], booking["cnote"]) == (TEST_USERNAME, "ALI1", cnote)
    assert booking["fields"] == valid_fields(ORDER_ID="ALI1")
    assert TEST_API_KEY not in str(sandbox.bookings())
    assert datetime.fromisoformat(booking["booked_at"]).tzinfo is not None


def test_stats_count_every_booking_request(sandbox):
    sandbox.post(form(ORDER_ID="A1"))
    sandbox.post(form(ORDER_ID="A1"))
    sandbox.post({**form(ORDER_ID="B2"), "username": "NOBODY"})
    sandbox.faults(fail_502=1)
    sandbox.post(form(ORDER_ID="C3"))
    assert sandbox.stats() == {"requests": 4, "by_username": {TEST_USERNAME: 3, "NOBODY": 1},
                               "by_order_id": {"A1": 2, "B2": 1, "C3": 1}}


def test_fail_502_answers_the_next_n_requests_with_502(sandbox):
    assert sandbox.faults(fail_502=2)["fail_502"] == 2
    assert [sandbox.post(form()).status_code for _ in range(3)] == [502, 502, 200]
    assert len(sandbox.bookings()) == 1


def test_latency_delays_every_answer(sandbox):
    sandbox.faults(latency_ms=300)
    started = time.monotonic()
    assert sandbox.post(form()).status_code == 200
    assert time.monotonic() - started >= 0.3


def test_lose_reply_books_then_drops_the_connection(sandbox):
    sandbox.faults(lose_reply=1, stall_s=0.2)
    started = time.monotonic()
    with pytest.raises(requests.ConnectionError):
        sandbox.post(form(ORDER_ID="LOST1"))
    assert time.monotonic() - started >= 0.2
    [booking] = sandbox.bookings()
    assert booking["order_id"] == "LOST1"
    assert requests.get(sandbox.server.url + "/_sandbox/faults", timeout=5).json()["lose_reply"] == 0
    duplicate = sandbox.post(form(ORDER_ID="LOST1")).json()["detail"][0]
    assert duplicate["cnote"] == booking["cnote"]


def test_lose_reply_only_counts_successful_bookings(sandbox):
    sandbox.faults(lose_reply=1, stall_s=0.1)
    assert sandbox.post(form(WEIGHT="0")).json()["detail"][0]["status"] == "Error"  # not booked: answered
    with pytest.raises(requests.ConnectionError):
        sandbox.post(form())


def test_down_drops_every_booking_request(sandbox):
    sandbox.faults(down=True)
    for _ in range(2):
        with pytest.raises(requests.ConnectionError):
            sandbox.post(form())
    assert sandbox.bookings() == []
    assert requests.get(sandbox.server.url + "/_sandbox/stats", timeout=5).status_code == 200  # controls work
    sandbox.faults(down=False)
    assert sandbox.post(form()).status_code == 200


@pytest.mark.parametrize("bad, words", [
    ({"fail_503": 1}, "unknown fault 'fail_503'"), ({"fail_502": -1}, "0 or more"),
    ({"fail_502": 1.5}, "whole number"), ({"down": "yes"}, "true or false"), ({"latency_ms": "5"}, "number"),
])
def test_bad_faults_are_refused_with_a_message(sandbox, bad, words):
    response = requests.post(sandbox.server.url + "/_sandbox/faults", json=bad, timeout=5)
    assert response.status_code == 400 and words in response.json()["error"]
    assert requests.get(sandbox.server.url + "/_sandbox/faults", timeout=5).json() == {
        "latency_ms": 0, "fail_502": 0, "lose_reply": 0, "stall_s": 2.0, "down": False}


def test_reset_clears_bookings_stats_and_faults(sandbox):
    sandbox.post(form())
    sandbox.faults(fail_502=5, latency_ms=10)
    sandbox.reset()
    assert sandbox.bookings() == [] and sandbox.stats() == {"requests": 0, "by_username": {}, "by_order_id": {}}
    assert sandbox.post(form()).status_code == 200


def test_concurrent_requests_for_one_order_id_book_it_once(sandbox):
    replies: list[dict] = []

    def post() -> None:
        replies.append(sandbox.post(form(ORDER_ID="RACE1")).json()["detail"][0])

    threads = [threading.Thread(target=post) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    [booking] = sandbox.bookings()
    assert sum(r["status"] == "success" for r in replies) == 1
    assert {r.get("cnote_no") or r.get("cnote") for r in replies} == {booking["cnote"]}


def test_own_accounts_and_initial_faults():
    app = create_sandbox_app({"TOKOALI": "k1", "TOKOBUDI": "k2"}, fail_502=1)
    with serve_in_thread(app) as server:
        url = server.url + "/pickupcashless"

        def post(user, key):
            return requests.post(url, data={"username": user, "api_key": key, **valid_fields()}, timeout=5)

        assert post("TOKOALI", "k1").status_code == 502  # the initial fault
        ali = post("TOKOALI", "k1").json()["detail"][0]
        budi = post("TOKOBUDI", "k2").json()["detail"][0]  # ORDER_IDs are unique per account
        assert ali["status"] == budi["status"] == "success" and ali["cnote_no"] != budi["cnote_no"]
        assert post(TEST_USERNAME, TEST_API_KEY).json() == AUTH_ERROR
    with pytest.raises(ValueError, match="unknown fault"):
        create_sandbox_app(fail_404=1)
