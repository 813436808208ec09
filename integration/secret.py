"""``Secret``: one holder for every secret value (api_key, tokens, client and consumer secrets)."""

from __future__ import annotations


class Secret:
    """Holds a secret so that repr(), str() and tracebacks with locals show '***'."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value

    def reveal(self) -> str:
        """The secret itself, for the one place that must send it."""
        return self._value

    def __repr__(self) -> str:
        return "'***'"

    __str__ = __repr__
