"""A local stand-in for JNE's pickup/cashless endpoint, with fault injection for tests and benchmarks.

``create_sandbox_app()`` answers ``POST /pickupcashless`` (and ``POST /``) the way JNE's document
says, always with HTTP 200 and the document's JSON shapes, checked in this order:

1. a value that looks like HTML (``<tag``): JNE's web firewall page, "Content not confirm our
   security Policy" (HTML, HTTP 200), before anything else, as a firewall sits in front of JNE;
2. unknown username or wrong api_key: ``{"error": "Username Or API KEY Not Found.", "status": false}``;
3. a mandatory field (``fields.FIELDS`` required=True) missing or blank (a lone space is blank):
   ``{"error": "Please do not let paramaters empty.", "status": false}``;
4. ORDER_ID not 1-20 of A-Z/0-9: ``success`` with an empty ``cnote_no`` and nothing booked, as
   integrators have seen from the real JNE for mixed-case and hyphenated ids;
5. ORDER_ID already booked for this username: the duplicate reply with the first booking's cnote;
6. a value over its UTF-8 byte limit, or WEIGHT/QTY not a number above zero:
   ``{"detail": [{"status": "Error", "reason": "..."}]}`` (the wording is ours; the shape is JNE's);
7. otherwise it books: ``{"detail": [{"status": "success", "cnote_no": "<16 digits>"}]}``.

It is deliberately more lenient than ``schema.validate_booking`` (e.g. INSURANCE_FLAG "0" books, as
on JNE's test server), so tests can show what the schema catches before JNE would.

Faults (``POST /_sandbox/faults`` or keyword arguments of ``create_sandbox_app``) apply to booking
requests only: ``latency_ms`` before every answer; ``fail_502`` answers the next N requests with an
HTTP 502 page; ``lose_reply`` books the next N successful bookings, stalls ``stall_s`` seconds and
drops the connection without a reply; ``down`` drops every booking request's connection at once.
Dropping needs the server's socket (werkzeug's dev server and gunicorn expose it); elsewhere a lost
reply falls back to a 502 after the stall.
"""

from __future__ import annotations

import re
import secrets
import socket
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, jsonify, request

from integration.jne.fields import CREDENTIAL_FIELDS, FIELDS
from integration.jne.sandbox_lists import register_list_routes

__all__ = ["DEFAULT_ACCOUNTS", "Faults", "SandboxState", "create_sandbox_app"]

# The test credentials printed in JNE's document.
DEFAULT_ACCOUNTS: dict[str, str] = {"TESTAPI": "25c898a9faea1a100859ecd9ef674548"}

AUTH_ERROR = {"error": "Username Or API KEY Not Found.", "status": False}
EMPTY_ERROR = {"error": "Please do not let paramaters empty.", "status": False}  # JNE's spelling
DUPLICATE_REASON = "Order id already exist, please try another one"
WAF_PAGE = ("<html><head><title>Request Rejected</title></head><body>"
            "Content not confirm our security Policy<br>Your support ID is: {support_id}</body></html>")
BAD_GATEWAY_PAGE = ("<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway"
                    "</h1></center><hr><center>nginx</center></body></html>")

_ORDER_ID = re.compile(r"[A-Z0-9]{1,20}")
_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_HTML = re.compile(r"<\s*[A-Za-z/!?]")
_REQUIRED = tuple(f.name for f in FIELDS if f.required)
_LIMITS = tuple((f.name, f.max_bytes) for f in FIELDS if f.max_bytes is not None)


@dataclass
class Faults:
    """Injected faults; counts go down as requests use them."""

    latency_ms: int = 0
    fail_502: int = 0
    lose_reply: int = 0
    stall_s: float = 2.0
    down: bool = False

    def update(self, changes: dict[str, Any]) -> None:
        """Apply ``changes`` after checking names and types; raises ValueError naming the problem."""
        kinds = {f.name: f.type for f in fields(self)}
        for name, value in changes.items():
            if name not in kinds:
                raise ValueError(f"unknown fault {name!r}; known: {', '.join(kinds)}")
            if kinds[name] == "bool":
                if not isinstance(value, bool):
                    raise ValueError(f"{name} must be true or false")
            elif isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValueError(f"{name} must be a number of 0 or more")
            elif kinds[name] == "int" and value != int(value):
                raise ValueError(f"{name} must be a whole number")
        for name, value in changes.items():
            setattr(self, name, int(value) if kinds[name] == "int" else value)


class SandboxState:
    """Bookings, request counts and faults of one sandbox app; every method is thread-safe."""

    def __init__(self, accounts: dict[str, str], faults: dict[str, Any]):
        self.accounts = dict(accounts)
        self.lock = threading.Lock()
        self.reset()
        self.faults.update(faults)

    def reset(self) -> None:
        """Forget bookings and counts; faults go back to none."""
        with self.lock:
            self.bookings: dict[tuple[str, str], dict[str, Any]] = {}
            self.requests = 0
            self.by_username: Counter[str] = Counter()
            self.by_order_id: Counter[str] = Counter()
            self.faults = Faults()
            # A random start makes cnotes of different sandboxes differ, which catches mix-ups.
            self._next_cnote = secrets.randbelow(9 * 10**15)

    def count(self, username: str, order_id: str) -> tuple[bool, bool, float]:
        """Count one booking request and take its faults: (drop now, answer 502, latency in s)."""
        with self.lock:
            self.requests += 1
            self.by_username[username] += 1
            self.by_order_id[order_id] += 1
            fail = self.faults.fail_502 > 0
            if fail:
                self.faults.fail_502 -= 1
            return self.faults.down, fail, self.faults.latency_ms / 1000

    def book(self, username: str, order_id: str, form: dict[str, str]) -> tuple[dict[str, Any], float | None]:
        """Answer for a request that passed the checks: (reply, stall seconds if the reply is lost)."""
        with self.lock:
            first = self.bookings.get((username, order_id))
            if first is not None:
                return {"detail": [{"reason": DUPLICATE_REASON, "status": "Error", "cnote": first["cnote"]}]}, None
            cnote = f"{self._next_cnote:016d}"
            self._next_cnote += 1
            self.bookings[(username, order_id)] = {
                "username": username, "order_id": order_id, "cnote": cnote,
                "fields": {k: v for k, v in form.items() if k not in CREDENTIAL_FIELDS},
                "booked_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
            }
            stall = None
            if self.faults.lose_reply > 0:
                self.faults.lose_reply -= 1
                stall = self.faults.stall_s
            return {"detail": [{"status": "success", "cnote_no": cnote}]}, stall

    def snapshot_bookings(self) -> list[dict[str, Any]]:
        """Every booking, oldest first."""
        with self.lock:
            return [dict(b, fields=dict(b["fields"])) for b in self.bookings.values()]

    def snapshot_stats(self) -> dict[str, Any]:
        """Request counts: total, per username, per ORDER_ID."""
        with self.lock:
            return {"requests": self.requests, "by_username": dict(self.by_username),
                    "by_order_id": dict(self.by_order_id)}


def _refusal(form: dict[str, str]) -> dict[str, Any] | None:
    """A detail[].reason reply for values the real JNE refuses, or None."""
    for name, limit in _LIMITS:
        value = form.get(name)
        if value is not None and len(value.encode("utf-8")) > limit:
            return {"detail": [{"status": "Error", "reason": f"{name} is too long (maximum {limit} bytes)"}]}
    for name in ("WEIGHT", "QTY"):
        value = form.get(name, "")
        if _NUMBER.fullmatch(value) is None or float(value) <= 0:
            return {"detail": [{"status": "Error", "reason": f"{name} must be a number greater than 0"}]}
    return None


def drop_connection(stall_s: float) -> Response:
    """Stall, then close the client's connection so that it gets no HTTP reply at all."""
    if stall_s > 0:
        time.sleep(stall_s)
    sock = request.environ.get("werkzeug.socket") or request.environ.get("gunicorn.socket")
    if sock is None:
        return Response("reply lost (this server does not expose its socket)", status=502)
    try:
        # shutdown, not close: the server still owns the socket; its write of the response below
        # then fails with a broken pipe, which werkzeug treats as a dropped connection.
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # the client already went away (e.g. its read timeout was shorter than the stall)
    return Response(b"", status=200)


def create_sandbox_app(accounts: dict[str, str] | None = None, **faults: Any) -> Flask:
    """A Flask app that answers like JNE's pickup/cashless API; keyword arguments set initial faults."""
    state = SandboxState(DEFAULT_ACCOUNTS if accounts is None else accounts, faults)
    app = Flask(__name__)
    app.json.sort_keys = False  # answer in the document's key order
    app.extensions["jne_sandbox"] = state
    register_list_routes(app, state.accounts)  # /insert/getdestination and /insert/getorigin

    @app.post("/")
    @app.post("/pickupcashless")
    def pickupcashless():
        form = request.form.to_dict()  # first value of a repeated key, as PHP-style servers do
        username = form.get("username", "")
        order_id = form.get("ORDER_ID", "")
        down, fail_502, latency_s = state.count(username, order_id)
        if down:
            return drop_connection(0)
        if fail_502:
            return Response(BAD_GATEWAY_PAGE, status=502, mimetype="text/html")
        if latency_s:
            time.sleep(latency_s)
        if any(_HTML.search(value) for value in form.values()):
            return Response(WAF_PAGE.format(support_id=secrets.randbelow(10**19)), mimetype="text/html")
        known_key = state.accounts.get(username)
        if known_key is None or not secrets.compare_digest(known_key, form.get("api_key", "")):
            return jsonify(AUTH_ERROR)
        if any(not form.get(name, "").strip() for name in _REQUIRED):
            return jsonify(EMPTY_ERROR)
        if _ORDER_ID.fullmatch(order_id) is None:
            return jsonify({"detail": [{"status": "success", "cnote_no": ""}]})
        with state.lock:
            booked_before = (username, order_id) in state.bookings
        if not booked_before:
            refusal = _refusal(form)
            if refusal is not None:
                return jsonify(refusal)
        reply, stall_s = state.book(username, order_id, form)
        if stall_s is not None:
            return drop_connection(stall_s)
        return jsonify(reply)

    @app.get("/_sandbox/bookings")
    def sandbox_bookings():
        return jsonify(state.snapshot_bookings())

    @app.get("/_sandbox/stats")
    def sandbox_stats():
        return jsonify(state.snapshot_stats())

    @app.get("/_sandbox/faults")
    def sandbox_faults():
        with state.lock:
            return jsonify(asdict(state.faults))

    @app.post("/_sandbox/faults")
    def sandbox_set_faults():
        changes = request.get_json(silent=True)
        if not isinstance(changes, dict):
            return jsonify({"error": "send a JSON object of faults"}), 400
        with state.lock:
            trial = Faults(**asdict(state.faults))
            try:
                trial.update(changes)
            except ValueError as exc:
                return jsonify({"error": str(exc)}), 400
            state.faults = trial
            return jsonify(asdict(trial))

    @app.post("/_sandbox/reset")
    def sandbox_reset():
        state.reset()
        return jsonify({"reset": True})

    return app
