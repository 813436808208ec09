"""The project's errors, grouped by what the caller does about them.

- Problems with an order (a field JNE would refuse, a mapping that finds no value) are *data*:
  problems carried in results and stored with the shipment (``integration.problems``), never
  exceptions; the caller records them and moves on to the next order.
- Faults that may pass (JNE down or slow, the database briefly away) are not ours to wrap either:
  a JNE reply or timeout is a classified outcome (``JNEOutcome.retryable``) that the worker turns
  into a retry time, and the driver's own ``SQLAlchemyError`` is caught where the caller can still
  answer for it (503 so the platform sends again, a lease that runs out so the row comes back).
- Calls to services outside (a shop's API, JNE's destination lists) raise, grouped by what the
  caller does: ``RetryableError`` (later may work: back off and try again) or ``GiveUpError``
  (a person must change something first: show ``reason`` and stop).
- Exceptions are for what retrying cannot fix until a person changes something: configuration
  mistakes found at load time, a replay that cannot be done. The caller shows ``reason`` (or
  ``problems``) and stops; every such error derives from ``IntegrationError``.
"""

from __future__ import annotations


class IntegrationError(Exception):
    """Root of every error this package raises on purpose; ``reason`` is safe to show a user."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class RetryableError(IntegrationError):
    """A fault outside us that may pass (429, 5xx, a reset, a timeout): retrying later is safe.

    Safe means the retry cannot do a thing twice: a read, or a write the caller checks for first.
    """


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
