"""The per-account gate: one probe while credentials are unproven, none while blocked, all once proven."""

from __future__ import annotations

import threading

from integration.booking.gate import AccountGate, Admission
from integration.vocabulary import JNEOutcome


def test_one_probe_at_a_time_until_jne_answers_past_the_credentials_check():
    gate = AccountGate()
    assert gate.enter("acct", timeout=0.1) is Admission.PROBE
    assert gate.enter("acct", timeout=0.05) is Admission.WAIT  # the probe is still out
    gate.leave("acct", probe=True, outcome=JNEOutcome.REJECTED)  # a refusal proves the credentials
    assert gate.enter("acct", timeout=0.1) is Admission.GO
    assert gate.enter("other", timeout=0.1) is Admission.PROBE  # accounts are separate


def test_a_transient_probe_proves_nothing_and_the_next_call_probes_again():
    gate = AccountGate()
    assert gate.enter("acct", timeout=0.1) is Admission.PROBE
    gate.leave("acct", probe=True, outcome=JNEOutcome.TRANSIENT)
    assert gate.enter("acct", timeout=0.1) is Admission.PROBE


def test_rejected_credentials_block_every_waiting_thread_at_once():
    gate = AccountGate()
    assert gate.enter("acct", timeout=0.1) is Admission.PROBE
    answers: list[Admission] = []
    waiters = [threading.Thread(target=lambda: answers.append(gate.enter("acct", timeout=5))) for _ in range(4)]
    for w in waiters:
        w.start()
    gate.leave("acct", probe=True, outcome=JNEOutcome.AUTH_FAILED, reason="Username Or API KEY Not Found.")
    for w in waiters:
        w.join(timeout=5)
    assert answers == [Admission.BLOCKED] * 4
    assert gate.blocked_reason("acct") == "Username Or API KEY Not Found."


def test_the_ledger_lifting_a_block_makes_the_account_probe_again():
    gate = AccountGate()
    gate.sync({"acct": "rejected"}, gate.token())
    assert gate.enter("acct", timeout=0.1) is Admission.BLOCKED
    gate.sync({}, gate.token())  # replay lifted the block
    assert gate.enter("acct", timeout=0.1) is Admission.PROBE


def test_a_block_set_after_the_ledger_read_began_is_not_undone_by_that_read():
    gate = AccountGate()
    token = gate.token()  # a ledger read starts
    assert gate.enter("acct", timeout=0.1) is Admission.PROBE
    gate.leave("acct", probe=True, outcome=JNEOutcome.AUTH_FAILED, reason="rejected")
    gate.sync({}, token)  # the read (begun before the block) did not see it
    assert gate.enter("acct", timeout=0.1) is Admission.BLOCKED
