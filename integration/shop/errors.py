"""What a call to a shop's API came to when it did not simply succeed, grouped by what the caller does.

- ``ShopRetryable`` (an ``errors.RetryableError``): 429, ``THROTTLED``, 5xx, a refused or reset
  connection, a timeout, a lost reply. Trying again later is safe *provided the caller looks first*
  when ``maybe_done`` is set: a write whose reply was lost may have happened.
- ``ShopRefused`` (an ``errors.GiveUpError``): the shop said no and will say no again until a person
  acts: ``userErrors``, 401/403 after one token renewal, 404, a cancelled or closed order. The shop's
  own words are kept in ``shop_words`` so the owner sees them, never a paraphrase only.

Every text these errors carry has passed through ``redact`` with the client's secrets: a token, client
secret or consumer secret never reaches a log line, an exception message or a repr.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import quote, quote_plus

from integration.errors import GiveUpError, IntegrationError, RetryableError

MASK = "***"
_MIN_SECRET = 4  # shorter values would mangle ordinary words


class ShopError(IntegrationError):
    """A shop API call that did not succeed; ``reason`` is ours, ``shop_words`` the shop's own text."""

    def __init__(self, reason: str, *, platform: str, http_status: int | None = None,
                 shop_words: Iterable[str] = ()):
        super().__init__(reason)
        self.platform = platform
        self.http_status = http_status
        self.shop_words = tuple(shop_words)

    def __str__(self) -> str:
        if not self.shop_words:
            return self.reason
        return f"{self.reason}: {'; '.join(self.shop_words)}"


class ShopRetryable(ShopError, RetryableError):
    """The shop is busy, down or unreachable; ``retry_after_s`` is the shop's own hint when it gave one.

    ``maybe_done`` is True when the request may have been carried out (a write whose reply was lost,
    a timeout or 5xx after sending): look at the shop before writing again. ``throttled`` is True for
    a rate limit (429, ``THROTTLED``): the shop refused to run the request, so resending is safe.
    """

    def __init__(self, reason: str, *, platform: str, http_status: int | None = None,
                 shop_words: Iterable[str] = (), retry_after_s: float | None = None,
                 maybe_done: bool = False, throttled: bool = False):
        super().__init__(reason, platform=platform, http_status=http_status, shop_words=shop_words)
        self.retry_after_s = retry_after_s
        self.maybe_done = maybe_done
        self.throttled = throttled


class ShopRefused(ShopError, GiveUpError):
    """The shop refused; nothing changes until a person fixes credentials, scopes or the order."""


class ShopAuthRefused(ShopRefused):
    """401/403 (or a token the shop will not issue): credentials or access scopes are wrong."""


class ShopNotFound(ShopRefused):
    """The shop does not know this order (or this URL is not the shop's API)."""


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret masked, raw and URL-encoded (as a form or query string carries it)."""
    for secret in sorted((s for s in secrets if s and len(s) >= _MIN_SECRET), key=len, reverse=True):
        for form in {secret, quote_plus(secret), quote(secret, safe="")}:
            if form in text:
                text = text.replace(form, MASK)
    return text
