"""Shared helpers for the JNE tests: the document's example booking, real servers on loopback ports.

Test modules load the fixtures with ``pytest_plugins = ["jne_helpers"]`` and import the plain
helpers by name. Servers are started once per session (stopping a werkzeug server takes up to half
a second) and reset before every test.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
from flask import Flask, Response, request

from integration.serving import ServerThread, serve_in_thread

TEST_USERNAME = "TESTAPI"
TEST_API_KEY = "25c898a9faea1a100859ecd9ef674548"  # the test key printed in JNE's document

# JNE's own example request, copied from the API document (credentials first, as in the document).
DOCUMENT_EXAMPLE: dict[str, str] = {
    "username": "TESTAPI",
    "api_key": "25c898a9faea1a100859ecd9ef674548",
    "PICKUP_NAME": "ARYA",
    "PICKUP_DATE": "10-10-2019",
    "PICKUP_TIME": "23:30",
    "PICKUP_PIC": "TEAS",
    "PICKUP_PIC_PHONE": "+6289100000002",
    "PICKUP_ADDRESS": "JAKARTA",
    "PICKUP_DISTRICT": "JAKARTA",
    "PICKUP_CITY": "JAKARTA",
    "PICKUP_SERVICE": "REG",
    "PICKUP_VEHICLE": "MOTOR",
    "BRANCH": "CGK000",
    "CUST_ID": "10950700",
    "ORDER_ID": "8810102030983216",
    "SHIPPER_NAME": "ALI",
    "SHIPPER_ADDR1": "JL. D.I PANJAITAN NO 43",
    "SHIPPER_ADDR2": "JELUTUNG",
    "SHIPPER_ADDR3": "JELUTUNG",
    "SHIPPER_CITY": "JAMBI",
    "SHIPPER_ZIP": "12345",
    "SHIPPER_REGION": "JAMBI",
    "SHIPPER_COUNTRY": "INDONESIA",
    "SHIPPER_CONTACT": "ALI",
    "SHIPPER_PHONE": "+6281234567890",
    "RECEIVER_NAME": "ANA",
    "RECEIVER_ADDR1": "JL SUTERA FERONIA PARK 7 ",
    "RECEIVER_ADDR2": "NO 28",
    "RECEIVER_ADDR3": "TANGERANG SELATAN",
    "RECEIVER_CITY": "TANGERANG SELATAN",
    "RECEIVER_ZIP": "54321",
    "RECEIVER_REGION": "BANTEN",
    "RECEIVER_COUNTRY": "INDONESIA",
    "RECEIVER_CONTACT": "ANA",
    "RECEIVER_PHONE": "+6285778906781",
    "ORIGIN_CODE": "CGK10000",
    "DESTINATION_CODE": "BDO10000",
    "SERVICE_CODE": "REG",
    "WEIGHT": "1",
    "QTY": "1",
    "GOODS_DESC": "BARANG PECAH",
    "GOODS_AMOUNT": "30000",
    "INSURANCE_FLAG": "0",
    "SPECIAL_INS": "TEST",
    "MERCHANT_ID": "TEST",
    "LAT": "1",
    "LON": "1",
    "TYPE": "DROP",
    "COD_FLAG": "NO",
    "COD_AMOUNT": "37000",
    "AWB": "1234567890",
}

# The document's HS_CODE example: three entries with 4-digit headings.
DOCUMENT_HS_CODE = "1000000;1;4204,2000000;2;4905,3000000;3;4988"


def example_fields() -> dict[str, str]:
    """The document's example booking without the credentials (INSURANCE_FLAG still "0")."""
    return {k: v for k, v in DOCUMENT_EXAMPLE.items() if k not in ("username", "api_key")}


def valid_fields(**overrides: Any) -> dict[str, Any]:
    """The document's example with INSURANCE_FLAG "N": valid; ``overrides`` replace fields (None drops)."""
    fields: dict[str, Any] = dict(example_fields(), INSURANCE_FLAG="N")
    for name, value in overrides.items():
        if value is None:
            fields.pop(name, None)
        else:
            fields[name] = value
    return fields


def hs_codes(count: int) -> str:
    """``count`` distinct "value;qty;hs_code" entries joined by commas."""
    return ",".join(f"{(i + 1) * 100000};{i + 1};{4201 + i}" for i in range(count))


def batam_fields(**overrides: Any) -> dict[str, Any]:
    """A valid booking to Batam with the customs fields filled."""
    base = {"DESTINATION_CODE": "BTH10000", "HS_CODE": DOCUMENT_HS_CODE, "ITEM_TYPE": "2",
            "TAX_VALUE": "0", "NPWP": "01.234.567.8-901.000"}
    return valid_fields(**{**base, **overrides})


def closed_port_url() -> str:
    """A loopback URL where nothing listens: connecting is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/pickupcashless"


@dataclass
class Sandbox:
    """The sandbox JNE served on a loopback port, with its control endpoints as methods."""

    server: ServerThread

    @property
    def url(self) -> str:
        return self.server.url + "/pickupcashless"

    def faults(self, **faults: Any) -> dict[str, Any]:
        response = requests.post(self.server.url + "/_sandbox/faults", json=faults, timeout=5)
        response.raise_for_status()
        return response.json()

    def bookings(self) -> list[dict[str, Any]]:
        return requests.get(self.server.url + "/_sandbox/bookings", timeout=5).json()

    def stats(self) -> dict[str, Any]:
        return requests.get(self.server.url + "/_sandbox/stats", timeout=5).json()

    def reset(self) -> None:
        requests.post(self.server.url + "/_sandbox/reset", timeout=5).raise_for_status()

    def post(self, form: dict[str, Any], path: str = "/pickupcashless") -> requests.Response:
        """Send a raw form the way JNE's integrators do, bypassing our client."""
        return requests.post(self.server.url + path, data=form, headers={"Accept": "application/json"},
                             timeout=5)


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[ServerThread]:
    """One sandbox JNE (default accounts) on a loopback port for the whole session."""
    from integration.jne.sandbox import create_sandbox_app  # here: schema tests need no Flask app

    server = serve_in_thread(create_sandbox_app())
    yield server
    server.stop()


@pytest.fixture
def sandbox(sandbox_server: ServerThread) -> Sandbox:
    """The session's sandbox JNE, with no bookings, no counts and no faults."""
    box = Sandbox(sandbox_server)
    box.reset()
    return box


@dataclass
class FakeJNE:
    """A tiny Flask app that answers whatever a test sets: JNE's odd replies (WAF pages, 429...)."""

    server: ServerThread
    reply_with: tuple[int, Any, str] = (500, b"no reply set", "text/plain")
    seen: list[dict[str, Any]] = field(default_factory=list)  # raw body and headers of each request
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return self.server.url + "/pickupcashless"

    def reply(self, body: str | bytes | Callable[[str], str], status: int = 200,
              content_type: str = "application/json") -> None:
        """Answer every request from now on with this body, or with ``body(raw_request_body)``."""
        with self.lock:
            self.reply_with = (status, body.encode() if isinstance(body, str) else body, content_type)


def _fake_jne_app(fake: dict[str, FakeJNE]) -> Flask:
    app = Flask("fake_jne")

    @app.post("/pickupcashless")
    def answer():
        jne = fake["jne"]
        with jne.lock:
            jne.seen.append({"raw": request.get_data(as_text=True), "accept": request.headers.get("Accept"),
                             "content_type": request.headers.get("Content-Type")})
            status, body, content_type = jne.reply_with
        if callable(body):  # a reply built from the request, e.g. one that echoes the form body
            body = body(jne.seen[-1]["raw"])
        return Response(body, status=status, content_type=content_type)

    return app


@pytest.fixture(scope="session")
def fake_jne_server() -> Iterator[tuple[ServerThread, dict[str, FakeJNE]]]:
    holder: dict[str, FakeJNE] = {}
    server = serve_in_thread(_fake_jne_app(holder))
    yield server, holder
    server.stop()


@pytest.fixture
def fake_jne(fake_jne_server) -> FakeJNE:
    """A fake JNE whose reply the test sets with ``fake_jne.reply(...)``."""
    server, holder = fake_jne_server
    holder["jne"] = FakeJNE(server)
    return holder["jne"]
