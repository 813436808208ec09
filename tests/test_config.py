"""integration.yaml loading: environment substitution, relative paths, checking, the demo."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from integration.config import (
    DEMO_API_KEY,
    EMBEDDED_SANDBOX,
    load_config,
    normalise_database_url,
    normalise_shop,
)
from integration.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]

STORE = """
stores:
  toko-ali:
    platform: shopify
    shop: toko-ali.myshopify.com
    webhook_secret: ${TOKO_ALI_SECRET}
    mapping: mappings/shopify.yaml
    lookups:
      destinations: mappings/jne_destinations.csv
    order_prefix: ALI
    account: {cust_id: 10950700, branch: CGK000, merchant_id: TOKOALI, origin_code: CGK10000}
    pickup:
      name: TOKO ALI
      pic: ALI
      phone: "+6281234567890"
      address: JL. D.I PANJAITAN NO 43
      district: JELUTUNG
      city: JAMBI
      cutoff: "15:00"
      time: "16:00"
    shipper: {name: TOKO ALI, addr1: JL. D.I PANJAITAN NO 43, addr2: JELUTUNG, city: JAMBI,
              zip: "36124", region: JAMBI, contact: ALI, phone: "+6281234567890"}
"""

HEAD = """
database_url: ${DATABASE_URL:-sqlite:///integration.db}
jne:
  url: http://apiv2.jne.co.id:10102/pickupcashless
  username: ${JNE_USERNAME}
  api_key: ${JNE_API_KEY}
  timeout_s: 15
"""


def write_config(tmp_path: Path, text: str) -> Path:
    """Write integration.yaml beside a copy of the real mappings folder (paths are relative)."""
    mappings = tmp_path / "mappings"
    mappings.mkdir(exist_ok=True)
    for f in (ROOT / "mappings").iterdir():
        if f.is_file():
            (mappings / f.name).write_bytes(f.read_bytes())
    path = tmp_path / "integration.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


ENV = {"TOKO_ALI_SECRET": "s3cret-ali-0123456789", "JNE_USERNAME": "TOKOALI", "JNE_API_KEY": "k3y-value-123"}


def test_full_example_loads_with_environment_and_defaults(tmp_path):
    config = load_config(write_config(tmp_path, HEAD + STORE), env=ENV)
    store = config.stores["toko-ali"]
    # a relative SQLite file sits beside the configuration file, like the mappings
    assert config.database_url == f"sqlite:///{(tmp_path / 'integration.db').resolve()}"
    assert config.jne.username == "TOKOALI" and config.jne.api_key == "k3y-value-123"
    assert store.webhook_secret == "s3cret-ali-0123456789"
    assert store.mapping_path == (tmp_path / "mappings" / "shopify.yaml").resolve()
    # numbers that YAML read as int are the text the owner meant
    assert store.facts["account"]["cust_id"] == "10950700"
    # defaults of the pickup block
    assert store.facts["pickup"]["timezone"] == "Asia/Jakarta"
    assert store.facts["pickup"]["days"] == ["mon", "tue", "wed", "thu", "fri", "sat"]
    assert store.facts["shipper"]["country"] == "INDONESIA"
    assert "webhook_secret" not in store.facts and "jne" not in store.facts
    assert config.store_for("shopify", "TOKO-ALI.myshopify.com/") is store
    assert config.store_for("woocommerce", "toko-ali.myshopify.com") is None


def test_sqlite_path_follows_the_config_file_not_the_current_folder(tmp_path, monkeypatch):
    (tmp_path / "shop").mkdir()
    path = write_config(tmp_path / "shop", HEAD.replace("sqlite:///integration.db", "sqlite:///data/ledger.db")
                        + STORE)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    config = load_config(Path("..") / "shop" / "integration.yaml", env=ENV)
    assert config.database_url == f"sqlite:///{(tmp_path / 'shop' / 'data' / 'ledger.db').resolve()}"
    # absolute paths, memory databases and PostgreSQL are left as they are
    for url in ("sqlite:////var/lib/jne/ledger.db", "sqlite://", "postgresql+psycopg://u@db/x"):
        assert load_config(path, env={**ENV, "DATABASE_URL": url}).database_url == url


def test_default_after_colon_dash_and_explicit_env(tmp_path):
    path = write_config(tmp_path, HEAD + STORE)
    config = load_config(path, env={**ENV, "DATABASE_URL": "postgres://u@db/x"})
    assert config.database_url == "postgresql+psycopg://u@db/x"


def test_unset_variable_is_named_in_the_problem(tmp_path):
    path = write_config(tmp_path, HEAD + STORE)
    with pytest.raises(ConfigError) as err:
        load_config(path, env={"JNE_USERNAME": "X", "JNE_API_KEY": "Y"})
    text = str(err.value)
    assert "stores.toko-ali.webhook_secret" in text
    assert "TOKO_ALI_SECRET" in text and "not set" in text


def test_every_problem_is_reported_at_once_with_its_key(tmp_path):
    bad = (HEAD + STORE).replace("platform: shopify", "platform: magento").replace(
        'zip: "36124"', 'zip: "3612"').replace("timeout_s: 15", "timeout_s: 0")
    with pytest.raises(ConfigError) as err:
        load_config(write_config(tmp_path, bad), env=ENV)
    problems = err.value.problems
    assert any("stores.toko-ali.platform" in p and "magento" in p for p in problems)
    assert any("stores.toko-ali.shipper.zip" in p for p in problems)
    assert any("jne.timeout_s" in p for p in problems)
    assert len(problems) >= 3


def test_unknown_key_and_bad_timezone(tmp_path):
    bad = (HEAD + STORE).replace("order_prefix: ALI", "order_prefx: ALI").replace(
        'cutoff: "15:00"', 'cutoff: "15:00"\n      timezone: Asia/Jakart')
    with pytest.raises(ConfigError) as err:
        load_config(write_config(tmp_path, bad), env=ENV)
    text = str(err.value)
    assert "unknown key 'order_prefx', did you mean 'order_prefix'?" in text
    assert "Asia/Jakart" in text


def test_language_of_messages_is_english_unless_set_to_indonesian(tmp_path):
    assert load_config(write_config(tmp_path, HEAD + STORE), env=ENV).language == "en"
    assert load_config(write_config(tmp_path, "language: id\n" + HEAD + STORE), env=ENV).language == "id"
    with pytest.raises(ConfigError) as err:
        load_config(write_config(tmp_path, "language: fr\n" + HEAD + STORE), env=ENV)
    assert any(p.startswith(f"{tmp_path / 'integration.yaml'}:1: language:") and "fr" in p for p in err.value.problems)


def test_two_stores_with_the_same_shop_are_refused(tmp_path):
    second = STORE.replace("toko-ali:", "toko-ali-2:").replace("stores:\n", "")
    with pytest.raises(ConfigError) as err:
        load_config(write_config(tmp_path, HEAD + STORE + second), env=ENV)
    assert "already used by store 'toko-ali'" in str(err.value)


def test_missing_mapping_file_is_a_config_error_naming_the_store(tmp_path):
    bad = (HEAD + STORE).replace("mappings/shopify.yaml", "mappings/nope.yaml")
    with pytest.raises(ConfigError) as err:
        load_config(write_config(tmp_path, bad), env=ENV)
    assert "stores.toko-ali.mapping" in str(err.value)
    assert "nope.yaml" in str(err.value)


def test_store_may_carry_its_own_jne_account(tmp_path):
    text = HEAD + STORE + "    jne: {username: OTHER, api_key: other-key-1}\n"
    config = load_config(write_config(tmp_path, text), env=ENV)
    account = config.stores["toko-ali"].jne
    assert account.username == "OTHER" and account.url == config.jne.url
    assert set(config.accounts()) == {config.jne.key, account.key}


def test_secrets_never_in_reprs(tmp_path):
    config = load_config(write_config(tmp_path, HEAD + STORE), env=ENV)
    text = repr(config) + repr(config.stores["toko-ali"]) + repr(config.jne)
    assert "k3y-value-123" not in text and "s3cret-ali-0123456789" not in text
    assert set(config.secrets()) == {"k3y-value-123", "s3cret-ali-0123456789"}


def test_not_yaml_and_not_a_mapping(tmp_path):
    path = tmp_path / "integration.yaml"
    path.write_text("jne: [unclosed", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(path, env={})
    path.write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="top level"):
        load_config(path, env={})


def test_demo_without_any_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = load_config(None, env={})
    assert config.is_demo
    assert config.jne.url == EMBEDDED_SANDBOX and config.jne.api_key == DEMO_API_KEY
    assert config.store_for("shopify", "toko-contoh.myshopify.com").id == "demo"
    assert config.store_for("woocommerce", "https://toko-contoh.example/").id == "demo-woo"
    assert config.database_url == "sqlite:///integration.db"


def test_environment_variable_names_the_file(tmp_path):
    path = write_config(tmp_path, HEAD + STORE)
    config = load_config(None, env={**ENV, "JNE_INTEGRATION_CONFIG": str(path)})
    assert config.path == path and "toko-ali" in config.stores


def test_with_jne_url_swaps_every_account_at_that_url(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = load_config(None, env={}).with_jne_url(EMBEDDED_SANDBOX, "http://127.0.0.1:9/pickupcashless")
    assert {s.jne.url for s in config.stores.values()} == {"http://127.0.0.1:9/pickupcashless"}


@pytest.mark.parametrize(("given", "expected"), [
    ("postgres://a@h/d", "postgresql+psycopg://a@h/d"),
    ("postgresql://a@h/d", "postgresql+psycopg://a@h/d"),
    ("postgresql+psycopg://a@h/d", "postgresql+psycopg://a@h/d"),
    ("sqlite:///x.db", "sqlite:///x.db"),
])
def test_database_url_normalisation(given, expected):
    assert normalise_database_url(given) == expected


def test_shop_normalisation():
    assert normalise_shop(" https://Toko.example/ ") == "https://toko.example"


# -- destinations, couriers and holidays (issue 9) --------------------------------------------------

def test_destination_keys_default_to_the_synced_list_and_overrides_beside_the_config(tmp_path):
    config = load_config(write_config(tmp_path, HEAD + STORE), env=ENV)
    store = config.stores["toko-ali"]
    assert store.lookups["destinations"] == tmp_path / "mappings" / "jne_destinations.csv"
    assert store.lookups["destination_overrides"] == tmp_path / "destination_overrides" / "toko-ali.csv"
    assert "destination_overrides" not in store.mapping.tables  # the resolver's, not a mapping table
    assert store.destination_list == tmp_path / "jne-lists" / "TOKOALI@apiv2.jne.co.id_10102.json"
    assert store.facts["destination_files"] == {"list": str(store.destination_list),
                                                "overrides": str(store.lookups["destination_overrides"])}
    assert store.facts["ctc_as"] == "named"
    assert (store.facts["pickup"]["skip_holidays"], store.facts["pickup"]["cuti_bersama"]) == (True, False)
    assert (store.jne.destinations_url, store.jne.origins_url) == (None, None)


def test_list_urls_ctc_as_and_holiday_settings_are_read_and_checked(tmp_path):
    text = (HEAD + "  destinations_url: https://jne.example/tarif/getdestination\n"
            "  origins_url: https://jne.example/tarif/getorigin\n" + STORE
            + "    ctc_as: base\n    lookups:\n      destination_overrides: pilihan.csv\n")
    text = text.replace("      cutoff: \"15:00\"", "      cutoff: \"15:00\"\n      skip_holidays: false\n"
                                                     "      cuti_bersama: true")
    text = text.replace("    lookups:\n      destinations: mappings/jne_destinations.csv\n", "", 1)
    config = load_config(write_config(tmp_path, text), env=ENV)
    store = config.stores["toko-ali"]
    assert store.jne.destinations_url == "https://jne.example/tarif/getdestination"
    assert store.jne.origins_url == "https://jne.example/tarif/getorigin"
    assert store.facts["ctc_as"] == "base"
    assert (store.facts["pickup"]["skip_holidays"], store.facts["pickup"]["cuti_bersama"]) == (False, True)
    assert store.lookups["destination_overrides"] == tmp_path / "pilihan.csv"

    bad = text.replace("ctc_as: base", "ctc_as: sometimes").replace(
        "https://jne.example/tarif/getorigin", "ftp://jne.example/x")
    with pytest.raises(ConfigError) as caught:
        load_config(write_config(tmp_path, bad), env=ENV)
    keys = " ".join(caught.value.problems)
    assert "stores.toko-ali.ctc_as" in keys and "jne.origins_url" in keys


def test_a_broken_overrides_file_is_a_config_problem_naming_the_row(tmp_path):
    path = write_config(tmp_path, HEAD + STORE)
    (tmp_path / "destination_overrides").mkdir()
    (tmp_path / "destination_overrides" / "toko-ali.csv").write_text("zip,district,code\n2943,,BTH10110\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, env=ENV)
    assert any("destination_overrides" in p and "2943" in p for p in caught.value.problems)


def test_the_demo_names_no_sample_destinations_table_and_resolves_against_the_sandbox(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = load_config(None, env={})
    for store in config.stores.values():
        assert "destinations" not in store.lookups and "destinations" not in store.mapping.tables
        assert store.destination_list is None and store.facts["destination_files"]["list"] == EMBEDDED_SANDBOX
        assert store.lookups["destination_overrides"] == tmp_path / "destination_overrides" / f"{store.id}.csv"
