"""Booking: the worker that takes each queued shipment to JNE exactly once.

``policy`` decides what a JNE answer means (pure: no I/O); ``gate`` admits calls per JNE account
(one probe while credentials are unproven); ``worker`` claims shipments with leases, maps them,
calls JNE and records what the policy decided.
"""
