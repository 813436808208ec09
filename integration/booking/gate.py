"""The per-account credential gate: one probe call while an account is unproven, none while blocked.

JNE answers "Username Or API KEY Not Found." to every call of an account with bad credentials. A
flash sale of 5,000 orders must not send 5,000 such calls: while an account's credentials are not
yet proven in this process, one thread at a time calls (a probe); once JNE answers anything that
got past its credentials check, the account opens to full concurrency. A rejection blocks the
account in this process at once (and in the ledger, through the worker), and its other orders are
marked blocked without a call.
"""

from __future__ import annotations

import threading
import time
from enum import StrEnum

from integration.vocabulary import JNEOutcome


class Admission(StrEnum):
    """The gate's answer to a thread that wants to call JNE for an account."""

    GO = "go"            # credentials proven: call
    PROBE = "probe"      # unproven: you are the one call; report how it went
    BLOCKED = "blocked"  # credentials rejected: do not call
    WAIT = "wait"        # another thread's probe is still out; ask again


class AccountGate:
    """Per-account admission, shared by the worker's threads."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._proven: set[str] = set()
        self._probing: set[str] = set()
        self._blocked: dict[str, tuple[str, int]] = {}  # key -> (reason, stamp)
        self._stamp = 0

    def token(self) -> int:
        """A stamp to take before reading the ledger's blocks; see :meth:`sync`."""
        with self._cond:
            self._stamp += 1
            return self._stamp

    def sync(self, blocked: dict[str, str], token: int) -> None:
        """Adopt the ledger's blocks (read after ``token`` was taken).

        A block this process set after the token was taken is kept even if the read missed it;
        a block lifted in the ledger (``replay``) makes the account unproven again: the next call
        is a probe.
        """
        with self._cond:
            for key, (_, stamp) in list(self._blocked.items()):
                if key not in blocked and stamp < token:
                    del self._blocked[key]
            for key, reason in blocked.items():
                if key not in self._blocked:
                    self._blocked[key] = (reason, token)
                self._proven.discard(key)
            self._cond.notify_all()

    def blocked_reason(self, key: str) -> str | None:
        """Why ``key`` is blocked, or None."""
        with self._cond:
            got = self._blocked.get(key)
            return got[0] if got else None

    def enter(self, key: str, timeout: float) -> Admission:
        """GO (proven), PROBE (you are the one call), BLOCKED, or WAIT (timed out waiting for a probe)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                if key in self._blocked:
                    return Admission.BLOCKED
                if key in self._proven:
                    return Admission.GO
                if key not in self._probing:
                    self._probing.add(key)
                    return Admission.PROBE
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return Admission.WAIT
                self._cond.wait(remaining)

    def leave(self, key: str, probe: bool, outcome: JNEOutcome | None, reason: str = "") -> None:
        """Report how a call went (``outcome`` None: no call was made)."""
        with self._cond:
            if probe:
                self._probing.discard(key)
            if outcome is JNEOutcome.AUTH_FAILED:
                self._stamp += 1
                self._blocked[key] = (reason, self._stamp)
                self._proven.discard(key)
            elif outcome is not None and outcome.proves_credentials:
                self._proven.add(key)
            self._cond.notify_all()
