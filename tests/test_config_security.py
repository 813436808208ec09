"""Configuration that cannot silently weaken security (issue 14): nested ${}, weak secrets, NaN.

Before: ``webhook_secret: ${WOO_SECRET:-${FALLBACK_SECRET}}`` with WOO_SECRET unset made the secret
the public text ``${FALLBACK_SECRET}`` and ``check`` said ok; a one-character or blank secret was
accepted; ``.nan`` and ``.inf`` in worker: and jne: passed and then crashed the worker.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from app_helpers import write_config

from integration.config import DEMO_SHOPIFY_SECRET, DEMO_WOOCOMMERCE_SECRET, load_config
from integration.errors import ConfigError


def config_with(tmp_path, secret: str = "${SHOP_SECRET}", **top) -> str:
    """An integration.yaml whose Shopify store's webhook_secret is ``secret`` (as written)."""
    path = write_config(tmp_path, f"sqlite:///{tmp_path / 'l.db'}", **top)
    doc = yaml.safe_load(path.read_text())
    doc["stores"]["toko-shopify"]["webhook_secret"] = secret
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return str(path)


def problems_of(path: str, env: dict[str, str]) -> list[str]:
    """The problems load_config reports (fails the test when it loads)."""
    with pytest.raises(ConfigError) as err:
        load_config(path, env=env)
    return err.value.problems


def test_a_nested_default_is_a_load_error_not_the_literal_text(tmp_path):
    path = config_with(tmp_path, "${WOO_SECRET:-${FALLBACK_SECRET}}")
    problems = problems_of(path, {"FALLBACK_SECRET": "fallback-secret-0123456789"})
    line = next(i for i, t in enumerate(Path(path).read_text().splitlines(), 1) if "webhook_secret" in t)
    assert problems == [f"{path}:{line}: stores.toko-shopify.webhook_secret: holds a ${{ that is not one complete "
                        "${VAR} or ${VAR:-default}; defaults do not nest (write ${VAR} and set VAR)"]


@pytest.mark.parametrize("written", ["${SHOP_SECRET", "prefix-${SHOP_SECRET:-x}-${", "${}-0123456789abcdef"])
def test_any_stray_dollar_brace_is_a_load_error(tmp_path, written):
    path = config_with(tmp_path, written)
    problems = problems_of(path, {"SHOP_SECRET": "a-long-enough-secret-value"})
    assert any("stores.toko-shopify.webhook_secret: holds a ${" in p for p in problems), problems


def test_a_secret_from_the_environment_may_contain_dollar_brace(tmp_path):
    path = config_with(tmp_path)
    config = load_config(path, env={"SHOP_SECRET": "abc${def}ghi-0123456789"})
    assert config.stores["toko-shopify"].webhook_secret == "abc${def}ghi-0123456789"


@pytest.mark.parametrize(("secret", "shown"), [("x", "1 characters"), ("   ", "blank"),
                                               ("fifteen-chars-x", "15 characters")])
def test_short_or_blank_secrets_are_refused_without_echoing_them(tmp_path, secret, shown):
    path = config_with(tmp_path)
    problems = problems_of(path, {"SHOP_SECRET": secret})
    line = next(p for p in problems if "webhook_secret" in p)
    assert f"is too short to be a secret ({shown}); use at least 16 characters" in line
    if secret.strip():
        assert secret not in line


def test_an_unset_secret_is_refused_and_names_the_variable(tmp_path):
    path = config_with(tmp_path)
    problems = problems_of(path, {})
    assert any("webhook_secret" in p and "${SHOP_SECRET}, which is not set" in p for p in problems), problems


def test_the_demo_secrets_and_real_looking_secrets_pass(tmp_path):
    assert load_config(None, env={"DATABASE_URL": f"sqlite:///{tmp_path / 'd.db'}"}).stores["demo"]
    assert len(DEMO_SHOPIFY_SECRET) >= 16 and len(DEMO_WOOCOMMERCE_SECRET) >= 16
    path = config_with(tmp_path)
    for secret in ("shpss_" + "0123456789abcdef" * 2, "ck_" + "x" * 47, "sixteen-chars-ok"):
        assert load_config(path, env={"SHOP_SECRET": secret}).stores["toko-shopify"].webhook_secret == secret


@pytest.mark.parametrize(("block", "key", "value"), [
    ("worker", "backoff_base_s", ".nan"), ("worker", "backoff_max_s", ".inf"), ("worker", "lease_s", ".nan"),
    ("worker", "poll_s", "-.inf"), ("worker", "backoff_base_s", "-1"), ("worker", "concurrency", ".inf"),
    ("worker", "max_attempts", "true"), ("jne", "timeout_s", ".nan"), ("jne", "timeout_s", ".inf"),
    ("webhooks", "max_body_bytes", ".nan"),
])
def test_nan_infinity_and_negative_numbers_are_refused_by_name(tmp_path, block, key, value):
    path = write_config(tmp_path, f"sqlite:///{tmp_path / 'l.db'}")
    doc = yaml.safe_load(path.read_text())
    doc.setdefault(block, {})[key] = "PLACEHOLDER"
    path.write_text(yaml.safe_dump(doc, sort_keys=False).replace("PLACEHOLDER", value), encoding="utf-8")
    problems = problems_of(str(path), {})
    # file:line: key: message
    assert any(re.match(rf"{re.escape(str(path))}:\d+: {block}\.{key}: ", p) for p in problems), problems


def test_a_stores_own_jne_timeout_is_checked_too(tmp_path):
    path = write_config(tmp_path, f"sqlite:///{tmp_path / 'l.db'}")
    doc = yaml.safe_load(path.read_text())
    doc["stores"]["toko-woo"]["jne"] = {"timeout_s": "PLACEHOLDER"}
    path.write_text(yaml.safe_dump(doc, sort_keys=False).replace("PLACEHOLDER", ".nan"), encoding="utf-8")
    problems = problems_of(str(path), {})
    assert any("stores.toko-woo.jne.timeout_s: must be a finite number" in p for p in problems), problems
