"""JNE's pickup/cashless API: its field table, schema, booking client and local sandbox."""

from integration.jne.sandbox import DEFAULT_ACCOUNTS, create_sandbox_app
from integration.jne.schema import SCHEMA, BookingValidator, as_form, form_value, validate_booking

__all__ = [
    "DEFAULT_ACCOUNTS", "create_sandbox_app",
    "SCHEMA", "BookingValidator", "as_form", "form_value", "validate_booking",
]
