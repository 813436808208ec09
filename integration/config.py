"""Load integration.yaml: environment substitution, paths, checking, the built-in demo store.

The file is found at ``--config PATH``, else ``$JNE_INTEGRATION_CONFIG``, else ``./integration.yaml``;
with none of those the service runs a built-in demo (SQLite, two demo stores, the embedded sandbox
JNE). ``${VAR}`` and ``${VAR:-default}`` are substituted in string values after YAML parsing (so an
environment value can never inject YAML structure).

Defaults do not nest: ``${A:-${B}}`` is a load error naming the key, as is any ``${`` that is not
part of a complete ``${VAR}`` or ``${VAR:-default}``. The alternative, nesting like a shell, would
add a second small language to the file for a rare need, and the silent failure it replaces was a
security hole: with A unset the secret became the public text ``${B}``. One variable per value,
with at most a literal default, is easy to read and to check; a value taken from the environment
is never looked at again, so a secret may contain ``${``.

Secrets (``webhook_secret``) must have at least ``MIN_SECRET_LENGTH`` characters besides spaces:
Shopify's client secrets have 32 (``shpss_`` and 32 hex digits in newer apps), WooCommerce
generates 50, and the demo's ``test_wc_webhook_secret`` has 22. Every number setting must be a
finite number, never negative: ``.nan`` passes every ``min``/``max`` comparison and ``.inf`` every
``min``, so both are refused by name. The whole file is checked at load with Cerberus
and every problem is reported at once, each naming its key; every store's mapping and lookup tables
are loaded (and checked) here too, so a broken file fails at start, not on the first order.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping as AbcMapping
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

import cerberus
import yaml
from sqlalchemy.engine import url as sa_url

from integration import safe_yaml
from integration.dashboard import settings as dashboard_settings
from integration.errors import ConfigError
from integration.ledger.engine import normalise_database_url
from integration.problems import DEFAULT_LANGUAGE, LANGUAGES
from integration.shop import settings as shop_settings

ENV_VAR = "JNE_INTEGRATION_CONFIG"
DEFAULT_FILE = "integration.yaml"
EMBEDDED_SANDBOX = "embedded"  # jne.url value: the sandbox JNE started inside this process
DEFAULTS_PACKAGE = "integration.defaults"  # the repository's mappings/, shipped inside the package
DEMO_USERNAME = "TESTAPI"
DEMO_API_KEY = "25c898a9faea1a100859ecd9ef674548"  # the test key published in JNE's own document

MIN_SECRET_LENGTH = 16
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_HHMM = r"^([01]\d|2[0-3]):[0-5]\d$"


@dataclass(frozen=True)
class JNEAccount:
    """Where and as whom to book; ``api_key`` is never shown in reprs."""

    url: str
    username: str
    api_key: str = field(repr=False)
    timeout_s: float = 15.0

    @property
    def key(self) -> str:
        """Identity of the account for blocking decisions (credentials are per url + username)."""
        return f"{self.username}@{self.url}"


@dataclass(frozen=True)
class Store:
    """One configured shop: how to recognise its webhooks and how to book its orders."""

    id: str
    platform: str
    shop: str
    webhook_secret: str = field(repr=False)
    mapping_path: Path
    mapping: Any = field(repr=False)  # integration.mapping.Mapping, loaded and checked
    jne: JNEAccount
    facts: dict[str, Any] = field(repr=False, hash=False, compare=False)  # store.* in expressions
    # The store's own API (api/writeback/reconcile blocks); None without ``api:``. Never in ``facts``.
    # (``shop`` already names the shop's domain, the contract's config key, hence ``shop_api``.)
    shop_api: shop_settings.ShopSettings | None = field(default=None, repr=False, hash=False, compare=False)


@dataclass(frozen=True)
class WorkerSettings:
    """Booking worker knobs: concurrency, retry budget, backoff, lease."""

    concurrency: int = 8
    max_attempts: int = 8
    backoff_base_s: float = 180.0  # 8 attempts: 180 s doubling gives ~6 h before `failed`
    backoff_max_s: float = 14400.0
    lease_s: float = 120.0
    poll_s: float = 0.5


@dataclass(frozen=True)
class Config:
    """The whole, checked configuration."""

    database_url: str
    jne: JNEAccount
    stores: dict[str, Store]
    path: Path | None
    max_body_bytes: int = 2 * 1024 * 1024
    worker: WorkerSettings = WorkerSettings()
    language: str = DEFAULT_LANGUAGE  # of owner-facing messages: en or id (render(problem, language))
    dashboard: dashboard_settings.DashboardSettings | None = None  # None: the dashboard is off
    metrics_token: str | None = field(default=None, repr=False)  # GET /metrics needs it as a bearer token

    @property
    def is_demo(self) -> bool:
        """True when running the built-in demo (no configuration file)."""
        return self.path is None

    def store_for(self, platform: str, shop: str) -> Store | None:
        """The store of ``platform`` whose shop domain / site URL is ``shop`` (case, scheme-slash insensitive)."""
        return self._by_shop.get((platform, normalise_shop(shop)))

    @property
    def _by_shop(self) -> dict[tuple[str, str], Store]:
        cached = self.__dict__.get("_by_shop_cache")
        if cached is None:
            cached = {(s.platform, normalise_shop(s.shop)): s for s in self.stores.values()}
            object.__setattr__(self, "_by_shop_cache", cached)
        return cached

    def accounts(self) -> dict[str, JNEAccount]:
        """Every distinct JNE account in use, by ``JNEAccount.key``."""
        found = {self.jne.key: self.jne}
        for store in self.stores.values():
            found[store.jne.key] = store.jne
        return found

    def secrets(self) -> list[str]:
        """Every secret value in the configuration, for log redaction."""
        values = [a.api_key for a in self.accounts().values()]
        values += [s.webhook_secret for s in self.stores.values()]
        if self.dashboard is not None:
            values.append(self.dashboard.secret_key)
        values += [self.metrics_token] if self.metrics_token else []
        values += [v for s in self.stores.values() if s.shop_api is not None for v in s.shop_api.secrets()]
        return [v for v in values if v and len(v) >= 4]

    def with_jne_url(self, old: str, new: str) -> Config:
        """A copy in which every account at ``old`` url books at ``new`` instead (embedded sandbox)."""
        def swap(acc: JNEAccount) -> JNEAccount:
            return replace(acc, url=new) if acc.url == old else acc

        stores = {k: replace(s, jne=swap(s.jne)) for k, s in self.stores.items()}
        return replace(self, jne=swap(self.jne), stores=stores)


def normalise_shop(shop: str) -> str:
    """Compare shop identities loosely: case, surrounding space and a trailing slash do not matter."""
    return (shop or "").strip().rstrip("/").lower()


# -- the schema of integration.yaml ------------------------------------------------------------

_text = {"type": "string", "coerce": "text"}
_req_text = {**_text, "required": True, "empty": False}

_secret = {**_req_text, "check_with": "secret"}


def _number(**rule: Any) -> dict[str, Any]:
    """A number setting: finite, not a boolean, never negative unless ``min`` says otherwise."""
    return {"type": "number", "check_with": "finite", "min": 0, **rule}


_JNE_SCHEMA = {
    "url": _req_text,
    "username": _req_text,
    "api_key": _req_text,
    "timeout_s": _number(min=1, max=120),
}

_STORE_SCHEMA = {
    "platform": {"type": "string", "required": True, "allowed": ["shopify", "woocommerce"]},
    "shop": _req_text,
    "webhook_secret": _secret,
    "mapping": _req_text,
    "lookups": {"type": "dict", "keysrules": {"type": "string"}, "valuesrules": _req_text},
    "order_prefix": {**_text, "regex": "^[A-Z0-9]{0,12}$", "default": ""},
    "default_service": {**_text, "regex": "^[A-Z0-9]{1,10}$"},
    "account": {"type": "dict", "required": True, "schema": {
        "cust_id": {**_req_text, "maxlength": 10},
        "branch": {**_req_text, "maxlength": 6},
        "merchant_id": {**_req_text, "maxlength": 100},
        "origin_code": {**_req_text, "maxlength": 10},
    }},
    "pickup": {"type": "dict", "required": True, "schema": {
        "name": _req_text, "pic": _req_text, "phone": _req_text, "address": _req_text,
        "district": _req_text, "city": _req_text,
        "service": {**_text, "default": "Domestic", "allowed": ["Domestic", "Intracity", "All"]},
        "vehicle": {**_text, "default": "MOTOR", "allowed": ["MOTOR", "MOBIL", "TRUCK"]},
        "type": {**_text, "default": "PICKUP", "allowed": ["PICKUP", "DROP"]},
        "timezone": {**_text, "default": "Asia/Jakarta", "check_with": "timezone"},
        "cutoff": {**_text, "default": "15:00", "regex": _HHMM},
        "time": {**_text, "default": "16:00", "regex": _HHMM},
        "days": {"type": "list", "default": _DAYS[:6], "empty": False,
                 "schema": {"type": "string", "allowed": _DAYS}},
    }},
    "shipper": {"type": "dict", "required": True, "schema": {
        "name": _req_text, "addr1": _req_text, "addr2": _text, "addr3": _text, "city": _req_text,
        "zip": {**_req_text, "regex": r"^\d{5}$"}, "region": _req_text,
        "country": {**_text, "default": "INDONESIA"}, "contact": _req_text, "phone": _req_text,
    }},
    "return": {"type": "dict", "schema": {k: _text for k in (
        "name", "addr1", "addr2", "addr3", "city", "zip", "region", "country", "contact", "phone",
        "branch")}},
    "batam": {"type": "dict", "schema": {
        "item_type": {**_text, "allowed": ["1", "2", "3", "4", "5"], "default": "1"},
        "npwp": {**_text, "default": ""},
    }},
    # a store's own account: any key it leaves out comes from the top-level jne block
    "jne": {"type": "dict", "schema": {k: {kk: vv for kk, vv in rule.items() if kk != "required"}
                                       for k, rule in _JNE_SCHEMA.items()}},
    **shop_settings.STORE_SCHEMA,  # api, writeback, reconcile (DESIGN.md "The shop's own API")
}

_SCHEMA = {
    "database_url": {**_text, "default": "sqlite:///integration.db", "empty": False},
    "language": {"type": "string", "allowed": list(LANGUAGES), "default": DEFAULT_LANGUAGE},
    "jne": {"type": "dict", "required": True, "schema": _JNE_SCHEMA},
    "stores": {"type": "dict", "required": True, "empty": False,
               "keysrules": {"type": "string", "regex": "^[a-z0-9][a-z0-9_-]{0,62}$"},
               "valuesrules": {"type": "dict", "schema": _STORE_SCHEMA}},
    "webhooks": {"type": "dict", "schema": {
        "max_body_bytes": {"type": "integer", "check_with": "finite", "min": 1024, "max": 50 * 1024 * 1024}}},
    "metrics": {"type": "dict", "schema": {"token": _secret}},
    "worker": {"type": "dict", "schema": {
        "concurrency": {"type": "integer", "check_with": "finite", "min": 1, "max": 256},
        "max_attempts": {"type": "integer", "check_with": "finite", "min": 1, "max": 100},
        "backoff_base_s": _number(),
        "backoff_max_s": _number(),
        "lease_s": _number(min=5),
        "poll_s": _number(min=0.01),
    }},
    "dashboard": dashboard_settings.SCHEMA,
}


class _ConfigValidator(cerberus.Validator):
    def _normalize_coerce_text(self, value: Any) -> Any:
        # YAML reads 10950700 or 15:00 as numbers; store owners mean text.
        if isinstance(value, bool) or value is None:
            return value
        if isinstance(value, int | float):
            return str(value)
        return value

    def _check_with_finite(self, field: str, value: Any) -> None:
        # NaN is neither below a min nor above a max, and infinity is above every min: say so.
        if isinstance(value, bool):
            self._error(field, "must be a number, not true/false")
        elif isinstance(value, float) and not math.isfinite(value):
            self._error(field, f"must be a finite number, not {value} (.nan and .inf are not settings)")

    def _check_with_secret(self, field: str, value: Any) -> None:
        # The value itself is never echoed: messages reach logs and terminals.
        if isinstance(value, str) and len(value.strip()) < MIN_SECRET_LENGTH:
            shown = "blank" if not value.strip() else f"{len(value.strip())} characters"
            self._error(field, f"is too short to be a secret ({shown}); use at least {MIN_SECRET_LENGTH} "
                               "characters: the app's client secret (Shopify) or the webhook's secret "
                               "(WooCommerce)")

    def _check_with_timezone(self, field: str, value: Any) -> None:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(str(value))
        except (ZoneInfoNotFoundError, ValueError):
            self._error(field, f"unknown time zone {value!r} (e.g. Asia/Jakarta, Asia/Makassar, Asia/Jayapura)")


def _flatten(errors: Any, prefix: str = "") -> list[str]:
    """Turn Cerberus' nested error tree into 'a.b.c: message' lines."""
    out: list[str] = []
    if isinstance(errors, dict):
        for key, value in errors.items():
            out += _flatten(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(errors, list):
        for item in errors:
            out += _flatten(item, prefix)
    else:
        out.append(f"{prefix}: {errors}")
    return out


def _substitute(value: Any, path: str, env: AbcMapping[str, str], unset: dict[str, str],
                bad: dict[str, str] | None = None) -> Any:
    bad = {} if bad is None else bad
    if isinstance(value, dict):
        return {k: _substitute(v, f"{path}.{k}" if path else str(k), env, unset, bad) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, f"{path}[{i}]", env, unset, bad) for i, v in enumerate(value)]
    if not isinstance(value, str) or "${" not in value:
        return value
    # Judge the text as written, before any environment value is put in (a secret may hold "${").
    outside = _VAR.sub("", value)
    defaults = [m.group(2) or "" for m in _VAR.finditer(value)]
    if "${" in outside or any("${" in d for d in defaults):
        bad[path] = ("holds a ${ that is not one complete ${VAR} or ${VAR:-default}; defaults do not "
                     "nest (write ${VAR} and set VAR)")

    def one(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        got = env.get(name)
        if got is None or (got == "" and default is not None):
            if default is None:
                unset[path] = name
                return ""
            return default
        return got

    return _VAR.sub(one, value)


def find_config_path(explicit: str | os.PathLike[str] | None = None,
                     env: AbcMapping[str, str] | None = None) -> Path | None:
    """The configuration file to use, or None for the built-in demo."""
    env = os.environ if env is None else env
    if explicit:
        return Path(explicit)
    if env.get(ENV_VAR):
        return Path(env[ENV_VAR])
    local = Path(DEFAULT_FILE)
    return local if local.exists() else None


def load_config(path: str | os.PathLike[str] | None = None,
                env: AbcMapping[str, str] | None = None) -> Config:
    """Load, substitute, check and build the configuration; raise ConfigError listing every problem."""
    env = os.environ if env is None else env
    found = find_config_path(path, env)
    if found is None:
        return _build(demo_document(env), base=defaults_dir(), path=None, env=env)
    if not found.is_file():
        raise ConfigError(f"configuration file {found} does not exist")
    try:
        raw = safe_yaml.load_file(found)  # size, depth, aliases and keys within budget; ConfigError
    except yaml.YAMLError as exc:
        raise ConfigError(f"{found}: not valid YAML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{found}: cannot read: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{found}: the top level must be a mapping of keys (database_url, jne, stores)")
    return _build(raw, base=found.resolve().parent, path=found, env=env)


def _build(raw: dict[str, Any], base: Path, path: Path | None, env: AbcMapping[str, str]) -> Config:
    where = str(path) if path else "built-in demo configuration"
    unset: dict[str, str] = {}
    bad: dict[str, str] = {}
    doc = _substitute(raw, "", env, unset, bad)
    validator = _ConfigValidator(_SCHEMA)
    problems: list[str] = [f"{where}: {key}: {why}" for key, why in bad.items()]
    if not validator.validate(doc) or problems:
        for line in _flatten(validator.errors):
            key = line.split(":", 1)[0]
            hint = f" (from ${{{unset[key]}}}, which is not set)" if key in unset else ""
            problems.append(f"{where}: {line}{hint}")
        raise ConfigError(f"{where}: {len(problems)} problem(s)", problems)
    doc = validator.document

    jne = _account(doc["jne"])
    stores: dict[str, Store] = {}
    mappings: dict[tuple[Path, tuple[tuple[str, str], ...]], Any] = {}
    seen_shops: dict[tuple[str, str], str] = {}
    for store_id, block in doc["stores"].items():
        shop_key = (block["platform"], normalise_shop(block["shop"]))
        if shop_key in seen_shops:
            problems.append(f"{where}: stores.{store_id}.shop: {block['shop']!r} is already used by store "
                            f"{seen_shops[shop_key]!r}; webhooks could not tell them apart")
            continue
        seen_shops[shop_key] = store_id
        problems += [f"{where}: {p}" for p in shop_settings.check_store(store_id, block["platform"], block)]
        mapping_path = (base / block["mapping"]).resolve()
        tables = {name: str((base / p).resolve()) for name, p in (block.get("lookups") or {}).items()}
        cache_key = (mapping_path, tuple(sorted(tables.items())))
        try:
            if cache_key not in mappings:
                mappings[cache_key] = _load_mapping(mapping_path, tables)
        except ConfigError as exc:
            problems += [f"stores.{store_id}.mapping: {p}" for p in exc.problems]
            continue
        account = _account({**doc["jne"], **block["jne"]}) if block.get("jne") else jne
        # api holds tokens: a mapping must never be able to read them as store.api.*
        facts = {k: v for k, v in block.items() if k not in ("webhook_secret", "jne", "lookups", "api")}
        facts["id"] = store_id
        facts.setdefault("order_prefix", "")
        facts.setdefault("return", {})
        facts.setdefault("batam", {"item_type": "1", "npwp": ""})
        stores[store_id] = Store(
            id=store_id, platform=block["platform"], shop=block["shop"],
            webhook_secret=block["webhook_secret"], mapping_path=mapping_path,
            mapping=mappings[cache_key], jne=account, facts=facts,
            shop_api=shop_settings.shop_settings(block) if block.get("api") else None)
    dashboard, dashboard_problems = dashboard_settings.from_document(doc.get("dashboard"), doc["stores"])
    problems += [f"{where}: {p}" for p in dashboard_problems]
    if problems:
        raise ConfigError(f"{where}: {len(problems)} problem(s)", problems)

    hooks = doc.get("webhooks") or {}
    worker = WorkerSettings(**(doc.get("worker") or {}))
    database_url = normalise_database_url(doc["database_url"])
    if path is not None:
        database_url = resolve_sqlite_path(database_url, base)
    return Config(database_url=database_url, jne=jne, stores=stores,
                  path=path, max_body_bytes=hooks.get("max_body_bytes", 2 * 1024 * 1024), worker=worker,
                  language=doc.get("language", DEFAULT_LANGUAGE), dashboard=dashboard,
                  metrics_token=(doc.get("metrics") or {}).get("token"))


def resolve_sqlite_path(url: str, base: Path) -> str:
    """A relative SQLite file is relative to ``base`` (the configuration file's folder), like every path.

    Otherwise ``jne-integration --config shop/integration.yaml status`` run from another folder would
    read (and create) an empty ``integration.db`` there instead of the shop's ledger.
    """
    parsed = sa_url.make_url(url)
    database = parsed.database
    if (not parsed.drivername.startswith("sqlite") or not database or database == ":memory:"
            or database.startswith("file:") or os.path.isabs(database)):
        return url
    return parsed.set(database=str((base / database).resolve())).render_as_string(hide_password=False)


def _account(block: dict[str, Any]) -> JNEAccount:
    return JNEAccount(url=block["url"], username=block["username"], api_key=block["api_key"],
                      timeout_s=float(block.get("timeout_s", 15)))


def _load_mapping(path: Path, tables: dict[str, str]) -> Any:
    from integration.mapping import load_mapping

    return load_mapping(path, tables=tables or None)


def defaults_dir() -> Path:
    """The folder of the default mapping files and tables: ``mappings/`` as installed with the package."""
    folder = resources.files(DEFAULTS_PACKAGE)
    if not isinstance(folder, Path):  # a zipped install: mappings and tables are read from disk
        raise ConfigError(f"the default mappings ({DEFAULTS_PACKAGE}) are not files on disk; "
                          "install the package unpacked (pip install) to run the built-in demo")
    return folder


DEMO_SHOPIFY_SECRET = "test_shopify_client_secret"  # signed tests/fixtures/examples/shopify_cod.body
DEMO_WOOCOMMERCE_SECRET = "test_wc_webhook_secret"
# api.url of a shop stand-in started inside this process (integration.embedded), like jne.url: embedded;
# the demo stores write their cnotes back to one each. The credentials are the stand-ins' own.
EMBEDDED_SHOP = "http://embedded-shop.invalid"
DEMO_SHOP_TOKEN = "shpat_demo_embedded_standin_token"
DEMO_WOO_KEY = "ck_demo_embedded_standin"
DEMO_WOO_SECRET = "cs_demo_embedded_standin_secret"


def demo_document(env: AbcMapping[str, str]) -> dict[str, Any]:
    """The built-in demo: SQLite in the working directory, the embedded sandbox, two demo stores.

    Each demo store writes its cnotes back to an embedded shop stand-in (``EMBEDDED_SHOP``) seeded
    with the example order; reconcile is off (the stand-in's orders are the examples you send).

    Mapping and table paths are relative to ``defaults_dir()``, so the demo runs from any directory.
    """
    shipper = {"name": "TOKO DEMO", "addr1": "JL. D.I PANJAITAN NO 43", "addr2": "JELUTUNG",
               "city": "JAMBI", "zip": "36124", "region": "JAMBI", "country": "INDONESIA",
               "contact": "ALI", "phone": "+6281234567890"}
    pickup = {"name": "TOKO DEMO", "pic": "ALI", "phone": "+6281234567890",
              "address": "JL. D.I PANJAITAN NO 43", "district": "JELUTUNG", "city": "JAMBI",
              "service": "Domestic", "vehicle": "MOTOR", "type": "PICKUP", "timezone": "Asia/Jakarta",
              "cutoff": "15:00", "time": "16:00", "days": _DAYS[:6]}
    account = {"cust_id": "10950700", "branch": "CGK000", "merchant_id": "TOKODEMO",
               "origin_code": "CGK10000"}
    common = {"lookups": {"destinations": "jne_destinations.csv", "hs_codes": "hs_codes.csv"},
              "account": account, "pickup": pickup, "shipper": shipper,
              "batam": {"item_type": "1", "npwp": ""}}
    return {
        "database_url": env.get("DATABASE_URL") or "sqlite:///integration.db",
        "jne": {"url": env.get("JNE_URL") or EMBEDDED_SANDBOX,
                "username": env.get("JNE_USERNAME") or DEMO_USERNAME,
                "api_key": env.get("JNE_API_KEY") or DEMO_API_KEY, "timeout_s": 15},
        "stores": {
            "demo": {"platform": "shopify", "shop": "toko-contoh.myshopify.com",
                     "webhook_secret": env.get("DEMO_SHOPIFY_SECRET") or DEMO_SHOPIFY_SECRET,
                     "mapping": "shopify.yaml", "order_prefix": "DEMO", **common,
                     "api": {"url": EMBEDDED_SHOP, "access_token": DEMO_SHOP_TOKEN},
                     "reconcile": {"every_s": 0}},
            "demo-woo": {"platform": "woocommerce", "shop": "https://toko-contoh.example",
                         "webhook_secret": env.get("DEMO_WOOCOMMERCE_SECRET") or DEMO_WOOCOMMERCE_SECRET,
                         "mapping": "woocommerce.yaml", "order_prefix": "DEMOWC", **common,
                     "api": {"url": EMBEDDED_SHOP, "consumer_key": DEMO_WOO_KEY, "consumer_secret": DEMO_WOO_SECRET},
                     "reconcile": {"every_s": 0}},
        },
    }
