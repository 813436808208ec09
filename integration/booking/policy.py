"""The booking policy: what one JNE answer means for the shipment, as a pure function.

``decide`` takes JNE's classified answer, what the ledger knew when the call began (did this row
send the ORDER_ID before? how much of the retry budget is used?), the retry settings, the clock and a
random source, and returns a :class:`Decision`: booked with a cnote, queued again at a time, blocked,
failed, or needs attention, with the problems the owner reads. It does no I/O, so every rule here
(the lost-reply rule, the retry budget, the jitter bounds) is tested with plain values
(``tests/test_booking_policy.py``).

The lost-reply rule: JNE answers "Order id already exist" with the cnote when an ORDER_ID was booked
before. If this row had sent that ORDER_ID in an earlier attempt (the attempts log says so), the
earlier call booked it and its reply was lost: that is this row's booking. If it never had, another
booking owns the ORDER_ID: a person must look, and nothing is ever booked under someone else's cnote.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from integration.problems import Problem, define
from integration.vocabulary import BookingOutcome, JNEOutcome, ShipmentStatus

REJECTED_SENT_CHARS = 1500  # of the fields sent, shown with a refusal that names no field

ORDER_ID_TAKEN = define(
    "reply.order_id_taken",
    en="ORDER_ID {order_id} is already used at JNE by another booking (cnote {cnote}); change "
       "order_prefix or the ORDER_ID rule and replay",
    id="ORDER_ID {order_id} sudah dipakai di JNE oleh pemesanan lain (cnote {cnote}); ubah "
       "order_prefix atau aturan ORDER_ID, lalu replay")
DUPLICATE_WITHOUT_CNOTE = define(
    "reply.duplicate_without_cnote",
    en="JNE already holds ORDER_ID {order_id}, which this order sent before (the reply was lost), "
       "but JNE returned no cnote; look the booking up at JNE before replaying",
    id="JNE sudah menyimpan ORDER_ID {order_id} yang pernah dikirim pesanan ini (balasannya hilang), "
       "tetapi JNE tidak mengembalikan cnote; periksa pemesanan itu di JNE sebelum replay")
CREDENTIALS_REJECTED = define(
    "reply.credentials_rejected",
    en="JNE rejected the credentials of account {username} at {url}: {reason}. Fix jne.username/"
       "jne.api_key in the configuration, restart the worker, then replay one order of this "
       "account: every blocked order resumes",
    id="JNE menolak kredensial akun {username} di {url}: {reason}. Perbaiki jne.username/"
       "jne.api_key di konfigurasi, jalankan ulang worker, lalu replay satu pesanan akun ini: "
       "semua pesanan yang tertahan akan lanjut")
ACCOUNT_BLOCKED = define(
    "reply.account_blocked",
    en="not sent: JNE account {username} at {url} is blocked ({reason}). Fix the credentials, "
       "restart the worker, then replay one order of this account",
    id="tidak dikirim: akun JNE {username} di {url} diblokir ({reason}). Perbaiki kredensialnya, "
       "jalankan ulang worker, lalu replay satu pesanan akun ini")
GAVE_UP = define(
    "reply.gave_up",
    en="JNE gave no booking after {attempts} attempts over {span}; last: {reason}. Replay the order "
       "when JNE works again",
    id="JNE tidak memberi pemesanan setelah {attempts} percobaan selama {span}; terakhir: {reason}. "
       "Replay pesanan ini saat JNE sudah normal")
RETRYING = define(
    "reply.retrying",
    en="attempt {attempt} of {limit}: {reason}; next try at {next_at}",
    id="percobaan {attempt} dari {limit}: {reason}; dicoba lagi pada {next_at}")
REFUSED = define(
    "reply.refused",
    en="JNE refused ORDER_ID {order_id}: {reason}",
    id="JNE menolak ORDER_ID {order_id}: {reason}")
REFUSED_VALUE = define(
    "reply.refused_value",
    en="JNE refused the value sent: {value}",
    id="JNE menolak nilai yang dikirim: {value}")
SENT = define(
    "reply.sent",
    en="sent: {sent}",
    id="yang dikirim: {sent}")

_FIELD_WORD = re.compile(r"[A-Z][A-Z0-9_]*")


class Answer(Protocol):
    """JNE's classified answer to one call (``integration.jne.client.BookingResult`` is one)."""

    outcome: JNEOutcome
    cnote: str | None
    reason: str


@dataclass(frozen=True)
class Retry:
    """The retry budget: how many transient failures, and the backoff between them."""

    max_attempts: int
    backoff_base_s: float
    backoff_max_s: float


@dataclass(frozen=True)
class Call:
    """What the ledger knew when this call began (``integration.ledger.Attempt``), and what was sent."""

    order_id: str
    sent_before: bool              # an earlier attempt of this row may have booked this ORDER_ID
    budget_used: int               # calls of the current retry budget, this one included
    budget_since: datetime | None  # when the current budget's first call began
    fields: Mapping[str, str]
    username: str = ""             # the JNE account, for messages
    url: str = ""


@dataclass(frozen=True)
class Decision:
    """What to record for the shipment after one JNE call."""

    status: ShipmentStatus
    label: BookingOutcome
    problems: tuple[Problem, ...] = ()
    cnote: str | None = None                 # BOOKED
    next_attempt_at: datetime | None = None  # QUEUED (a retry)
    block_reason: str | None = None          # BLOCKED: the account is blocked for every order
    lost_reply: bool = False                 # booked by an earlier call whose reply was lost
    skip_reason: str | None = None           # SKIPPED: what the trigger said


def decide(answer: Answer, call: Call, retry: Retry, now: datetime, rng: random.Random) -> Decision:
    """The shipment's next state after JNE answered ``answer`` to ``call``."""
    outcome = JNEOutcome(answer.outcome)
    if outcome is JNEOutcome.BOOKED and answer.cnote:
        return Decision(ShipmentStatus.BOOKED, BookingOutcome.BOOKED, cnote=answer.cnote)
    if outcome is JNEOutcome.DUPLICATE:
        return _duplicate(answer, call)
    if outcome is JNEOutcome.AUTH_FAILED:
        problem = Problem("jne", CREDENTIALS_REJECTED,
                          {"username": call.username, "url": call.url, "reason": answer.reason})
        return Decision(ShipmentStatus.BLOCKED, BookingOutcome.BLOCKED, (problem,),
                        block_reason=answer.reason)
    if outcome is JNEOutcome.TRANSIENT:
        return _transient(answer, call, retry, now, rng)
    return _refused(answer, call)  # rejected, or a success without cnote (which is no booking)


def blocked_without_call(username: str, url: str, reason: str) -> Decision:
    """The account is blocked (this process or another found its credentials rejected): no call."""
    problem = Problem("jne", ACCOUNT_BLOCKED,
                      {"username": username, "url": url, "reason": reason or "credentials rejected"})
    return Decision(ShipmentStatus.BLOCKED, BookingOutcome.BLOCKED, (problem,))


def _duplicate(answer: Answer, call: Call) -> Decision:
    if call.sent_before and answer.cnote:
        # Our earlier call booked it and its reply was lost: this is our booking.
        return Decision(ShipmentStatus.BOOKED, BookingOutcome.BOOKED, cnote=answer.cnote, lost_reply=True)
    if call.sent_before:
        problem = Problem("ORDER_ID", DUPLICATE_WITHOUT_CNOTE, {"order_id": call.order_id})
    else:
        problem = Problem("ORDER_ID", ORDER_ID_TAKEN,
                          {"order_id": call.order_id, "cnote": answer.cnote or "unknown"})
    return Decision(ShipmentStatus.NEEDS_ATTENTION, BookingOutcome.NEEDS_ATTENTION, (problem,))


def _transient(answer: Answer, call: Call, retry: Retry, now: datetime, rng: random.Random) -> Decision:
    used = call.budget_used
    if used >= retry.max_attempts:
        span = now - (call.budget_since or now)
        problem = Problem("jne", GAVE_UP, {"attempts": used, "span": human_span(span), "reason": answer.reason})
        return Decision(ShipmentStatus.FAILED, BookingOutcome.FAILED, (problem,))
    due = now + timedelta(seconds=backoff(used, retry, rng))
    problem = Problem("jne", RETRYING, {"attempt": used, "limit": retry.max_attempts, "reason": answer.reason,
                                        "next_at": due.isoformat(timespec="seconds")})
    return Decision(ShipmentStatus.QUEUED, BookingOutcome.RETRY, (problem,), next_attempt_at=due)


def _refused(answer: Answer, call: Call) -> Decision:
    problems = [Problem("jne", REFUSED, {"order_id": call.order_id, "reason": answer.reason})]
    for name in refused_fields(answer.reason, call.fields):
        problems.append(Problem(name, REFUSED_VALUE, {"value": repr(call.fields[name])}))
    if len(problems) == 1:  # JNE did not say which field: show what was sent
        sent = ", ".join(f"{k}={v}" for k, v in call.fields.items())
        problems.append(Problem("jne", SENT, {"sent": sent[:REJECTED_SENT_CHARS]}))
    return Decision(ShipmentStatus.NEEDS_ATTENTION, BookingOutcome.NEEDS_ATTENTION, tuple(problems))


def refused_fields(reason: str, fields: Mapping[str, object]) -> list[str]:
    """The fields JNE's reason names, by exact name (``ITEM_TYPE`` does not name ``TYPE``)."""
    named = set(_FIELD_WORD.findall(reason or ""))
    return [name for name in fields if name in named]


def backoff(used: int, retry: Retry, rng: random.Random) -> float:
    """Seconds before the next try: exponential from the base, capped, with "equal jitter".

    The delay before try ``used + 1`` is uniform in [d/2, d] where d = min(max, base * 2^(used-1)):
    never less than half the planned pause (JNE gets its rest), spread so a burst of failures does
    not come back as a burst.
    """
    delay = min(retry.backoff_max_s, retry.backoff_base_s * 2 ** max(0, used - 1))
    return delay / 2 + rng.uniform(0, delay / 2)


def human_span(span: timedelta) -> str:
    """A duration as a person says it: 45 s, 12 min, 5.8 h."""
    seconds = int(span.total_seconds())
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds / 3600:.1f} h"
