"""One vocabulary: the names of statuses and outcomes, as ``StrEnum``s every layer shares.

The ledger stores these values as text, the CLI offers them as choices, metrics use them as labels
and the pages show them; all of them derive from the enums here, so a new status is added in one
place. ``StrEnum`` members compare equal to their text (``ShipmentStatus.BOOKED == "booked"``), so
rows read back from the database need no conversion to be compared.
"""

from __future__ import annotations

from enum import StrEnum


class ShipmentStatus(StrEnum):
    """Where one order stands (one ledger row per store and order)."""

    QUEUED = "queued"                    # waiting for the worker (new, or a retry waiting its turn)
    BOOKED = "booked"                    # JNE accepted it; the cnote is known
    NEEDS_ATTENTION = "needs_attention"  # mapping, JNE's rules or JNE refused it: fix and replay
    BLOCKED = "blocked"                  # the JNE account's credentials were rejected
    FAILED = "failed"                    # transient errors outlasted the retry budget
    SKIPPED = "skipped"                  # the trigger said this delivery is not a booking

    @property
    def replayable(self) -> bool:
        """A person may queue it again (a booked order is never booked twice)."""
        return self is not ShipmentStatus.BOOKED


REPLAYABLE = tuple(s for s in ShipmentStatus if s.replayable)
# A newer snapshot of the order gives these another chance (the owner may have fixed the order in
# the shop); a blocked row waits for its account, a queued one keeps its place.
REQUEUED_BY_NEW_SNAPSHOT = (ShipmentStatus.NEEDS_ATTENTION, ShipmentStatus.FAILED, ShipmentStatus.SKIPPED)


class JNEOutcome(StrEnum):
    """How JNE answered one booking call (the client classifies every reply into one of these)."""

    BOOKED = "booked"            # booked, with its cnote
    DUPLICATE = "duplicate"      # JNE already holds this ORDER_ID (with the cnote of that booking)
    REJECTED = "rejected"        # refused: a person must change the order or the mapping
    AUTH_FAILED = "auth_failed"  # username or api_key unknown: stop booking for the account
    TRANSIENT = "transient"      # no usable answer: JNE may or may not have booked

    @property
    def retryable(self) -> bool:
        """Sending the same fields (same ORDER_ID) later is safe and may succeed."""
        return self is JNEOutcome.TRANSIENT

    @property
    def proves_credentials(self) -> bool:
        """JNE got past its credentials check to give this answer."""
        return self in (JNEOutcome.BOOKED, JNEOutcome.DUPLICATE, JNEOutcome.REJECTED)


class AttemptOutcome(StrEnum):
    """A row of the attempts log: ``sending`` before the call, then how JNE answered."""

    SENDING = "sending"
    BOOKED = "booked"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"
    AUTH_FAILED = "auth_failed"
    TRANSIENT = "transient"

    @property
    def may_have_booked(self) -> bool:
        """An attempt that ended like this may have reached JNE and been booked (its reply lost)."""
        return self in (AttemptOutcome.SENDING, AttemptOutcome.BOOKED, AttemptOutcome.DUPLICATE,
                        AttemptOutcome.TRANSIENT)


MAY_HAVE_BOOKED = tuple(o for o in AttemptOutcome if o.may_have_booked)


class IngestOutcome(StrEnum):
    """What the ledger did with one delivery."""

    STORED = "stored"        # new delivery; the order's snapshot is this one (or it was queued)
    DUPLICATE = "duplicate"  # the same event arrived before: nothing changed
    IGNORED = "ignored"      # kept in the inbox, but the order is booked (or this one is older)


class DeliveryOutcome(StrEnum):
    """How the receiver answered one HTTP delivery (a metrics label)."""

    STORED = "stored"
    DUPLICATE = "duplicate"
    IGNORED = "ignored"
    REJECTED_SIGNATURE = "rejected_signature"
    UNKNOWN_STORE = "unknown_store"
    BAD_REQUEST = "bad_request"
    TOO_LARGE = "too_large"
    DB_UNAVAILABLE = "db_unavailable"
    PING = "ping"
    IGNORED_TOPIC = "ignored_topic"


class BookingOutcome(StrEnum):
    """What the worker made of one claimed shipment (a metrics label and the worker's return)."""

    BOOKED = "booked"
    RETRY = "retry"                      # a transient failure, queued again with backoff
    BLOCKED = "blocked"
    FAILED = "failed"
    NEEDS_ATTENTION = "needs_attention"
    SKIPPED = "skipped"
    REQUEUED = "requeued"                # a newer snapshot arrived meanwhile: queued for it
    LOST = "lost"                        # another worker holds the row now: nothing written
    RELEASED = "released"                # handed back untouched (stopping)
    ERROR = "error"                      # an internal error; queued again with backoff


class WritebackStatus(StrEnum):
    """Where one shipment's write-back to the shop stands (``status --json`` ``writeback``)."""

    OFF = "off"          # no write-back for it: the store has no api:, or it is not booked
    PENDING = "pending"  # booked; the shop does not show the cnote yet
    DONE = "done"        # the shop shows the cnote
    FAILED = "failed"    # the shop refused, or faults outlasted the retry budget: see the problems
