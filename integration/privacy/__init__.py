"""Personal data: what counts as personal, how long it is kept, how it is erased and kept out of logs.

``personal`` says, as data, where each platform's order payload and JNE's booking fields hold names,
phones, e-mails, addresses and notes, and erases them from a stored order (pure functions, no
database). ``settings`` is the ``retention:`` block of integration.yaml. ``logs`` says things about an
order in a log line without its values. ``passes`` runs the erasure passes (the ``prune`` command, the
worker's daily pass, Shopify's compliance requests) over :mod:`integration.ledger.retention`, which
does the database work, and counts what they erased in ``/metrics``.
"""
