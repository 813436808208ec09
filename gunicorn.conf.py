"""gunicorn settings of the web process (the Procfile's ``web`` line reads this file).

Measured on the 2-core box (see the README's Security and Operations sections, and
tests/test_slow_clients.py): with these settings 64 slow connections (headers or body a byte every
few seconds) leave real deliveries answered in milliseconds, where the former two sync workers
answered none.
"""

import os

# Reads each request whole, without a thread, before the app runs; answers errors in JSON.
worker_class = "integration.gunicorn_worker.BufferedThreadWorker"
# Two processes suit SQLite's one writer on 2 cores; with PostgreSQL raise it with the cores.
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# Threads only ever run complete requests, so a few per process keep the CPUs busy.
threads = int(os.environ.get("WEB_THREADS", "4"))
# Open connections per process, slow ones included; more wait in the listen backlog.
worker_connections = 1000
# Seconds a connection may stay silent: between two requests, and between two packets of one.
keepalive = 5
# A worker whose main loop stops answering the arbiter this long is restarted.
timeout = 30
graceful_timeout = 30
# gunicorn's defaults, written out: a request line over 4094 bytes gets 414, more than 100
# headers or one over 8190 bytes gets 431 (JSON, from the worker class above).
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190
