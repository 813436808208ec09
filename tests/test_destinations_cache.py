"""The destination resolver per store: built once, rebuilt when the synced list or the overrides change.

Real parts: the sandbox JNE on a loopback port, its lists synced into a folder as ``destinations
sync`` does, the overrides file written as the dashboard's choice is.
"""

from __future__ import annotations

import os

import jne_helpers
import pytest
import requests

from integration.config import JNEAccount
from integration.destinations.cache import EMBEDDED, Unusable, resolver_for
from integration.destinations.overrides import write_choice
from integration.destinations.sync import sync_account

sandbox_server = jne_helpers.sandbox_server
API_KEY = "25c898a9faea1a100859ecd9ef674548"


@pytest.fixture
def synced(tmp_path, sandbox_server):
    account = JNEAccount(url=f"{sandbox_server.url}/pickupcashless", username="TESTAPI", api_key=API_KEY)

    def sync(fraction: float = 1.0, force: bool = False):
        requests.post(f"{sandbox_server.url}/_sandbox/lists", json={"fraction": fraction}, timeout=5)
        try:
            return sync_account(account, tmp_path, force)
        finally:
            requests.post(f"{sandbox_server.url}/_sandbox/lists", json={"fraction": 1}, timeout=5)

    return sync


def test_built_once_then_rebuilt_when_a_new_list_is_synced(tmp_path, synced):
    path = synced()["file"]
    overrides = str(tmp_path / "overrides.csv")
    first = resolver_for(path, overrides)
    assert resolver_for(path, overrides) is first  # the same indexes and memo for every order
    assert first.resolve("99511", "Wamena").found  # Jayawijaya, at the end of the sandbox's list

    synced(fraction=0.8, force=True)  # JNE's list lost a fifth: the owner forced it in
    second = resolver_for(path, overrides)
    assert second is not first
    assert not second.resolve("99511", "Wamena").found
    assert resolver_for(path, overrides) is second


def test_an_overrides_change_is_read_by_the_next_resolution(tmp_path, synced):
    path = synced()["file"]
    overrides = tmp_path / "overrides.csv"
    assert resolver_for(path, str(overrides)).resolve("29432", "Batam").status == "ambiguous"
    write_choice(overrides, "29432", "", "BTH10106")
    chosen = resolver_for(path, str(overrides)).resolve("29432", "Batam")
    assert (chosen.code, chosen.via) == ("BTH10106", "override")


def test_a_damaged_list_or_overrides_file_says_why_and_is_read_again_once_fixed(tmp_path, synced):
    path = synced()["file"]
    good = open(path, "rb").read()
    with open(path, "wb") as out:
        out.write(b'{"format": 1, "destinations": "oops"')
    os.utime(path, ns=(1, 1))  # a different mtime even within the same clock tick
    broken = resolver_for(path, None)
    assert isinstance(broken, Unusable) and "damaged" in broken.reason and "--force" in broken.reason
    with open(path, "wb") as out:
        out.write(good)
    assert resolver_for(path, None).resolve("20112", "Medan").code == "MES10119"

    overrides = tmp_path / "bad.csv"
    overrides.write_text("zip,district,code\n20112,,MEDAN\n", encoding="utf-8")
    refused = resolver_for(path, str(overrides))
    assert isinstance(refused, Unusable) and "MEDAN" in refused.reason


def test_no_synced_list_yet_and_the_embedded_sandboxs_own_list(tmp_path):
    missing = resolver_for(str(tmp_path / "jne-lists" / "none.json"), None)
    assert missing.resolve("20112", "Medan").problem_code == "destination.no_list"
    embedded = resolver_for(EMBEDDED, None)
    assert embedded.resolve("20112", "Medan").code == "MES10119"
