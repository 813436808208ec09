"""Hostile input at both webhook endpoints, over real HTTP into a real ledger (issue 5).

Hypothesis builds requests from arbitrary headers (bytes in any encoding), bodies (empty, huge,
binary, JSON that is not an order, orders with hostile values), content types, chunked or not, and
signatures that are missing, wrong, garbage or valid over garbage. Whatever arrives: never a 5xx,
and nothing is stored unless the delivery was signed with the store's own secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
from typing import Any

import app_helpers
import pytest
import requests
from app_helpers import SHOPIFY_SECRET, SHOPIFY_SHOP, WOO_SECRET, WOO_SOURCE, example, write_config
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from integration.app import create_app
from integration.serving import serve_in_thread
from integration.state import AppState

served_app = app_helpers.served_app  # the fixture, used by name in this module

LIMIT = 4096
EXAMPLE_BODY = example("shopify_cod")[0]

PLATFORMS: dict[str, dict[str, Any]] = {
    "shopify": {"shop": ("X-Shopify-Shop-Domain", SHOPIFY_SHOP), "secret": SHOPIFY_SECRET,
                "signature": "X-Shopify-Hmac-Sha256", "topic": "X-Shopify-Topic",
                "topics": ["orders/create", "orders/paid", "orders/updated", "products/update"],
                "event": "X-Shopify-Event-Id",
                "extra": ["X-Shopify-Webhook-Id", "X-Shopify-API-Version", "X-Shopify-Test"]},
    "woocommerce": {"shop": ("X-WC-Webhook-Source", WOO_SOURCE), "secret": WOO_SECRET,
                    "signature": "X-WC-Webhook-Signature", "topic": "X-WC-Webhook-Topic",
                    "topics": ["order.created", "order.updated", "order.deleted", "product.created"],
                    "extra": ["X-WC-Webhook-Delivery-ID", "X-WC-Webhook-ID", "X-WC-Webhook-Resource"]},
}


def _sendable(value: bytes) -> bool:
    # What an HTTP client can put on the wire as one header value at all.
    return value == b"" or (value[:1] not in b" \t\x0b\x0c" and b"\r" not in value and b"\n" not in value)


header_values = st.one_of(
    st.binary(max_size=60),
    st.text(max_size=40).map(lambda t: t.encode("utf-8")),
    st.text(max_size=40).map(lambda t: t.encode("utf-16")),
    st.sampled_from([b"\xff\xfe", "é".encode("latin-1"), b"\x00", b"=?utf-8?b?w6k=?=", b"a" * 3000]),
).filter(_sendable)
header_names = st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,24}", fullmatch=True).filter(
    lambda n: n.lower() not in ("content-length", "transfer-encoding", "host", "connection", "expect"))
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=30))
json_values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)), max_leaves=12)
hostile_text = st.sampled_from(["\x00", "\ud800", "#\u0000\u0000", "\U0001f4e6" * 100, "a" * 500, " ", "",
                                "2025-13-45T99:99:99", "2025-03-14T10:21:34+07:00", "9999-12-31T23:59:59-12:00",
                                "0001-01-01T00:00:00+14:00"])
order_fields = {
    "name": st.one_of(hostile_text, json_values), "number": st.one_of(hostile_text, json_values),
    "updated_at": st.one_of(hostile_text, json_values), "date_modified_gmt": st.one_of(hostile_text, json_values),
}
order_ids = st.one_of(st.integers(min_value=-5, max_value=2**70), hostile_text, st.text(max_size=200), json_values)
orders = st.fixed_dictionaries({}, optional={"id": order_ids, **order_fields})
orders_with_ids = st.fixed_dictionaries({"id": st.one_of(st.integers(0, 2**63), st.text(min_size=1, max_size=70))},
                                        optional=order_fields)
bodies = st.one_of(
    st.binary(max_size=300),
    json_values.map(lambda v: json.dumps(v).encode()),
    orders.map(lambda v: json.dumps(v).encode()),
    orders_with_ids.map(lambda v: json.dumps(v).encode()),
    orders_with_ids.map(lambda v: json.dumps(v).encode()),  # twice: most signed orders get stored
    orders.map(lambda v: json.dumps(v, ensure_ascii=False).encode("utf-8", "surrogatepass")),
    st.sampled_from([b"", b" ", b"null", b"[]", b"{}", b"[" * 50_000, EXAMPLE_BODY, EXAMPLE_BODY[:-1],
                     b"webhook_id=7", b"webhook_id=", b"webhook_id=7&x=1", EXAMPLE_BODY.decode().encode("utf-16")]),
    st.integers(LIMIT - 2, LIMIT * 3).map(lambda n: b"{" + b" " * (n - 2) + b"}"),
)
content_types = st.one_of(st.none(), header_values, st.sampled_from([
    b"application/json", b"application/x-www-form-urlencoded", b"text/plain; charset=utf-16",
    b"multipart/form-data; boundary=xyz", b"application/json; charset=\xff"]))


@st.composite
def deliveries(draw: st.DrawFn, platform: str) -> dict[str, Any]:
    """One request: headers, body, how it was signed, chunked or not."""
    p = PLATFORMS[platform]
    body = draw(bodies)
    headers: dict[str, bytes] = {}
    for name in draw(st.lists(st.one_of(header_names, st.sampled_from(p["extra"])), max_size=5)):
        headers[name] = draw(header_values)
    right_shop = draw(st.sampled_from([True, True, True, False]))
    shop_name, shop = p["shop"]
    if right_shop:
        headers[shop_name] = draw(st.sampled_from([shop, shop.upper(), shop.rstrip("/")])).encode()
    elif draw(st.booleans()):
        headers[shop_name] = draw(header_values)
    topic = draw(st.one_of(st.sampled_from(p["topics"]).map(str.encode), st.sampled_from(p["topics"][:2]).map(str.encode),
                           header_values, st.none()))
    if topic is not None:
        headers[p["topic"]] = topic
    if "event" in p and draw(st.sampled_from([True, True, True, False])):
        headers[p["event"]] = draw(st.one_of(st.uuids().map(lambda u: str(u).encode()), header_values))
    how = draw(st.sampled_from(["valid", "valid", "valid", "wrong secret", "garbage", "none"]))
    if how in ("valid", "wrong secret"):
        key = p["secret"] if how == "valid" else draw(st.text(min_size=1, max_size=20))
        headers[p["signature"]] = base64.b64encode(
            hmac.new(key.encode(), body, hashlib.sha256).digest())
    elif how == "garbage":
        headers[p["signature"]] = draw(header_values)
    ctype = draw(content_types)
    if ctype is not None:
        headers["Content-Type"] = ctype
    signed = how == "valid" and right_shop
    return {"headers": headers, "body": body, "signed": signed, "chunked": draw(st.booleans())}


@pytest.fixture
def served(database_url, tmp_path, served_app):
    """The app on the test database with a 4 KiB body limit."""
    return served_app(write_config(tmp_path, database_url, webhooks={"max_body_bytes": LIMIT}))


def _send(url: str, platform: str, d: dict[str, Any]) -> requests.Response:
    body = d["body"]
    data = (body[i:i + 1000] for i in range(0, max(len(body), 1), 1000)) if d["chunked"] else body
    return requests.post(f"{url}/webhooks/{platform}", data=data, headers=d["headers"], timeout=30)


def _check(served, platform: str, d: dict[str, Any]) -> None:
    before = served.deliveries()
    r = _send(served, platform, d)
    stored = served.deliveries() - before
    assert r.status_code in (200, 400, 401, 413), (r.status_code, r.text)
    assert r.headers["Content-Type"] == "application/json"
    answer = r.json()
    event(f"{r.status_code} {answer.get('status') or answer.get('error')}")  # --hypothesis-show-statistics
    if not d["signed"]:
        assert stored == 0, answer
    if r.status_code != 200:
        assert stored == 0 and set(answer) == {"error"}
    elif answer.get("status") == "accepted":
        assert stored == 1
    else:
        assert stored == 0


SETTINGS = settings(max_examples=150, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                           HealthCheck.data_too_large, HealthCheck.large_base_example])


@SETTINGS
@given(d=deliveries("shopify"))
def test_hostile_requests_at_the_shopify_endpoint(served, d):
    _check(served, "shopify", d)


@SETTINGS
@given(d=deliveries("woocommerce"))
def test_hostile_requests_at_the_woocommerce_endpoint(served, d):
    _check(served, "woocommerce", d)


RAW_REQUESTS = {
    "content-length larger than the body": b"Content-Length: 100\r\n\r\n{}",
    "content-length not a number": b"Content-Length: abc\r\n\r\n{}",
    "negative content-length": b"Content-Length: -5\r\n\r\n{}",
    "huge content-length": b"Content-Length: 99999999999999999999\r\n\r\n{}",
    "two content-lengths": b"Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
    "chunked and content-length": b"Transfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
    "chunk size not hex": b"Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
    "chunk longer than said": b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}}}}\r\n0\r\n\r\n",
    "chunked without the last chunk": b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n",
    "chunked over the limit": b"Transfer-Encoding: chunked\r\n\r\n" + (b"1000\r\n" + b" " * 4096 + b"\r\n") * 3
                              + b"0\r\n\r\n",
    "header with a NUL and high bytes": b"X-Shopify-Shop-Domain: \x00\xff\xfe\r\nContent-Length: 2\r\n\r\n{}",
}


@pytest.fixture(scope="module")
def one_server(tmp_path_factory):
    """One app for every malformed-HTTP case: they test HTTP parsing, not the database."""
    home = tmp_path_factory.mktemp("malformed")
    app = create_app(str(write_config(home, f"sqlite:///{home / 'ledger.db'}", webhooks={"max_body_bytes": LIMIT})))
    server = serve_in_thread(app)
    yield app_helpers.ServedApp(server, app)
    server.stop()
    AppState.of(app).engine.dispose()


@pytest.mark.parametrize("case", list(RAW_REQUESTS))
@pytest.mark.parametrize("platform", ["shopify", "woocommerce"])
def test_malformed_http_never_gets_a_5xx(one_server, case, platform):
    served = one_server
    raw = f"POST /webhooks/{platform} HTTP/1.1\r\nHost: localhost\r\n".encode() + RAW_REQUESTS[case]
    host, port = served.server.server.server_address[:2]
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(raw)
        sock.shutdown(socket.SHUT_WR)  # the client is done; a server waiting for more sees the end
        reply = b""
        try:
            while chunk := sock.recv(65536):
                reply += chunk
        except ConnectionResetError:
            pass
    if reply:  # closing without an answer is fine for a broken request; a 5xx is not
        status = int(reply.split(b" ", 2)[1])
        assert status < 500, reply[:300]
        assert b"application/json" in reply.split(b"\r\n\r\n", 1)[0]
    assert served.deliveries() == 0
