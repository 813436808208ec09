"""HTTP plumbing both shop clients share: one pooled session, one exchange, waiting out rate limits.

Which faults are retried *inside* a call, and which are handed to the caller:

- a rate limit (429 with ``Retry-After``, Shopify's ``THROTTLED``): the shop did not run the request,
  so it is resent after the wait the shop asked for, for reads and writes alike, while the waits stay
  within ``max_wait_s``; past that the caller gets ``ShopRetryable`` with the wait still needed;
- 5xx, a refused/reset connection, a timeout: a read is resent (at most ``READ_ATTEMPTS`` in all, short
  backoff); a write is not, because it may have happened (requests' own docs: only a ``ConnectTimeout``
  is known not to have reached the server). The caller gets ``ShopRetryable(maybe_done=True)`` and looks
  at the shop before writing again.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TypeVar

import requests
from requests.adapters import HTTPAdapter

from integration.logging_setup import install_redaction
from integration.secret import Secret
from integration.shop.errors import ShopRetryable, redact

__all__ = ["READ_ATTEMPTS", "Secret", "Transport", "retry_after_seconds"]

log = logging.getLogger("integration.shop")

READ_ATTEMPTS = 3        # a read is tried at most this often for 5xx / network faults within one call
_BACKOFF_BASE_S = 0.5    # first in-call wait after a 5xx / network fault on a read, doubling
_POOL_SIZE = 16
T = TypeVar("T")


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date); None if absent/odd."""
    if not value:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            moment = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        seconds = (moment - datetime.now(UTC)).total_seconds()
    return max(0.0, min(seconds, 3600.0))


class Transport:
    """One pooled session, the call counter, the secrets to mask, and the in-call retry loop."""

    def __init__(self, platform: str, *, timeout_s: float, max_wait_s: float,
                 secrets: Callable[[], list[str]], session: requests.Session | None = None,
                 sleep: Callable[[float], None] = time.sleep, base_url: str | None = None):
        self.platform = platform
        self.timeout = (min(timeout_s, 5.0), timeout_s)
        self.max_wait_s = max_wait_s
        self._secrets = secrets
        self._sleep = sleep
        self.session = session if session is not None else _new_session(base_url)
        self._lock = threading.Lock()
        self._local = threading.local()
        self.calls = 0  # HTTP requests sent, for the benchmarks' "calls per write-back"
        # Every log record of the process is redacted too: urllib3 logs request URLs at DEBUG, and a
        # WooCommerce query-string key travels in the URL.
        install_redaction(secrets())

    def mask(self, text: str) -> str:
        """``text`` with this client's secrets masked."""
        return redact(text, self._secrets())

    def send(self, method: str, url: str, *, write: bool, **kwargs) -> requests.Response:
        """One HTTP exchange, counted; network faults become ``ShopRetryable`` with masked words."""
        with self._lock:
            self.calls += 1
        self._local.calls = getattr(self._local, "calls", 0) + 1
        self._local.status = None  # stays None when this exchange gets no answer
        try:
            response = self.session.request(method, url, timeout=self.timeout, allow_redirects=False, **kwargs)
        except requests.ConnectTimeout as exc:  # requests: "safe to retry", nothing reached the shop
            raise ShopRetryable(f"could not connect to the shop in time ({type(exc).__name__})",
                                platform=self.platform) from None
        except requests.Timeout as exc:
            raise ShopRetryable(f"the shop did not answer in time ({type(exc).__name__})",
                                platform=self.platform, maybe_done=write) from None
        except requests.RequestException as exc:
            # ConnectionError covers a refused connection and a reply lost after the request went out;
            # for a write we cannot tell them apart, so the caller looks before writing again.
            raise ShopRetryable(f"no reply from the shop ({type(exc).__name__}: {self.mask(str(exc))[:300]})",
                                platform=self.platform, maybe_done=write) from None
        self._local.status = response.status_code
        return response

    def thread_calls(self) -> int:
        """HTTP requests sent so far from the calling thread (per-operation counts under concurrency)."""
        return getattr(self._local, "calls", 0)

    def thread_status(self) -> int | None:
        """The HTTP status of the calling thread's last exchange; None when it got no answer (or none was sent)."""
        return getattr(self._local, "status", None)

    def run(self, once: Callable[[], T], *, what: str) -> T:
        """Call ``once`` until it returns, waiting out rate limits and retrying safe faults (see module doc)."""
        waited = 0.0
        faults = 0
        while True:
            try:
                return once()
            except ShopRetryable as exc:
                if exc.throttled:
                    wait = exc.retry_after_s if exc.retry_after_s is not None else _backoff(faults)
                elif not exc.maybe_done and faults + 1 < READ_ATTEMPTS:
                    faults += 1
                    wait = _backoff(faults - 1)
                else:
                    raise
                if waited + wait > self.max_wait_s:
                    exc.retry_after_s = wait
                    raise
                log.info("%s %s: %s; waiting %.2fs", self.platform, what, exc.reason, wait)
                self._sleep(wait)
                waited += wait


def _backoff(n: int) -> float:
    return _BACKOFF_BASE_S * (2 ** n) * (0.75 + random.random() / 2)  # jitter, not a secret


def _new_session(base_url: str | None = None) -> requests.Session:
    session = requests.Session()
    if base_url is not None:
        # The environment (HTTPS_PROXY, NO_PROXY, REQUESTS_CA_BUNDLE) is read once, for the one shop this
        # session talks to, instead of on every request: requests' per-request scan of os.environ was
        # about a tenth of a write-back's CPU, in the worker process that books too.
        session.proxies.update(requests.utils.get_environ_proxies(base_url))
        bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
        if bundle:
            session.verify = bundle
        session.trust_env = False
    # max_retries=0: urllib3 never resends on its own; this module decides what is safe to resend.
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=_POOL_SIZE, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
