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

import difflib
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

from integration import config_messages, safe_yaml
from integration.dashboard import settings as dashboard_settings
from integration.errors import ConfigError
from integration.ledger.engine import normalise_database_url
from integration.privacy import settings as retention_settings
from integration.problems import DEFAULT_LANGUAGE, LANGUAGES
from integration.shop import settings as shop_settings

ENV_VAR = "JNE_INTEGRATION_CONFIG"
DEFAULT_FILE = "integration.yaml"
EMBEDDED_SANDBOX = "embedded"  # jne.url value: the sandbox JNE started inside this process
DEFAULTS_PACKAGE = "integration.defaults"  # the repository's mappings/, shipped inside the package
DEMO_USERNAME = "TESTAPI"
DEMO_API_KEY = "25c898a9faea1a100859ecd9ef674548"  # the test key published in JNE's own document

MIN_SECRET_LENGTH = 16
OVERRIDES_LOOKUP = "destination_overrides"  # lookups key of the owner's zip,district,code table
DESTINATION_FILES = "destination_files"    # store.* key naming the store's JNE list and overrides
KeyPath = tuple[Any, ...]
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
    destinations_url: str | None = None  # JNE's destination list; default <jne.url origin>/insert/getdestination
    origins_url: str | None = None       # JNE's origin list; default <jne.url origin>/insert/getorigin

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
    # The store's lookup files by name (``lookups:`` resolved against the config's folder), always
    # with ``destination_overrides`` (default destination_overrides/<store>.csv beside the config).
    lookups: dict[str, Path] = field(default_factory=dict, hash=False, compare=False)
    # JNE's synced destination list of the store's account (``destinations sync`` writes it), or
    # None for an account at ``jne.url: embedded``, which resolves against the sandbox's own list.
    destination_list: Path | None = field(default=None, hash=False, compare=False)
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
    retention: retention_settings.RetentionSettings = retention_settings.RetentionSettings()
    # load_config(lenient_mappings=True) only: stores whose mapping files do not load now, and why
    mapping_problems: dict[str, list[str]] = field(default_factory=dict, repr=False, compare=False)

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
    "destinations_url": {**_text, "empty": False, "regex": "^https?://.+"},
    "origins_url": {**_text, "empty": False, "regex": "^https?://.+"},
}

_STORE_SCHEMA = {
    "platform": {"type": "string", "required": True, "allowed": ["shopify", "woocommerce"]},
    "shop": _req_text,
    "webhook_secret": _secret,
    "mapping": _req_text,
    "lookups": {"type": "dict", "keysrules": {"type": "string"}, "valuesrules": _req_text},
    "order_prefix": {**_text, "regex": "^[A-Z0-9]{0,12}$", "default": ""},
    "default_service": {**_text, "regex": "^[A-Z0-9]{1,10}$"},
    # CTC / CTCYES titles: sent as named, or as REG / YES for a contract without same-city prices
    "ctc_as": {"type": "string", "allowed": ["named", "base"], "default": "named"},
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
        "skip_holidays": {"type": "boolean", "default": True},   # Indonesia's public holidays
        "cuti_bersama": {"type": "boolean", "default": False},   # collective leave days as well
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
    "retention": retention_settings.SCHEMA,
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


def _substitute(value: Any, path: KeyPath, env: AbcMapping[str, str], unset: dict[KeyPath, str],
                bad: dict[KeyPath, str] | None = None) -> Any:
    bad = {} if bad is None else bad
    if isinstance(value, dict):
        return {k: _substitute(v, (*path, k), env, unset, bad) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, (*path, i), env, unset, bad) for i, v in enumerate(value)]
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
                env: AbcMapping[str, str] | None = None, *, lenient_mappings: bool = False) -> Config:
    """Load, substitute, check and build the configuration; raise ConfigError listing every problem.

    ``lenient_mappings``: a store whose mapping files do not load is kept with ``mapping=None`` and
    its problems in ``Config.mapping_problems`` (for ``status``, which must work while an owner is
    in the middle of an edit); every other problem still raises.
    """
    env = os.environ if env is None else env
    found = find_config_path(path, env)
    if found is None:
        return _build(demo_document(env), base=defaults_dir(), path=None, env=env,
                      lenient_mappings=lenient_mappings)
    if not found.is_file():
        raise ConfigError(f"configuration file {found} does not exist")
    shown = str(found)
    try:
        # size, depth, aliases and keys within budget; the node keeps every key's line
        node, raw = safe_yaml.parse(safe_yaml.read_capped(found), found.name)
    except safe_yaml.FileTooLarge as exc:
        raise ConfigError(f"{shown}:1: {exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(safe_yaml.describe(exc, shown)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{shown}: cannot read: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{found}: the top level must be a mapping of keys (database_url, jne, stores)")
    return _build(raw, base=found.resolve().parent, path=found, env=env, located=config_messages.locate(node),
                  lenient_mappings=lenient_mappings)


def _build(raw: dict[str, Any], base: Path, path: Path | None, env: AbcMapping[str, str],
           located: config_messages.Located | None = None, lenient_mappings: bool = False) -> Config:
    """Check everything in one pass (schema, YAML's conversions, files, mappings), then build."""
    where = str(path) if path else "built-in demo configuration"
    located = located or config_messages.Located()
    unset: dict[KeyPath, str] = {}
    bad: dict[KeyPath, str] = {}
    doc = _substitute(raw, (), env, unset, bad)
    issues: list[tuple[KeyPath, str]] = list(bad.items())
    quoted = config_messages.yaml_changes(located, raw, _SCHEMA)
    issues += quoted
    validator = _ConfigValidator(_SCHEMA)
    valid = validator.validate(doc)
    if not valid:
        said = [p for p, _ in quoted] + list(bad)
        for key, why in config_messages.schema_problems(validator._errors, _SCHEMA):  # noqa: SLF001
            if any(key[:len(p)] == p for p in said):
                continue  # "write it in quotes" already says what is wrong with this value
            hint = f" (from ${{{unset[key]}}}, which is not set)" if key in unset else ""
            issues.append((key, why + hint))
    checked = validator.document if isinstance(validator.document, dict) else doc
    if valid and not issues:
        doc = checked

    # Every store's files too, whatever else is wrong: all problems in one pass.
    home = path.resolve().parent if path is not None else Path(os.getcwd())  # lists and overrides live here
    later: list[str] = []  # mapping problems: already "file:line: rule: message"
    mapping_problems: dict[str, list[str]] = {}
    mappings: dict[tuple[Path, tuple[tuple[str, str], ...]], Any] = {}
    by_store: dict[str, Any] = {}
    seen_shops: dict[tuple[str, str], str] = {}
    stores_doc = checked.get("stores") if isinstance(checked.get("stores"), dict) else {}
    for store_id, block in stores_doc.items():
        if not isinstance(block, dict):
            continue
        here: KeyPath = ("stores", store_id)
        if isinstance(block.get("platform"), str) and isinstance(block.get("shop"), str):
            shop_key = (block["platform"], normalise_shop(block["shop"]))
            if shop_key in seen_shops:
                issues.append(((*here, "shop"), f"{block['shop']!r} is already used by store "
                                                f"{seen_shops[shop_key]!r}; webhooks could not tell them apart"))
            seen_shops.setdefault(shop_key, store_id)
        mapping = block.get("mapping")
        if not isinstance(mapping, str) or not mapping.strip():
            continue
        missing = _missing_files(base, here, mapping, block.get("lookups"))
        if missing:
            issues += missing
            continue
        if isinstance(block.get("platform"), str):
            issues += [(_key_of(p), p.split(": ", 1)[1]) for p in
                       shop_settings.check_store(store_id, block["platform"], block)]
        mapping_path = (base / mapping).resolve()
        lookups = _lookups(base, home, store_id, block.get("lookups"))
        # The overrides are the destination resolver's, not a mapping table (zip,district -> code).
        tables = {name: str(p) for name, p in lookups.items() if name != OVERRIDES_LOOKUP}
        issues += [((*here, "lookups", OVERRIDES_LOOKUP), p) for p in _overrides_problems(lookups[OVERRIDES_LOOKUP])]
        cache_key = (mapping_path, tuple(sorted(tables.items())))
        try:
            if cache_key not in mappings:
                mappings[cache_key] = _load_mapping(mapping_path, tables)
            by_store[store_id] = mappings[cache_key]
        except ConfigError as exc:
            found = [f"{p} (the mapping of store {store_id})" for p in exc.problems]
            mappings[cache_key] = None
            if lenient_mappings:
                mapping_problems[store_id] = found
            else:
                later += found

    dashboard = None
    if valid and not issues:
        dashboard, dashboard_problems = dashboard_settings.from_document(doc.get("dashboard"), doc["stores"])
        issues += [(_key_of(p), p.split(": ", 1)[1] if ": " in p else p) for p in dashboard_problems]
    problems = [config_messages.render(where, located, key, why)
                for key, why in sorted(issues, key=lambda i: located.line_of(i[0]) or 0)] + later
    if problems:
        raise ConfigError(f"{where}: {len(problems)} problem(s)", problems)

    jne = _account(doc["jne"])
    stores: dict[str, Store] = {}
    for store_id, block in doc["stores"].items():
        account = _account({**doc["jne"], **block["jne"]}) if block.get("jne") else jne
        lookups = _lookups(base, home, store_id, block.get("lookups"))
        destination_list = _destination_list(home, account)
        facts = {k: v for k, v in block.items() if k not in _NOT_FACTS}
        facts["id"] = store_id
        # Where the destination rule finds this store's JNE list and overrides (plain text, so the
        # mapping's per-store cache compares it cheaply); see integration.destinations.cache.
        facts[DESTINATION_FILES] = {"list": str(destination_list) if destination_list else EMBEDDED_SANDBOX,
                                    "overrides": str(lookups[OVERRIDES_LOOKUP])}
        facts.setdefault("order_prefix", "")
        facts.setdefault("return", {})
        facts.setdefault("batam", {"item_type": "1", "npwp": ""})
        stores[store_id] = Store(
            id=store_id, platform=block["platform"], shop=block["shop"],
            webhook_secret=block["webhook_secret"], mapping_path=(base / block["mapping"]).resolve(),
            mapping=by_store.get(store_id), jne=account, facts=facts, lookups=lookups,
            destination_list=destination_list,
            shop_api=shop_settings.shop_settings(block) if block.get("api") else None)

    hooks = doc.get("webhooks") or {}
    worker = WorkerSettings(**(doc.get("worker") or {}))
    database_url = normalise_database_url(doc["database_url"])
    if path is not None:
        database_url = resolve_sqlite_path(database_url, base)
    return Config(database_url=database_url, jne=jne, stores=stores,
                  path=path, max_body_bytes=hooks.get("max_body_bytes", 2 * 1024 * 1024), worker=worker,
                  language=doc.get("language", DEFAULT_LANGUAGE), dashboard=dashboard,
                  metrics_token=(doc.get("metrics") or {}).get("token"),
                  retention=retention_settings.from_document(doc.get("retention")),
                  mapping_problems=mapping_problems)


def _key_of(problem: str) -> KeyPath:
    """The key path a message of the form ``a.b.c: ...`` names (for its line)."""
    head = problem.split(": ", 1)[0] if ": " in problem else ""
    return tuple(head.split(".")) if head and " " not in head else ()


def _missing_files(base: Path, here: KeyPath, mapping: str, lookups: Any) -> list[tuple[KeyPath, str]]:
    """The mapping and lookup files of a store that do not exist, each with the nearest file there is."""
    found = []
    wanted = [((*here, "mapping"), mapping, "*.y*ml")]
    if isinstance(lookups, dict):
        # The owner's destination overrides may not exist yet: the dashboard creates the file on a first choice.
        wanted += [((*here, "lookups", name), p, "*.csv") for name, p in lookups.items()
                   if isinstance(p, str) and name != OVERRIDES_LOOKUP]
    for key, given, pattern in wanted:
        target = base / given
        if target.is_file():
            continue
        folder = target.parent
        near = sorted(str(Path(given).parent / f.name) for f in folder.glob(pattern)) if folder.is_dir() else []
        close = difflib.get_close_matches(given, near, n=1, cutoff=0.6)
        hint = f", did you mean {close[0]!r}?" if close else ""
        found.append((key, f"{given!r} does not exist{hint} (looked for {target.resolve()}; paths are "
                           "relative to this file)"))
    return found


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
                      timeout_s=float(block.get("timeout_s", 15)),
                      destinations_url=block.get("destinations_url"), origins_url=block.get("origins_url"))


def _lookups(base: Path, home: Path, store_id: str, given: Any) -> dict[str, Path]:
    """A store's lookup files resolved, always with its destination overrides (by default beside the config)."""
    lookups = {name: (base / p).resolve() for name, p in (given or {}).items() if isinstance(p, str)}
    lookups.setdefault(OVERRIDES_LOOKUP, home / "destination_overrides" / f"{store_id}.csv")
    return lookups


def _overrides_problems(path: Path) -> list[str]:
    """The store's destination overrides checked now (a missing file is an empty table)."""
    from integration.destinations.overrides import load_overrides

    try:
        load_overrides(path)
    except ConfigError as exc:
        return list(exc.problems)
    return []


def _destination_list(home: Path, account: JNEAccount) -> Path | None:
    """The synced list file of ``account`` (None at the embedded sandbox, whose list needs no sync)."""
    if account.url == EMBEDDED_SANDBOX:
        return None
    from integration.destinations.jne_list import list_path  # the package imports this module

    return list_path(home, account.username, account.url)


def _load_mapping(path: Path, tables: dict[str, str]) -> Any:
    """The store's mapping, followed: a running service picks up edits of its files (LiveMapping)."""
    from integration.mapping import load_mapping
    from integration.mapping.files.live import LiveMapping

    keys = store_fact_keys()
    return LiveMapping.load(lambda fingerprint: load_mapping(path, tables=tables or None, fingerprint=fingerprint,
                                                             store_keys=keys))


# kept out of store.*: secrets, or not facts (api holds tokens: never readable as store.api.*)
_NOT_FACTS = ("webhook_secret", "jne", "lookups", "api")


def store_fact_keys() -> dict[str, Any]:
    """The keys a mapping may read under ``store.`` (the store block's schema, without secrets)."""
    from integration.mapping.files.store_facts import ANY_KEYS

    def keys_of(schema: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, rule in schema.items():
            sub = rule.get("schema")
            if rule.get("type") == "dict":
                out[key] = keys_of(sub) if isinstance(sub, dict) else ANY_KEYS
            else:
                out[key] = None
        return out

    found = keys_of({k: v for k, v in _STORE_SCHEMA.items() if k not in _NOT_FACTS})
    found["id"] = None  # added by the loader: the store's id
    return found


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
    # No destinations table: the demo resolves through JNE's list (the embedded sandbox's own, or
    # the synced one of JNE_URL's account) and Kemendagri's regions, as a real store does.
    common = {"lookups": {"hs_codes": "hs_codes.csv"},
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
