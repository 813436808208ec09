"""The JNE client over real HTTP: the sandbox JNE and a fake JNE for odd replies, both on loopback."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import traceback
from urllib.parse import parse_qsl

import jne_helpers
import pytest
from jne_helpers import TEST_API_KEY, TEST_USERNAME, closed_port_url, valid_fields

from integration.jne.client import (
    AUTH_FAILED,
    BOOKED,
    DUPLICATE,
    REJECTED,
    TRANSIENT,
    BookingResult,
    JNEClient,
    classify_reply,
)

# The shared fixtures: servers on loopback ports (see jne_helpers).
sandbox_server, sandbox = jne_helpers.sandbox_server, jne_helpers.sandbox
fake_jne_server, fake_jne = jne_helpers.fake_jne_server, jne_helpers.fake_jne

CNOTE = re.compile(r"[0-9]{16}")


@pytest.fixture
def client(sandbox):
    jne = JNEClient(sandbox.url, TEST_USERNAME, TEST_API_KEY, timeout_s=5)
    yield jne
    jne.close()


@pytest.fixture
def fake_client(fake_jne):
    jne = JNEClient(fake_jne.url, TEST_USERNAME, TEST_API_KEY, timeout_s=5)
    yield jne
    jne.close()


# --- booked and duplicate, against the sandbox ---

def test_books_the_documents_example_and_gets_a_cnote(client, sandbox):
    result = client.book(valid_fields())
    assert result.outcome == BOOKED and result.done and not result.retry_safe
    assert CNOTE.fullmatch(result.cnote)
    assert result.http_status == 200 and result.duration_s > 0
    [booking] = sandbox.bookings()
    assert booking["cnote"] == result.cnote and booking["order_id"] == "8810102030983216"
    assert booking["fields"] == valid_fields()  # every field arrived as sent, credentials not among them


def test_second_booking_of_an_order_id_is_a_duplicate_with_the_first_cnote(client):
    first = client.book(valid_fields())
    again = client.book(valid_fields(RECEIVER_NAME="SOMEONE ELSE"))
    assert again.outcome == DUPLICATE and again.done
    assert again.cnote == first.cnote


def test_lost_reply_is_transient_and_the_retry_gets_duplicate_with_the_same_cnote(client, sandbox):
    sandbox.faults(lose_reply=1, stall_s=0.2)
    lost = client.book(valid_fields(ORDER_ID="ALI1001"))
    assert lost.outcome == TRANSIENT and lost.retry_safe and lost.http_status is None
    assert lost.cnote is None and lost.duration_s >= 0.2
    assert "Remote" in lost.reason or "reset" in lost.reason.lower() or "aborted" in lost.reason
    [booking] = sandbox.bookings()  # JNE booked although we never heard back
    assert sandbox.stats()["by_order_id"] == {"ALI1001": 1}  # the client did not retry on its own

    retry = client.book(valid_fields(ORDER_ID="ALI1001"))
    assert retry.outcome == DUPLICATE and retry.cnote == booking["cnote"]
    assert len(sandbox.bookings()) == 1


def test_read_timeout_is_transient_and_the_retry_gets_duplicate(sandbox):
    sandbox.faults(lose_reply=1, stall_s=1.5)
    impatient = JNEClient(sandbox.url, TEST_USERNAME, TEST_API_KEY, timeout_s=0.3)
    started = time.monotonic()
    result = impatient.book(valid_fields(ORDER_ID="ALI1002"))
    assert time.monotonic() - started < 1.2  # gave up at the read timeout, not after the stall
    assert result.outcome == TRANSIENT and "in time" in result.reason
    retry = impatient.book(valid_fields(ORDER_ID="ALI1002"))
    assert retry.outcome == DUPLICATE and retry.cnote == sandbox.bookings()[0]["cnote"]
    impatient.close()


def test_502_is_transient_and_not_retried_inside(client, sandbox):
    sandbox.faults(fail_502=1)
    result = client.book(valid_fields())
    assert result.outcome == TRANSIENT and result.http_status == 502 and "502" in result.reason
    assert sandbox.bookings() == [] and sandbox.stats()["requests"] == 1
    assert client.book(valid_fields()).outcome == BOOKED


def test_connection_refused_is_transient():
    jne = JNEClient(closed_port_url(), TEST_USERNAME, TEST_API_KEY, timeout_s=2)
    result = jne.book(valid_fields())
    assert result.outcome == TRANSIENT and result.http_status is None and result.cnote is None
    assert "ConnectionError" in result.reason


def test_sandbox_down_drops_the_connection_transient(client, sandbox):
    sandbox.faults(down=True)
    assert client.book(valid_fields()).outcome == TRANSIENT
    assert sandbox.bookings() == []


def test_many_threads_book_at_once_over_one_pooled_client(client, sandbox):
    adapter = client.session.get_adapter(sandbox.url)
    assert adapter._pool_maxsize >= 16
    results: list[BookingResult] = []

    def book(n: int) -> None:
        results.append(client.book(valid_fields(ORDER_ID=f"ALI{n:04d}")))

    threads = [threading.Thread(target=book, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.outcome for r in results] == [BOOKED] * 20
    assert len({r.cnote for r in results}) == 20 == len(sandbox.bookings())


# --- rejected and auth_failed, against the sandbox ---

def test_wrong_api_key_is_auth_failed(sandbox):
    jne = JNEClient(sandbox.url, TEST_USERNAME, "0" * 32)
    result = jne.book(valid_fields())
    assert result.outcome == AUTH_FAILED and result.needs_person and not result.retry_safe
    assert "Username Or API KEY Not Found." in result.reason


def test_empty_mandatory_field_is_rejected_with_jnes_words(client):
    result = client.book(valid_fields(RECEIVER_PHONE=" "))
    assert result.outcome == REJECTED and "Please do not let paramaters empty." in result.reason


def test_detail_reason_is_rejected(client):
    result = client.book(valid_fields(RECEIVER_ADDR1="JALAN " * 20))
    assert result.outcome == REJECTED and "RECEIVER_ADDR1" in result.reason


def test_success_without_cnote_is_rejected(client, sandbox):
    result = client.book(valid_fields(ORDER_ID="ali-1001"))
    assert result.outcome == REJECTED and result.cnote is None
    assert "without a cnote" in result.reason and "ORDER_ID" in result.reason
    assert sandbox.bookings() == []


def test_sandbox_firewall_page_is_rejected(client):
    result = client.book(valid_fields(GOODS_DESC="<script>alert(1)</script>"))
    assert result.outcome == REJECTED and "firewall" in result.reason
    assert "security Policy" in result.reply


# --- odd replies, from a fake JNE ---

WAF_HTML = ("<html><head><title>Request Rejected</title></head><body>Content not confirm our security "
            "Policy<br>Your support ID is: 1234567890123456789</body></html>")


@pytest.mark.parametrize("status, body, content_type, outcome, cnote", [
    (200, '{"detail":[{"status":"SUCCESS","cnote_no":"0109401600067399"}]}', "application/json", BOOKED,
     "0109401600067399"),
    (200, '{"detail":[{"status":"success","cnote_no":""}]}', "application/json", REJECTED, None),
    (200, '{"detail":[{"status":"success"}]}', "text/html", REJECTED, None),
    (200, '{"detail":[{"reason":"Order id already exist, please try another one","status":"Error",'
          '"cnote":"1234567890"}]}', "application/json", DUPLICATE, "1234567890"),
    (200, '{"detail":[{"reason":"Order id already exist","status":"Error","cnote_no":"77"}]}',
     "application/json", DUPLICATE, "77"),
    (200, '{"detail":[{"status":"Error","reason":"Destination code not found"}]}', "application/json",
     REJECTED, None),
    (200, '{"error": "Please do not let paramaters empty.", "status": false}', "application/json", REJECTED, None),
    (200, '{"error": "Username Or API KEY Not Found.", "status": false}', "application/json", AUTH_FAILED, None),
    (200, '{"error": "Username Or API KEY Not Found.", "status": "false"}', "application/json", AUTH_FAILED,
     None),
    (200, WAF_HTML, "text/html", REJECTED, None),
    (200, "<html><body>Service Temporarily Unavailable</body></html>", "text/html", TRANSIENT, None),
    (200, "", "text/plain", TRANSIENT, None),
    (200, "[]", "application/json", TRANSIENT, None),
    (200, '{"something": "else"}', "application/json", TRANSIENT, None),
    (429, '{"error": "Too many requests"}', "application/json", TRANSIENT, None),
    (500, '{"error": "Internal"}', "application/json", TRANSIENT, None),
    (503, "<html>Service Unavailable</html>", "text/html", TRANSIENT, None),
    (404, "<html>Not Found</html>", "text/html", TRANSIENT, None),
])
def test_every_reply_shape_is_classified(fake_jne, fake_client, status, body, content_type, outcome, cnote):
    fake_jne.reply(body, status=status, content_type=content_type)
    result = fake_client.book(valid_fields())
    assert (result.outcome, result.cnote, result.http_status) == (outcome, cnote, status)
    assert result.reply == body[:2000]
    assert result.reason
    assert len(fake_jne.seen) == 1  # one attempt, never a silent retry


def test_rejected_reason_carries_jnes_own_reason(fake_jne, fake_client):
    fake_jne.reply('{"detail":[{"status":"Error","reason":"Destination code not found"}]}')
    assert fake_client.book(valid_fields()).reason == "JNE refused the booking: Destination code not found"


def test_reply_is_cut_to_2000_characters(fake_jne, fake_client):
    fake_jne.reply("x" * 5000, content_type="text/plain")
    result = fake_client.book(valid_fields())
    assert result.outcome == TRANSIENT and len(result.reply) == 2000


def test_request_is_a_form_post_with_credentials_first_and_accept_json(fake_jne, fake_client):
    fake_jne.reply('{"detail":[{"status":"success","cnote_no":"1"}]}')
    fields = valid_fields(WEIGHT=0.5, QTY=2, GOODS_AMOUNT=1e-05)
    fake_client.book(fields)
    [seen] = fake_jne.seen
    assert seen["accept"] == "application/json"
    assert seen["content_type"] == "application/x-www-form-urlencoded"
    pairs = parse_qsl(seen["raw"], keep_blank_values=True)
    assert pairs[:2] == [("username", TEST_USERNAME), ("api_key", TEST_API_KEY)]
    sent = dict(pairs[2:])
    assert [k for k, _ in pairs[2:]] == list(fields)
    assert (sent["WEIGHT"], sent["QTY"], sent["GOODS_AMOUNT"]) == ("0.5", "2", "0.00001")


def test_classify_reply_is_usable_without_http():
    assert classify_reply(200, b'{"detail":[{"status":"success","cnote_no":"42"}]}') == (
        BOOKED, "42", "booked with cnote 42")


# --- the api_key never leaks ---

def test_api_key_never_appears_in_logs_results_reprs_or_exceptions(caplog, sandbox, fake_jne):
    secret = "S3cr3t-K3y+/=&x"  # characters that form-encoding changes, to catch encoded leaks
    caplog.set_level(logging.DEBUG)
    logging.getLogger("urllib3").setLevel(logging.DEBUG)
    results: list[BookingResult] = []
    texts: list[str] = []

    sandbox_client = JNEClient(sandbox.url, "TESTAPI", secret, timeout_s=0.3)
    results.append(sandbox_client.book(valid_fields()))  # auth_failed: the sandbox does not know it
    sandbox.faults(latency_ms=600)
    results.append(sandbox_client.book(valid_fields()))  # read timeout
    sandbox.faults(latency_ms=0, down=True)
    results.append(sandbox_client.book(valid_fields()))  # connection dropped
    sandbox.faults(down=False)
    results.append(JNEClient(closed_port_url(), "TESTAPI", secret).book(valid_fields()))  # refused
    assert [r.outcome for r in results] == [AUTH_FAILED, TRANSIENT, TRANSIENT, TRANSIENT]

    echo_client = JNEClient(fake_jne.url, "TESTAPI", secret)
    for make in (lambda raw: json.dumps({"error": f"bad request {raw}", "status": False}),
                 lambda raw: f"<html>{raw}</html>",
                 lambda raw: json.dumps({"detail": [{"status": "Error", "reason": raw}]})):
        fake_jne.reply(make)
        results.append(echo_client.book(valid_fields()))
    assert [r.outcome for r in results[4:]] == [REJECTED, TRANSIENT, REJECTED]
    assert "***" in results[-1].reply and "***" in results[-1].reason  # the echo was masked, not dropped

    try:
        echo_client.book(dict(valid_fields(), api_key=secret))
    except ValueError as exc:
        texts += [str(exc), repr(exc), "".join(traceback.format_exception(exc))]
    else:
        pytest.fail("credentials inside the booking fields must be refused")

    for client in (sandbox_client, echo_client):
        texts += [repr(client), str(client), repr(vars(client))]
    texts += [repr(r) for r in results] + [str(r) for r in results]
    texts.append(caplog.text)
    assert any("api_key" in t for t in texts)  # the test looks at texts that mention the field
    for encoded in (secret, "S3cr3t-K3y%2B%2F%3D%26x", "S3cr3t-K3y+%2F%3D%26x"):
        leaks = [t for t in texts if encoded in t]
        assert leaks == [], leaks
    assert "integration.jne" in {r.name for r in caplog.records}
    assert any(r.name.startswith("urllib3") for r in caplog.records)


def test_client_and_logs_show_order_id_and_outcome(caplog, client):
    caplog.set_level(logging.INFO, logger="integration.jne")
    result = client.book(valid_fields(ORDER_ID="ALI7"))
    assert repr(client) == f"JNEClient(url={client.url!r}, username='TESTAPI')"
    [record] = [r for r in caplog.records if r.name == "integration.jne"]
    assert "ORDER_ID=ALI7" in record.getMessage() and f"outcome=booked cnote={result.cnote}" in record.getMessage()


def test_bad_url_or_timeout_is_refused_at_construction():
    with pytest.raises(ValueError, match="url"):
        JNEClient("apiv2.jne.co.id:10102/pickupcashless", "U", "K")
    with pytest.raises(ValueError, match="timeout_s"):
        JNEClient("http://127.0.0.1/x", "U", "K", timeout_s=0)


# --- the environment's proxy settings, read once when the client is made ---

def test_a_proxy_from_the_environment_carries_the_bookings(sandbox, monkeypatch):
    # The sandbox stands in for the proxy: it answers a request for an absolute URL like its own.
    proxy = sandbox.url.rsplit("/", 1)[0]
    monkeypatch.setenv("HTTP_PROXY", proxy)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    jne = JNEClient("http://jne-behind-proxy.invalid/pickupcashless", TEST_USERNAME, TEST_API_KEY, timeout_s=5)
    try:
        results = [jne.book(valid_fields(ORDER_ID=f"PROXY{i}")) for i in range(2)]
    finally:
        jne.close()
    assert [r.outcome for r in results] == [BOOKED, BOOKED]
    assert sorted(b["order_id"] for b in sandbox.bookings()) == ["PROXY0", "PROXY1"]


def test_no_proxy_in_the_environment_keeps_the_client_off_the_proxy(sandbox, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", sandbox.url.rsplit("/", 1)[0])
    monkeypatch.setenv("NO_PROXY", "jne-behind-proxy.invalid")
    jne = JNEClient("http://jne-behind-proxy.invalid/pickupcashless", TEST_USERNAME, TEST_API_KEY, timeout_s=5)
    try:
        result = jne.book(valid_fields(ORDER_ID="DIRECT1"))
    finally:
        jne.close()
    assert result.outcome == TRANSIENT  # straight to a host that does not resolve
    assert sandbox.bookings() == []
