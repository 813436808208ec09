"""``booking.writeback.decide``: what one write-back attempt means for the row, as plain values."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from integration.booking import policy
from integration.booking.writeback import decide
from integration.ledger.writeback import WritebackClaim
from integration.problems import Problem, render
from integration.shop.writeback import WritebackResult
from integration.vocabulary import WritebackStatus

NOW = datetime(2026, 3, 14, 10, 0, tzinfo=UTC)
RETRY = policy.Retry(max_attempts=3, backoff_base_s=60, backoff_max_s=600)


def held(budget_used: int = 1) -> WritebackClaim:
    return WritebackClaim(1, "toko", "5001", "0123456789012345", budget_used, budget_used, 9, budget_used > 1)


def test_done_clears_everything_and_keeps_what_the_shop_said():
    got = decide(WritebackResult("done", "fulfilled #1001", wrote=True, calls=2, http_status=200), held(), RETRY,
                 NOW, random.Random(1), "en")
    assert (got.status, got.outcome, got.wrote, got.calls, got.errors) == (WritebackStatus.DONE, "done", True, 2, None)
    assert got.http_status == 200


def test_a_refusal_fails_at_once_with_the_shops_words_in_both_languages():
    result = WritebackResult("refused", "Shopify refused the fulfillment", ("fulfillment: Invalid",))
    got = decide(result, held(), RETRY, NOW, random.Random(1), "id")
    assert got.status is WritebackStatus.FAILED and got.reply == "fulfillment: Invalid"
    [words] = got.errors["writeback"]
    assert "fulfillment: Invalid" in words and "0123456789012345" in words and "toko tidak menerima" in words
    english = render(Problem.from_dict(got.problems[0]), "en")
    assert "the shop did not take cnote" in english and "writeback retry --store toko 5001" in english


def test_a_fault_is_retried_with_backoff_or_the_shops_longer_wait_then_fails_past_the_budget():
    quick = decide(WritebackResult("retry", "HTTP 502", http_status=502), held(1), RETRY, NOW, random.Random(1), "en")
    assert quick.status is WritebackStatus.PENDING and quick.http_status == 502
    assert NOW + timedelta(seconds=30) <= quick.next_attempt_at <= NOW + timedelta(seconds=60)
    slow = decide(WritebackResult("retry", "429", retry_after_s=500), held(1), RETRY, NOW, random.Random(1), "en")
    assert slow.next_attempt_at == NOW + timedelta(seconds=500)
    last = decide(WritebackResult("retry", "HTTP 502", http_status=502), held(3), RETRY, NOW, random.Random(1), "en")
    assert last.status is WritebackStatus.FAILED and last.next_attempt_at is None and last.http_status == 502
    assert "after 3 attempts" in last.errors["writeback"][0]
