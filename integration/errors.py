"""The project's errors, grouped by what the caller does about them.

Problems with an order (a field JNE would refuse, a mapping that finds no value) are *data*: lists
of messages carried in results, never exceptions. Exceptions are for configuration mistakes found at
load time and for faults the caller must decide about:

- ``RetryableError``: retrying later is safe and may succeed (JNE down, database briefly away).
- ``GiveUpError``: retrying the same thing cannot succeed until a person changes something
  (configuration, credentials).
"""

from __future__ import annotations


class IntegrationError(Exception):
    """Root of every error this package raises on purpose; ``reason`` is safe to show a user."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class RetryableError(IntegrationError):
    """A fault outside us that may pass: retrying the same call later is safe."""


class GiveUpError(IntegrationError):
    """Retrying cannot help until a person changes configuration, credentials or data."""


class ConfigError(GiveUpError):
    """integration.yaml, a mapping file or a lookup table is wrong; found at load time.

    ``problems`` holds one readable line per problem (file, key or rule, line number, what is wrong).
    """

    def __init__(self, reason: str, problems: list[str] | None = None):
        super().__init__(reason)
        self.problems = list(problems or [reason])

    def __str__(self) -> str:
        return "\n".join(self.problems)
