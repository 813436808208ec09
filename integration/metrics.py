"""Prometheus metrics: what the receiver and the worker count, and the ``GET /metrics`` view.

Counters and the histogram live at module level (one set per process). The queue depth is not
kept in memory: it is read from the ledger at scrape time, so it is right however many gunicorn
processes and workers share the database.

Several processes (gunicorn ``--workers N``): set ``PROMETHEUS_MULTIPROC_DIR`` to an empty,
writable directory before the processes start (wipe it on every deploy), e.g.
``PROMETHEUS_MULTIPROC_DIR=/tmp/jne-metrics gunicorn ...``. prometheus-client then keeps each
process's counters in files there and ``/metrics`` adds them up across processes, whichever one
answers the scrape. Without it each process reports only its own counts. We keep no live gauges in
memory, so gunicorn's ``child_exit`` hook (``multiprocess.mark_process_dead``) is not needed.

Label values are bounded: stores are the configured store ids or ``unknown``, topics a fixed set
or ``other``, outcomes the values of ``DeliveryOutcome`` and ``BookingOutcome``
(integration/vocabulary.py), erasure reasons those of ``ledger.retention.ErasureReason``; nothing a
request sends becomes a label as it is.
"""

from __future__ import annotations

import hmac
import logging
import os
from collections.abc import Iterator

from flask import Blueprint, Flask, Response, jsonify, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from integration import ledger
from integration.state import current_state

log = logging.getLogger(__name__)

HTTP_REFUSAL_CAUSES = ("read_timeout", "bad_request", "headers_too_large", "uri_too_long", "unsupported",
                       "forbidden", "expectation_failed")
UNKNOWN_STORE = "unknown"
OTHER_TOPIC = "other"

DELIVERIES = Counter(
    "integration_webhook_deliveries", "Webhook deliveries received, by store, topic and outcome.",
    ["store", "topic", "outcome"])
HTTP_REFUSALS = Counter(
    "integration_http_refusals",
    "Connections refused before a request reached the app (too slow, malformed, headers too large), by cause.",
    ["cause"])
BOOKINGS = Counter("integration_bookings", "Booking attempts at JNE, by outcome.", ["outcome"])
PERSONAL_ERASED = Counter(
    "integration_personal_data_erased",
    "Orders whose personal data was erased, by reason: retention, customer_request, shop_request.",
    ["reason"])
JNE_LATENCY = Histogram(
    "integration_jne_request_seconds", "Time of one JNE booking request, reply or failure included.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0, 30.0))

bp = Blueprint("metrics", __name__)


class QueueDepthCollector(Collector):
    """``integration_queue_depth{status}`` read from the ledger when scraped."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def collect(self) -> Iterator[Metric]:
        """Yield the gauge, or nothing when the database does not answer (the scrape still works)."""
        try:
            depth = ledger.queue_depth(self.engine)
        except SQLAlchemyError as exc:
            log.warning("queue depth unavailable: %s", type(exc).__name__)
            return
        gauge = GaugeMetricFamily("integration_queue_depth", "Shipments in the ledger, by status.",
                                  labels=["status"])
        for status, count in sorted(depth.items()):
            gauge.add_metric([str(status)], float(count))
        yield gauge


def _process_registry() -> CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # sums every process's files
        return registry
    return REGISTRY


def _denied(token: str | None) -> Response | None:
    """A 401 JSON answer unless ``token`` is unset or the request carries it as a bearer token."""
    if not token:
        return None
    given = request.headers.get("Authorization", "")
    scheme, _, value = given.partition(" ")
    if scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), token.encode()):
        return None
    denied = jsonify(error="metrics need a bearer token")
    denied.status_code = 401
    denied.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
    return denied


@bp.get("/metrics")
def metrics_view() -> Response:
    """Prometheus text format: counters of this process (or all, in multiprocess mode) + queue depth.

    With ``metrics.token`` set, only a request with ``Authorization: Bearer <token>`` gets them.
    """
    state = current_state()
    denied = _denied(state.config.metrics_token)
    if denied is not None:
        return denied
    live = CollectorRegistry(auto_describe=False)
    live.register(QueueDepthCollector(state.engine))
    body = generate_latest(_process_registry()) + generate_latest(live)
    return Response(body, mimetype=None, content_type=CONTENT_TYPE_LATEST)


def init_app(app: Flask) -> None:
    """Register ``GET /metrics``."""
    app.register_blueprint(bp)
