"""The JNE pickup/cashless client: ``JNEClient.book(fields) -> BookingResult``.

JNE answers HTTP 200 for nearly every outcome, so the client reads every reply and classifies it;
it never raises for anything JNE or the network does. It never retries either: whether and when to
try again belongs to the worker, and the outcome says whether that is safe.

The api_key is sent in the form body only. It never appears in a log line, a result, a repr or an
exception message: replies are masked before they are kept, and the key itself is held in a
wrapper whose repr is ``'***'``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, quote_plus, urlsplit

import requests
from requests.adapters import HTTPAdapter

from integration.jne.fields import CREDENTIAL_FIELDS
from integration.jne.schema import as_form
from integration.privacy.logs import reason_for_log
from integration.secret import Secret
from integration.vocabulary import JNEOutcome

__all__ = ["BOOKED", "DUPLICATE", "REJECTED", "AUTH_FAILED", "TRANSIENT", "OUTCOMES",
           "BookingResult", "JNEClient", "classify_reply"]

log = logging.getLogger("integration.jne")

# Every reply is one of the JNEOutcome values (integration/vocabulary.py), which say when retrying is safe:
BOOKED = JNEOutcome.BOOKED
"""JNE booked the pickup and gave its cnote (airwaybill). Done: do not send this order again."""
DUPLICATE = JNEOutcome.DUPLICATE
"""JNE already has this ORDER_ID and returned the cnote of that booking. Done, if this ledger row
sent the ORDER_ID before (a lost reply); otherwise the ORDER_ID collides with another order."""
REJECTED = JNEOutcome.REJECTED
"""JNE refused this booking (empty fields, a reason, its firewall, success without cnote). Retrying
the same fields cannot help: a person fixes the order or mapping, then replays it."""
AUTH_FAILED = JNEOutcome.AUTH_FAILED
"""JNE does not know the username/api_key. Retrying cannot help until a person fixes the
credentials; stop booking for this account."""
TRANSIENT = JNEOutcome.TRANSIENT
"""No usable answer (refused, reset, timeout, 5xx, 429, a body that is not JSON). JNE may or may not
have booked: retrying later with the SAME ORDER_ID is safe, since JNE refuses a second booking of
an ORDER_ID and answers "duplicate" with the first cnote."""
OUTCOMES = tuple(JNEOutcome)

MAX_REPLY_BYTES = 1024 * 1024  # JNE's replies are a few hundred bytes; more is read as "no usable answer"
REPLY_CHARS = 2000  # kept of a reply body: enough to read a WAF page or an odd JSON, small in a ledger
_WAF_TEXT = "security policy"  # JNE's firewall page: "Content not confirm our security Policy"
_AUTH_TEXT = "username or api key not found"
_DUPLICATE_TEXT = "already exist"
_POOL_SIZE = 32  # connections kept per host: the worker books from 16+ threads at once


@dataclass(frozen=True)
class BookingResult:
    """What one booking attempt came to; ``outcome`` is one of OUTCOMES.

    - booked: done, ``cnote`` is set. Never send this ORDER_ID again.
    - duplicate: JNE already holds the ORDER_ID; ``cnote`` is JNE's (None if JNE gave none). Done
      when this order sent that ORDER_ID before; otherwise an ORDER_ID collision for a person.
    - transient: safe to retry later with the SAME ORDER_ID (JNE dedupes on it).
    - rejected, auth_failed: retrying cannot help until a person fixes the order, mapping or
      credentials.
    """

    outcome: JNEOutcome
    cnote: str | None
    reason: str
    http_status: int | None
    reply: str  # the reply body, cut to REPLY_CHARS, with the api_key masked if JNE echoed it
    duration_s: float

    @property
    def done(self) -> bool:
        """JNE holds a booking for this ORDER_ID (booked, or duplicate with the cnote)."""
        return self.outcome in (JNEOutcome.BOOKED, JNEOutcome.DUPLICATE)

    @property
    def retry_safe(self) -> bool:
        """Sending the same fields (same ORDER_ID) again later may succeed and cannot double-book."""
        return self.outcome.retryable

    @property
    def needs_person(self) -> bool:
        """Nothing changes until a person fixes the order, the mapping or the credentials."""
        return self.outcome in (REJECTED, AUTH_FAILED)


class JNEClient:
    """Books pickups at one JNE account over one pooled HTTP session; thread-safe, no retries."""

    def __init__(self, url: str, username: str, api_key: str, timeout_s: float = 15.0,
                 session: requests.Session | None = None):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"JNE url must be http(s)://host[:port]/path, got {url!r}")
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be above zero, got {timeout_s!r}")
        self.url = url
        self.username = username
        self._api_key = Secret(api_key)
        # Connecting is quick or hopeless; the read timeout is the one JNE's slow days need.
        self.timeout = (min(timeout_s, 5.0), timeout_s)
        self.session = session if session is not None else _new_session(url)

    def __repr__(self) -> str:
        return f"JNEClient(url={self.url!r}, username={self.username!r})"

    def close(self) -> None:
        """Close the pooled connections."""
        self.session.close()

    def book(self, fields: Mapping[str, object]) -> BookingResult:
        """POST one booking and classify JNE's reply; never raises for JNE or network outcomes."""
        clash = [name for name in fields if name in CREDENTIAL_FIELDS]
        if clash:
            raise ValueError(f"booking fields must not carry {', '.join(clash)}: the client adds the credentials")
        # Credentials first, then the fields in the caller's order: the document's own order.
        body: dict[str, Any] = {"username": self.username, "api_key": self._api_key.reveal()}
        body.update(as_form(fields))
        order_id = str(fields.get("ORDER_ID", ""))
        started = time.monotonic()
        try:
            response = self.session.post(self.url, data=body, timeout=self.timeout, stream=True,
                                         headers={"Accept": "application/json"}, allow_redirects=False)
            status: int | None = response.status_code
            content = _read_bounded(response, started + self.timeout[1])
            if content is None:
                outcome, cnote = TRANSIENT, None
                reason = (f"JNE's reply was over {MAX_REPLY_BYTES:,} bytes or took over {self.timeout[1]:g} s "
                          "to arrive; not read. JNE may have booked: retry with the same ORDER_ID")
                reply = ""
            else:
                outcome, cnote, reason = classify_reply(status, content)
                reply = content.decode("utf-8", errors="replace")
        except requests.Timeout as exc:
            status, reply, outcome, cnote = None, "", TRANSIENT, None
            reason = f"JNE did not answer in time ({type(exc).__name__}); JNE may have booked: retry with the same ORDER_ID"
        except requests.RequestException as exc:
            status, reply, outcome, cnote = None, "", TRANSIENT, None
            reason = f"no reply from JNE ({type(exc).__name__}: {exc})"
        duration = time.monotonic() - started
        result = BookingResult(outcome=outcome, cnote=cnote, reason=self._mask(reason), http_status=status,
                               reply=self._mask(reply)[:REPLY_CHARS], duration_s=duration)
        level = logging.INFO if result.done else logging.WARNING
        log.log(level, "JNE booking ORDER_ID=%s outcome=%s cnote=%s http_status=%s duration=%.3fs%s",
                order_id, result.outcome, result.cnote, result.http_status, duration,
                "" if result.done else f" reason={reason_for_log(result.reason)}")
        return result

    def _mask(self, text: str) -> str:
        """``text`` with the api_key (raw or URL-encoded, as an echoed form body has it) masked."""
        key = self._api_key.reveal()
        if not key:
            return text
        for form in {key, quote_plus(key), quote(key, safe="")}:
            text = text.replace(form, "***")
        return text


def _read_bounded(response: requests.Response, deadline: float) -> bytes | None:
    """The reply body, or None when it is over MAX_REPLY_BYTES or still arriving at ``deadline``.

    ``timeout`` bounds each socket read, not the whole body: a reply trickling a byte a second
    would hold a booking thread for ever, and a huge one would fill the worker's memory.
    """
    chunks: list[bytes] = []
    size = 0
    try:
        for chunk in response.iter_content(65536):
            size += len(chunk)
            if size > MAX_REPLY_BYTES or time.monotonic() > deadline:
                return None
            chunks.append(chunk)
    finally:
        response.close()
    return b"".join(chunks)


def _new_session(url: str) -> requests.Session:
    session = requests.Session()
    # max_retries=0: a POST that may have reached JNE is never silently resent; the worker decides.
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=_POOL_SIZE, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    # The environment's proxy and CA bundle settings for JNE's URL, read once: with trust_env,
    # requests reads them from os.environ (and ~/.netrc) again on every call, a tenth of a
    # booking's CPU. The process's environment does not change while it runs.
    settings = session.merge_environment_settings(url, {}, None, None, None)
    session.proxies.update(settings["proxies"])
    session.verify = settings["verify"]
    session.trust_env = False
    return session


def classify_reply(http_status: int, body: bytes | str) -> tuple[JNEOutcome, str | None, str]:
    """(outcome, cnote, reason) for one HTTP reply from JNE's pickup endpoint."""
    text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
    if http_status >= 500 or http_status == 429:
        return TRANSIENT, None, f"JNE answered HTTP {http_status}; retry later with the same ORDER_ID"
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if data is None or not isinstance(data, dict):
        if _WAF_TEXT in text.lower():
            # JNE's web firewall answers this page (HTTP 200) when it dislikes the content; sending
            # the same content again gets the same page.
            return REJECTED, None, ("JNE's firewall refused the booking's content (\"Content not confirm our "
                                    "security Policy\"); look for unusual characters such as < > ' \" ; "
                                    "in names, addresses and descriptions")
        return TRANSIENT, None, f"JNE answered HTTP {http_status} with a body that is not a JSON object: {_snippet(text)}"
    return _classify_json(http_status, data)


def _classify_json(http_status: int, data: dict[str, Any]) -> tuple[JNEOutcome, str | None, str]:
    error = str(data.get("error") or "").strip()
    if _AUTH_TEXT in error.lower():
        return AUTH_FAILED, None, f"JNE does not know this username/api_key: {error!r}"
    detail = data.get("detail")
    if isinstance(detail, dict):
        detail = [detail]
    if isinstance(detail, list) and detail and isinstance(detail[0], dict):
        return _classify_detail(detail[0])
    status = data.get("status")
    if error and (status is False or str(status).strip().lower() == "false"):
        return REJECTED, None, f"JNE refused the booking: {error}"
    return TRANSIENT, None, f"JNE answered HTTP {http_status} with JSON this client does not know: {_snippet(json.dumps(data))}"


def _classify_detail(item: dict[str, Any]) -> tuple[JNEOutcome, str | None, str]:
    status = str(item.get("status") or "").strip()
    reason = str(item.get("reason") or "").strip()
    if _DUPLICATE_TEXT in reason.lower():
        cnote = _cnote(item.get("cnote")) or _cnote(item.get("cnote_no"))
        if cnote is None:
            return DUPLICATE, None, f"JNE already has this ORDER_ID but returned no cnote: {reason}"
        return DUPLICATE, cnote, f"JNE already has this ORDER_ID, with cnote {cnote}"
    if status.lower() == "success":
        cnote = _cnote(item.get("cnote_no")) or _cnote(item.get("cnote"))
        if cnote is None:
            # Field evidence: mixed-case or hyphenated ORDER_IDs get "success" without a cnote, and
            # nothing is booked.
            return REJECTED, None, ("JNE answered success without a cnote, which is not a booking; "
                                    "check that ORDER_ID is only A-Z and 0-9, at most 20")
        return BOOKED, cnote, f"booked with cnote {cnote}"
    return REJECTED, None, f"JNE refused the booking: {reason or f'status {status!r} without a reason'}"


def _cnote(value: object) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None


def _snippet(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")
