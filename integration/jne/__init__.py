"""JNE's pickup/cashless API: its field table, schema, booking client and local sandbox."""

from integration.jne.schema import SCHEMA, BookingValidator, as_form, form_value, validate_booking

__all__ = ["SCHEMA", "BookingValidator", "as_form", "form_value", "validate_booking"]
