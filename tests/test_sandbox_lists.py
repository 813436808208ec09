"""The sandbox JNE's destination and origin lists, over real HTTP."""

from __future__ import annotations

import re
from collections import Counter

import jne_helpers
import pytest
import requests
from jne_helpers import TEST_API_KEY, TEST_USERNAME

from integration.jne.sandbox import AUTH_ERROR

sandbox_server = jne_helpers.sandbox_server
sandbox = jne_helpers.sandbox

CREDENTIALS = {"username": TEST_USERNAME, "api_key": TEST_API_KEY}


@pytest.fixture
def lists(sandbox):
    requests.post(sandbox.server.url + "/_sandbox/lists", json={"fraction": 1}, timeout=5).raise_for_status()
    return sandbox


def detail(sandbox, path: str, form=CREDENTIALS) -> list:
    response = requests.post(sandbox.server.url + path, data=form, timeout=30)
    assert response.status_code == 200
    return response.json()["detail"]


def test_destinations_have_a_row_per_kecamatan_and_city_with_jne_style_codes(lists):
    rows = detail(lists, "/insert/getdestination")
    real = [r for r in rows if isinstance(r, dict) and isinstance(r.get("City_Code"), str)
            and re.fullmatch(r"[A-Z]{3}[0-9]{5}", r["City_Code"]) and r.get("City_Name", "").strip()
            and "TEST" not in r["City_Name"] and "DUMMY" not in r["City_Name"]]
    assert len(real) > 7000 + 500
    by_name = {r["City_Name"]: r["City_Code"] for r in real}
    assert by_name["BANDUNG"] == "BDO10000"
    assert by_name["COBLONG,BANDUNG"].startswith("BDO1")
    assert by_name["CIMENYAN,KAB. BANDUNG"].startswith("BDO")
    for name, prefix in {"MEDAN BARAT,MEDAN": "MES", "RAPPOCINI,MAKASSAR": "UPG", "ABEPURA,JAYAPURA": "DJJ",
                         "DEPOK,SLEMAN": "JOG", "LUBUK BAJA,BATAM": "BTH", "SUKOLILO,SURABAYA": "SUB",
                         "KEBAYORAN BARU,JAKARTA SELATAN": "CGK"}.items():
        assert by_name[name].startswith(prefix), name
    cities = [r for r in real if "," not in r["City_Name"]]
    assert all(r["City_Code"].endswith("0000") for r in cities)
    assert len(cities) == 514
    # every real code is unique; the noise carries a duplicate row, blanks, tests and bad codes
    counts = Counter(r["City_Code"] for r in real)
    assert [code for code, n in counts.items() if n > 1] == [real[1]["City_Code"]]
    assert {"City_Code": "", "City_Name": "JAKARTA"} in rows
    assert {"City_Code": "TES10000", "City_Name": "TEST"} in rows
    assert {"City_Code": "BDO1O101", "City_Name": "SUKASARI,BANDUNG"} in rows
    assert "CGK10000" in rows


def test_origins_are_the_cities(lists):
    rows = detail(lists, "/insert/getorigin")
    real = [r for r in rows if isinstance(r, dict) and re.fullmatch(r"[A-Z]{3}[0-9]{5}", r["City_Code"] or "")
            and (r["City_Name"] or "").strip() and "TEST" not in r["City_Name"] and "DUMMY" not in r["City_Name"]]
    assert {"City_Code": "CGK10000", "City_Name": "JAKARTA PUSAT"} in real
    assert {"City_Code": "DJB10000", "City_Name": "JAMBI"} in real
    assert len({r["City_Name"] for r in real}) == 514 and not any("," in r["City_Name"] for r in real)


@pytest.mark.parametrize("form", [{}, {"username": TEST_USERNAME, "api_key": "wrong"},
                                  {"username": "NOBODY", "api_key": TEST_API_KEY}])
def test_credentials_are_checked_as_for_bookings(lists, form):
    for path in ("/insert/getdestination", "/insert/getorigin"):
        response = requests.post(lists.server.url + path, data=form, timeout=5)
        assert response.status_code == 200 and response.json() == AUTH_ERROR


def test_a_truncated_list_can_be_asked_for(lists):
    full = len(detail(lists, "/insert/getdestination"))
    requests.post(lists.server.url + "/_sandbox/lists", json={"fraction": 0.5}, timeout=5).raise_for_status()
    assert len(detail(lists, "/insert/getdestination")) < full * 0.6
    bad = requests.post(lists.server.url + "/_sandbox/lists", json={"fraction": 2}, timeout=5)
    assert bad.status_code == 400
    assert requests.get(lists.server.url + "/_sandbox/lists", timeout=5).json() == {"fraction": 0.5}
