"""Messages about integration.yaml in the same class as the mapping's: file, line, what is accepted, a fix.

integration.yaml is written by store owners, so a message says where (``file:line``), which key,
what was written, what is accepted and, when a close match exists, "did you mean". Two traps of
YAML are caught before the schema looks at the values, because the value the schema sees is no
longer what the owner wrote:

- ``cust_id: 01234567`` is the octal number 342391, ``cutoff: 14:00`` the number 840 (base 60),
  ``phone: +6281234567890`` loses its plus, ``cust_id: 1.50`` becomes 1.5, ``npwp: no`` is false:
  "write it in quotes", with what YAML made of it;
- a key that is not in the schema gets the nearest known key, a value outside a list of allowed
  ones gets the list and the nearest (``motor`` -> ``MOTOR``, ``senin`` -> ``mon``).

The walk over YAML nodes keeps every key's line the way the mapping reader does
(integration/mapping/files/source.py); the schema itself stays in integration/config.py.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

KeyPath = tuple[Any, ...]  # ("stores", "toko-ali", "pickup", "days", 0)

_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_CHANGED_TAGS = (_INT, _FLOAT, _BOOL, _TIMESTAMP)
_TIME_KEYS = ("cutoff", "time")

# Indonesian and English day names an owner may write for the pickup days.
DAY_ALIASES = {
    "senin": "mon", "selasa": "tue", "rabu": "wed", "kamis": "thu", "jumat": "fri", "jum'at": "fri",
    "sabtu": "sat", "minggu": "sun", "ahad": "sun", "monday": "mon", "tuesday": "tue",
    "wednesday": "wed", "thursday": "thu", "friday": "fri", "saturday": "sat", "sunday": "sun",
}

# What a value of a key checked by a regular expression looks like, in words.
FORMS = {
    "cutoff": 'a time of day HH:MM (24 h) in quotes, e.g. "15:00"',
    "time": 'a time of day HH:MM (24 h) in quotes, e.g. "16:00"',
    "order_prefix": "0 to 12 capital letters and digits (A-Z, 0-9), e.g. ALI; it starts every JNE ORDER_ID",
    "default_service": "a JNE service code in capitals, e.g. REG or YES",
    "zip": 'a postal code of 5 digits in quotes, e.g. "36124"',
    "password_hash": "a password hash as `jne-integration dashboard hash-password` prints it (scrypt:... or pbkdf2:...)",
}
# Keys whose values are never echoed in a message (a password pasted where its hash belongs, too).
SECRET_KEYS = frozenset({"webhook_secret", "api_key", "secret_key", "password_hash", "token", "access_token",
                         "client_secret", "consumer_key", "consumer_secret", "password"})
STORE_ID_FORM = "lower-case letters, digits, - and _ (e.g. toko-ali), at most 63 characters"
TYPE_WORDS = {"string": "text", "dict": "a block of key: value lines", "list": "a list, e.g. [mon, tue]",
              "number": "a number", "integer": "a whole number", "boolean": "true or false"}


@dataclass
class Located:
    """Where each key of the file is (1-based lines), and the plain scalars YAML gave a type."""

    lines: dict[KeyPath, int] = field(default_factory=dict)
    typed: dict[KeyPath, tuple[str, str]] = field(default_factory=dict)  # path -> (text written, tag)

    def line_of(self, path: KeyPath) -> int | None:
        """The line of ``path`` or of its nearest ancestor written in the file; None without a file."""
        while path and path not in self.lines:
            path = path[:-1]
        return self.lines.get(path)


def locate(node: yaml.Node | None) -> Located:
    """The lines and typed plain scalars of a composed YAML document."""
    found = Located()
    if node is not None:
        _walk(node, (), found)
    return found


def _walk(node: yaml.Node, path: KeyPath, found: Located) -> None:
    found.lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                continue
            sub = (*path, key_node.value)
            found.lines[sub] = key_node.start_mark.line + 1
            _walk(value_node, sub, found)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*path, index), found)
    elif isinstance(node, yaml.ScalarNode) and node.style is None and node.tag in _CHANGED_TAGS:
        found.typed[path] = (node.value, node.tag)


def dotted(path: KeyPath) -> str:
    """``stores.toko-ali.pickup.days[0]``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def rule_at(schema: dict[str, Any], path: KeyPath) -> dict[str, Any] | None:
    """The Cerberus rule that checks the value at ``path``, or None when the schema has no such key."""
    rules: dict[str, Any] | None = schema
    rule: dict[str, Any] | None = None
    for part in path:
        if isinstance(part, int):
            if rule is None or not isinstance(rule.get("schema"), dict) or rule.get("type") != "list":
                return None
            rule = rule["schema"]
            rules = rule.get("schema") if isinstance(rule.get("schema"), dict) else None
            continue
        if rules is None:
            if rule is not None and isinstance(rule.get("valuesrules"), dict):
                rule = rule["valuesrules"]
                rules = rule.get("schema") if isinstance(rule.get("schema"), dict) else None
                continue
            return None
        rule = rules.get(part)
        if rule is None:
            return None
        rules = rule.get("schema") if rule.get("type") == "dict" and isinstance(rule.get("schema"), dict) else None
    return rule


def _is_text(rule: dict[str, Any] | None) -> bool:
    return rule is not None and (rule.get("type") == "string" or rule.get("coerce") == "text")


def _is_number(rule: dict[str, Any] | None) -> bool:
    return rule is not None and rule.get("type") in ("number", "integer")


def _shown(value: Any) -> str:
    if value is True or value is False:
        return "true" if value else "false"
    return repr(value) if isinstance(value, str) else str(value)


def yaml_changes(located: Located, document: Any, schema: dict[str, Any]) -> list[tuple[KeyPath, str]]:
    """Values YAML read as something other than what was written, where that matters: "write it in quotes"."""
    found: list[tuple[KeyPath, str]] = []
    for path, (text, tag) in located.typed.items():
        value = _value_at(document, path)
        rule = rule_at(schema, path)
        key = next((p for p in reversed(path) if isinstance(p, str)), "")
        if key in SECRET_KEYS:
            if _is_text(rule):
                found.append((path, f"write it in quotes: {key}: \"...\" (unquoted, YAML reads this value as "
                                    f"{'true/false' if tag == _BOOL else 'a number'} and changes it)"))
            continue
        bare = text.lstrip("+-").replace("_", "")
        base_60 = ":" in text and tag in (_INT, _FLOAT)
        other_base = tag == _INT and len(bare) > 1 and bare[0] == "0"  # 012 octal, 0x1F hex, 0b1 binary
        if _is_text(rule):
            if key in _TIME_KEYS:
                what = "a date" if tag == _TIMESTAMP else f"the number {_shown(value)}"
                found.append((path, f'write times in quotes: {key}: "{text}" (unquoted, YAML reads {text} '
                                    f"as {what})"))
            elif other_base:
                found.append((path, f'write it in quotes: {key}: "{text}" (unquoted, YAML reads {text} as the '
                                    f"{'octal ' if bare[1:2].isdigit() else ''}number {_shown(value)})"))
            elif tag == _BOOL:
                found.append((path, f'write it in quotes: {key}: "{text}" (unquoted, YAML reads {text} as '
                                    f"{_shown(value)})"))
            elif tag == _TIMESTAMP:
                found.append((path, f'write it in quotes: {key}: "{text}" (unquoted, YAML reads it as a date)'))
            elif str(value) != text:
                found.append((path, f'write it in quotes: {key}: "{text}" (unquoted, YAML reads {text} as the '
                                    f"number {_shown(value)})"))
        elif _is_number(rule) and (base_60 or other_base):
            what = "a number in base 60" if base_60 else "an octal number" if bare[1:2].isdigit() else "a number"
            found.append((path, f"{text} is read by YAML as {what}, {_shown(value)}; write the number plainly "
                                "(no leading zero, no colon)"))
    return found


def _value_at(document: Any, path: KeyPath) -> Any:
    value = document
    for part in path:
        try:
            value = value[part]
        except (KeyError, IndexError, TypeError):
            return None
    return value


def suggest_value(value: Any, allowed: list[Any]) -> str:
    """", did you mean 'MOTOR'?" for a value close to an allowed one, else ""."""
    if not isinstance(value, str):
        return ""
    text = value.strip()
    for choice in allowed:
        if isinstance(choice, str) and choice.lower() == text.lower():
            return f", did you mean {choice!r}?"
    alias = DAY_ALIASES.get(text.lower())
    if alias in allowed:
        return f", did you mean {alias!r} ({text})?"
    names = {str(c).lower(): c for c in allowed}
    close = difflib.get_close_matches(text.lower(), list(names), n=1, cutoff=0.6)
    return f", did you mean {names[close[0]]!r}?" if close else ""


def suggest_key(key: Any, known: list[str]) -> str:
    """", did you mean 'order_prefix'?" for a key close to a known one, else ""."""
    close = difflib.get_close_matches(str(key).lower(), known, n=1, cutoff=0.6)
    return f", did you mean {close[0]!r}?" if close else ""


def schema_problems(errors: list[Any], schema: dict[str, Any]) -> list[tuple[KeyPath, str]]:
    """One (path, message) per Cerberus error (``validator._errors``), in the owner's words."""
    found: list[tuple[KeyPath, str]] = []
    for error in errors:
        if error.is_group_error:
            found += schema_problems(error.child_errors, schema)
            continue
        message = _message(error, schema)
        if message is not None:
            found.append((tuple(error.document_path), message))
    return found


def _message(error: Any, schema: dict[str, Any]) -> str | None:
    path = tuple(error.document_path)
    key = path[-1] if path else ""
    rule, constraint, value = error.rule, error.constraint, error.value
    if key in SECRET_KEYS and rule in ("allowed", "regex", "min", "max", "type"):
        return _secret_message(rule, constraint, key)
    if "keysrules" in error.schema_path:
        if path[:1] == ("stores",):
            return f"{key!r} cannot be a store id: write {STORE_ID_FORM}"
        pattern = f" (it must match {constraint})" if rule == "regex" else ""
        return f"{key!r} is not accepted as a name here{pattern}"
    if error.code == 0x03:  # unknown field
        known = _known_keys(schema, tuple(error.schema_path))
        listed = f" (known: {', '.join(known)})" if known else ""
        return f"unknown key {key!r}{suggest_key(key, known)}{listed}"
    if rule == "required":
        return "is required: add it (see the configuration reference in README.md)"
    if rule == "allowed":
        allowed = list(constraint)
        return (f"{_shown(value)} is not allowed here{suggest_value(value, allowed)} "
                f"(allowed: {', '.join(map(str, allowed))})")
    if rule == "regex":
        form = FORMS.get(str(key))
        hint = ""
        if isinstance(value, str) and value.upper() != value and re.fullmatch(constraint, value.upper()):
            hint = f", did you mean {value.upper()!r}?"
        if form is None:
            return f"{_shown(value)} does not have the expected form{hint} (it must match {constraint})"
        return f"{_shown(value)} is not {form}{hint}"
    if rule == "type":
        wanted = " or ".join(TYPE_WORDS.get(t, t) for t in (constraint if isinstance(constraint, list) else [constraint]))
        return f"must be {wanted}, not {_kind(value)}"
    if rule == "nullable":
        return "is empty: write a value, or remove the key to use the default"
    if rule == "empty":
        return "must not be empty"
    if rule == "min":
        return f"must be at least {constraint}, not {_shown(value)}"
    if rule == "max":
        return f"must be at most {constraint}, not {_shown(value)}"
    if rule == "maxlength":
        return f"is {len(value)} characters long; at most {constraint} are accepted"
    if rule == "minlength":
        if isinstance(value, str):
            return f"is {len(value)} characters long; at least {constraint} are needed"
        return f"needs at least {constraint} entries"
    if error.info and isinstance(error.info[0], str):  # our own check_with messages
        return error.info[0]
    return f"is not accepted ({rule})"


def _secret_message(rule: str, constraint: Any, key: str) -> str:
    """A message about a secret's value that does not repeat the value."""
    if rule == "regex":
        form = FORMS.get(key)
        return f"the value is not {form}" if form else f"the value does not have the expected form ({constraint})"
    if rule == "type":
        wanted = " or ".join(TYPE_WORDS.get(t, t) for t in (constraint if isinstance(constraint, list) else [constraint]))
        return f"must be {wanted}"
    return f"the value is not accepted ({rule} {constraint})"


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return f"true/false ({_shown(value)})"
    if isinstance(value, dict):
        return "a block of keys"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text {value!r}"
    return type(value).__name__


def _known_keys(schema: dict[str, Any], schema_path: KeyPath) -> list[str]:
    node: Any = schema
    for part in schema_path:
        if not isinstance(node, dict):
            return []
        node = node.get(part)
    return sorted(node) if isinstance(node, dict) else []


def render(where: str, located: Located, path: KeyPath, message: str) -> str:
    """``file:line: key: message`` (without a line for the built-in demo, which has no file)."""
    line = located.line_of(path)
    place = f"{where}:{line}" if line is not None else where
    return f"{place}: {dotted(path)}: {message}" if path else f"{place}: {message}"
