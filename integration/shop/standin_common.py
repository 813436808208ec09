"""What both shop stand-ins share: injected faults and per-operation request counts.

Faults extend the JNE sandbox's (``latency_ms``, ``fail_502``, ``lose_reply`` with ``stall_s``,
``down``) with the shops' rate limits: ``rate_limit`` answers the next N API requests with HTTP 429 and
``Retry-After: retry_after_s``; ``throttled`` (Shopify) answers the next N GraphQL requests with
``THROTTLED`` and the cost figures. ``lose_reply`` applies to writes: the shop carries the write out,
then the connection drops without a reply, as a lost reply does.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

from flask import Flask, Response, jsonify, request

from integration.jne.sandbox import Faults, drop_connection

__all__ = ["FaultGate", "ShopFaults", "drop_connection", "register_control_routes"]


@dataclass
class ShopFaults(Faults):
    """The JNE sandbox's faults plus the shops' rate limits."""

    rate_limit: int = 0
    retry_after_s: float = 1.0
    throttled: int = 0


class FaultGate:
    """Faults and request counts of one stand-in; every method is thread-safe."""

    def __init__(self, faults: dict[str, Any]):
        self.lock = threading.Lock()
        self.faults = ShopFaults()
        self.stats: Counter[str] = Counter()
        self.faults.update(faults)

    def reset(self) -> None:
        """No faults, no counts."""
        with self.lock:
            self.faults = ShopFaults()
            self.stats = Counter()

    def enter(self, operation: str) -> Response | None:
        """Count one API request and apply the faults due before it runs: an answer to send, or None."""
        with self.lock:
            self.stats[operation] += 1
            self.stats["requests"] += 1
            faults = self.faults
            latency = faults.latency_ms / 1000
            down = faults.down
            fail = faults.fail_502 > 0
            if fail:
                faults.fail_502 -= 1
            limited = not fail and faults.rate_limit > 0
            if limited:
                faults.rate_limit -= 1
            retry_after = faults.retry_after_s
        if latency:
            time.sleep(latency)
        if down:
            return drop_connection(0)
        if fail:
            return Response("<html><body><h1>502 Bad Gateway</h1></body></html>", status=502, mimetype="text/html")
        if limited:
            response = jsonify({"errors": "Exceeded 2 calls per second for api client. Reduce request rates to "
                                          "resume uninterrupted service."})
            response.status_code = 429
            response.headers["Retry-After"] = f"{retry_after:g}"
            return response
        return None

    def count(self, name: str) -> None:
        """Count an event the tests look for (e.g. THROTTLED, invalid_token)."""
        with self.lock:
            self.stats[name] += 1

    def take_throttle(self) -> bool:
        """True when the next GraphQL request is to be THROTTLED by an injected fault."""
        with self.lock:
            if self.faults.throttled > 0:
                self.faults.throttled -= 1
                return True
            return False

    def take_lost_reply(self) -> float | None:
        """Stall seconds when this write's reply is to be lost, else None."""
        with self.lock:
            if self.faults.lose_reply > 0:
                self.faults.lose_reply -= 1
                return self.faults.stall_s
            return None

    def snapshot_stats(self) -> dict[str, int]:
        """Request counts by operation (and ``requests`` in all)."""
        with self.lock:
            return dict(self.stats)


def register_control_routes(app: Flask, gate: FaultGate, reset_data: Any) -> None:
    """``/_standin/faults`` (GET/POST), ``/_standin/stats`` and ``/_standin/reset`` for tests."""

    @app.get("/_standin/faults")
    def standin_faults():
        with gate.lock:
            return jsonify(asdict(gate.faults))

    @app.post("/_standin/faults")
    def standin_set_faults():
        changes = request.get_json(silent=True)
        if not isinstance(changes, dict):
            return jsonify({"error": "send a JSON object of faults"}), 400
        with gate.lock:
            trial = ShopFaults(**asdict(gate.faults))
            try:
                trial.update(changes)
            except ValueError as exc:
                return jsonify({"error": str(exc)}), 400
            gate.faults = trial
            return jsonify(asdict(trial))

    @app.get("/_standin/stats")
    def standin_stats():
        return jsonify(gate.snapshot_stats())

    @app.post("/_standin/reset")
    def standin_reset():
        gate.reset()
        reset_data()
        return jsonify({"reset": True})
