"""JNE's pickup/cashless API: its field table, schema, booking client and local sandbox."""

from integration.jne.client import (
    AUTH_FAILED,
    BOOKED,
    DUPLICATE,
    OUTCOMES,
    REJECTED,
    TRANSIENT,
    BookingResult,
    JNEClient,
    classify_reply,
)
from integration.jne.sandbox import DEFAULT_ACCOUNTS, create_sandbox_app
from integration.jne.schema import SCHEMA, BookingValidator, as_form, form_value, validate_booking

__all__ = [
    "AUTH_FAILED", "BOOKED", "DUPLICATE", "OUTCOMES", "REJECTED", "TRANSIENT",
    "BookingResult", "JNEClient", "classify_reply",
    "DEFAULT_ACCOUNTS", "create_sandbox_app",
    "SCHEMA", "BookingValidator", "as_form", "form_value", "validate_booking",
]
