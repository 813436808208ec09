"""The ``dashboard:`` block of integration.yaml: who may log in, which stores each may see.

```yaml
dashboard:
  secret_key: ${DASHBOARD_SECRET_KEY}      # signs the session cookie (at least 16 characters)
  users:
    owner: {password_hash: "scrypt:...", stores: ["*"]}
    ali:   {password_hash: "scrypt:...", stores: [toko-ali]}
  secure_cookie: true                      # optional; default: Secure only on requests made over HTTPS
```

Without the block the dashboard is off (its URLs answer 404), except in the built-in demo, where
``serve`` makes a ``demo`` user with a random password (:func:`demo_settings`).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from werkzeug.security import generate_password_hash

ALL_STORES = "*"
USERNAME_PATTERN = r"^[A-Za-z0-9_.@-]{1,64}$"
HASH_PATTERN = r"^(scrypt|pbkdf2):\S+$"
DEMO_USER = "demo"

# Cerberus rules for the block, for integration/config.py's schema (key "dashboard").
SCHEMA: dict[str, Any] = {
    "type": "dict",
    "schema": {
        "secret_key": {"type": "string", "required": True, "empty": False, "minlength": 16},
        "secure_cookie": {"type": "boolean"},
        "users": {
            "type": "dict", "required": True, "empty": False,
            "keysrules": {"type": "string", "regex": USERNAME_PATTERN},
            "valuesrules": {"type": "dict", "schema": {
                "password_hash": {"type": "string", "required": True, "regex": HASH_PATTERN},
                "stores": {"type": "list", "required": True, "empty": False,
                           "schema": {"type": "string", "empty": False}},
            }},
        },
    },
}


@dataclass(frozen=True)
class DashboardUser:
    """One person who may log in; ``stores`` is the set of store ids, or None for every store."""

    name: str
    password_hash: str = field(repr=False)
    stores: frozenset[str] | None

    @property
    def fingerprint(self) -> str:
        """Changes when the password hash does: a session made before a password change ends."""
        return hashlib.sha256(self.password_hash.encode()).hexdigest()[:16]

    def visible(self, store_ids: Iterable[str]) -> list[str]:
        """Of ``store_ids`` (the configured stores), those this user may see, in that order."""
        return [s for s in store_ids if self.stores is None or s in self.stores]


@dataclass(frozen=True)
class DashboardSettings:
    """The checked ``dashboard:`` block."""

    secret_key: str = field(repr=False)
    users: Mapping[str, DashboardUser]
    secure_cookie: bool | None = None  # None: Secure exactly when the request came over HTTPS
    demo: bool = False


def from_document(block: Mapping[str, Any] | None, store_ids: Iterable[str]) -> tuple[DashboardSettings | None, list[str]]:
    """Settings from a ``dashboard:`` block already checked against :data:`SCHEMA`, and problems.

    The problems name a user's store that the configuration does not have (a typo there would
    otherwise silently show that user nothing).
    """
    if not block:
        return None, []
    known = set(store_ids)
    problems: list[str] = []
    users: dict[str, DashboardUser] = {}
    for name, spec in block["users"].items():
        listed = [str(s) for s in spec["stores"]]
        if ALL_STORES in listed:
            stores = None
        else:
            stores = frozenset(listed)
            for unknown in sorted(stores - known):
                problems.append(f"dashboard.users.{name}.stores: no store {unknown!r} in stores: "
                                f"(known: {', '.join(sorted(known))}; \"*\" means every store)")
        users[name] = DashboardUser(name, spec["password_hash"], stores)
    return DashboardSettings(block["secret_key"], users, block.get("secure_cookie")), problems


def demo_settings() -> tuple[DashboardSettings, str]:
    """The built-in demo's dashboard: user ``demo`` with a fresh random password (returned, to print)."""
    password = secrets.token_urlsafe(12)
    user = DashboardUser(DEMO_USER, generate_password_hash(password), None)
    return DashboardSettings(secrets.token_urlsafe(32), {DEMO_USER: user}, demo=True), password


def hash_password(password: str) -> str:
    """A password hash for ``dashboard.users.NAME.password_hash`` (werkzeug's scrypt format)."""
    return generate_password_hash(password)
