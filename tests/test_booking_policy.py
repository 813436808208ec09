"""The booking policy, table by table: every JNE answer class, the lost-reply rule, the retry budget.

No database and no HTTP: ``policy.decide`` is a pure function of the answer, what the ledger knew
when the call began, the retry settings, the clock and a random source.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from integration.booking import policy
from integration.problems import messages
from integration.vocabulary import BookingOutcome, JNEOutcome, ShipmentStatus

NOW = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
RETRY = policy.Retry(max_attempts=8, backoff_base_s=180, backoff_max_s=14400)
FIELDS = {"ORDER_ID": "TOKO1001", "TYPE": "PICKUP", "ITEM_TYPE": "1", "PICKUP_PIC": "ALI",
          "PICKUP_PIC_PHONE": "+6281234567890", "RECEIVER_ZIP": "4019"}


@dataclass(frozen=True)
class Answer:
    outcome: JNEOutcome
    cnote: str | None = None
    reason: str = ""


def call(sent_before: bool = False, used: int = 1, since: datetime | None = NOW) -> policy.Call:
    return policy.Call(order_id="TOKO1001", sent_before=sent_before, budget_used=used, budget_since=since,
                       fields=FIELDS, username="TESTAPI", url="http://jne.example/pickupcashless")


def decide(answer: Answer, c: policy.Call | None = None, seed: int = 1) -> policy.Decision:
    return policy.decide(answer, c or call(), RETRY, NOW, random.Random(seed))


# (answer, sent before?) -> (status, label, cnote, problem codes by field)
TABLE = [
    (Answer(JNEOutcome.BOOKED, "CN1"), False,
     (ShipmentStatus.BOOKED, BookingOutcome.BOOKED, "CN1", {})),
    # Success without a cnote is no booking: the client classifies it as rejected.
    (Answer(JNEOutcome.REJECTED, None, "JNE answered success without a cnote"), False,
     (ShipmentStatus.NEEDS_ATTENTION, BookingOutcome.NEEDS_ATTENTION, None,
      {"jne": ["reply.refused", "reply.sent"]})),
    # The lost-reply rule: our own earlier call booked it.
    (Answer(JNEOutcome.DUPLICATE, "CN7"), True,
     (ShipmentStatus.BOOKED, BookingOutcome.BOOKED, "CN7", {})),
    # Never sent by this row: someone else's booking, never ours.
    (Answer(JNEOutcome.DUPLICATE, "CN8"), False,
     (ShipmentStatus.NEEDS_ATTENTION, BookingOutcome.NEEDS_ATTENTION, None, {"ORDER_ID": ["reply.order_id_taken"]})),
    (Answer(JNEOutcome.DUPLICATE, None), True,
     (ShipmentStatus.NEEDS_ATTENTION, BookingOutcome.NEEDS_ATTENTION, None,
      {"ORDER_ID": ["reply.duplicate_without_cnote"]})),
    (Answer(JNEOutcome.DUPLICATE, None), False,
     (ShipmentStatus.NEEDS_ATTENTION, BookingOutcome.NEEDS_ATTENTION, None, {"ORDER_ID": ["reply.order_id_taken"]})),
    (Answer(JNEOutcome.AUTH_FAILED, None, "Username Or API KEY Not Found."), False,
     (ShipmentStatus.BLOCKED, BookingOutcome.BLOCKED, None, {"jne": ["reply.credentials_rejected"]})),
    (Answer(JNEOutcome.TRANSIENT, None, "JNE answered HTTP 502"), True,
     (ShipmentStatus.QUEUED, BookingOutcome.RETRY, None, {"jne": ["reply.retrying"]})),
    (Answer(JNEOutcome.REJECTED, None, "RECEIVER_ZIP must be 5 digits"), False,
     (ShipmentStatus.NEEDS_ATTENTION, BookingOutcome.NEEDS_ATTENTION, None,
      {"jne": ["reply.refused"], "RECEIVER_ZIP": ["reply.refused_value"]})),
]


@pytest.mark.parametrize(("answer", "sent_before", "expected"), TABLE)
def test_every_answer_class(answer, sent_before, expected):
    status, label, cnote, codes = expected
    got = decide(answer, call(sent_before=sent_before))
    assert (got.status, got.label, got.cnote) == (status, label, cnote)
    by_field: dict[str, list[str]] = {}
    for problem in got.problems:
        by_field.setdefault(problem.key, []).append(problem.code)
    assert by_field == codes
    assert got.lost_reply == (status is ShipmentStatus.BOOKED and answer.outcome is JNEOutcome.DUPLICATE)
    assert (got.block_reason is not None) == (status is ShipmentStatus.BLOCKED)
    assert (got.next_attempt_at is not None) == (status is ShipmentStatus.QUEUED)


def test_a_duplicate_never_books_under_a_cnote_this_row_did_not_send_for():
    got = decide(Answer(JNEOutcome.DUPLICATE, "SOMEONE-ELSES"), call(sent_before=False))
    assert got.cnote is None and got.status is ShipmentStatus.NEEDS_ATTENTION
    words = messages(got.problems)["ORDER_ID"][0]
    assert "TOKO1001" in words and "SOMEONE-ELSES" in words and "another booking" in words


def test_the_retry_budget_ends_in_failed_with_the_span_and_last_reason():
    got = decide(Answer(JNEOutcome.TRANSIENT, None, "no reply from JNE (ConnectTimeout)"),
                 call(sent_before=True, used=8, since=NOW - timedelta(hours=6)))
    assert (got.status, got.label, got.next_attempt_at) == (ShipmentStatus.FAILED, BookingOutcome.FAILED, None)
    words = messages(got.problems)["jne"][0]
    assert "8 attempts over 6.0 h" in words and "ConnectTimeout" in words


def test_within_the_budget_a_transient_answer_is_retried_later():
    for used in range(1, RETRY.max_attempts):
        got = decide(Answer(JNEOutcome.TRANSIENT, None, "HTTP 503"), call(used=used))
        assert got.status is ShipmentStatus.QUEUED and got.next_attempt_at > NOW
        assert f"attempt {used} of 8" in messages(got.problems)["jne"][0]


@given(used=st.integers(min_value=1, max_value=60), seed=st.integers())
def test_backoff_stays_within_half_and_whole_of_the_planned_pause(used, seed):
    planned = min(RETRY.backoff_max_s, RETRY.backoff_base_s * 2 ** (used - 1))
    delay = policy.backoff(used, RETRY, random.Random(seed))
    assert planned / 2 <= delay <= planned


def test_backoff_doubles_until_the_cap():
    rng = random.Random(0)
    upper = [min(14400, 180 * 2 ** (u - 1)) for u in range(1, 10)]
    assert upper == [180, 360, 720, 1440, 2880, 5760, 11520, 14400, 14400]
    assert all(u / 2 <= policy.backoff(n, RETRY, rng) <= u for n, u in enumerate(upper, 1))


def test_jitter_spreads_a_burst_of_failures():
    delays = {round(policy.backoff(3, RETRY, random.Random(seed))) for seed in range(50)}
    assert len(delays) > 25


@pytest.mark.parametrize(("reason", "named"), [
    ("TYPE must be DROP or PICKUP", ["TYPE"]),
    ("ITEM_TYPE must be 1-5", ["ITEM_TYPE"]),
    ("PICKUP_PIC_PHONE is too long (maximum 20 bytes)", ["PICKUP_PIC_PHONE"]),
    ("PICKUP_PIC is empty", ["PICKUP_PIC"]),
    ("Please do not let paramaters empty.", []),
    ("RECEIVER_ZIP, TYPE are wrong", ["TYPE", "RECEIVER_ZIP"]),
])
def test_a_refusal_names_fields_by_their_exact_names(reason, named):
    assert policy.refused_fields(reason, FIELDS) == [n for n in FIELDS if n in named]
    got = decide(Answer(JNEOutcome.REJECTED, None, reason))
    assert [p.key for p in got.problems if p.code == "reply.refused_value"] == [n for n in FIELDS if n in named]


def test_a_refusal_that_names_no_field_shows_what_was_sent():
    got = decide(Answer(JNEOutcome.REJECTED, None, "Please do not let paramaters empty."))
    words = messages(got.problems)["jne"]
    assert words[0].startswith("JNE refused ORDER_ID TOKO1001") and words[1].startswith("sent: ORDER_ID=TOKO1001")


def test_blocked_without_a_call_says_how_to_lift_it_in_both_languages():
    got = policy.blocked_without_call("TESTAPI", "http://jne.example", "")
    assert got.status is ShipmentStatus.BLOCKED and got.block_reason is None
    assert "credentials rejected" in messages(got.problems, "en")["jne"][0]
    assert "diblokir" in messages(got.problems, "id")["jne"][0]


@pytest.mark.parametrize(("seconds", "said"), [(45, "45 s"), (600, "10 min"), (21600, "6.0 h")])
def test_spans_read_as_people_say_them(seconds, said):
    assert policy.human_span(timedelta(seconds=seconds)) == said
