"""A bare Flask app for bench_ingest.py: the same URL as the webhook, it reads the body and answers "ok"."""

from __future__ import annotations

from flask import Flask, request


def create_app() -> Flask:
    """The baseline: what Flask under gunicorn costs before the receiver does any work."""
    app = Flask(__name__)

    @app.post("/webhooks/shopify")
    def ok() -> str:
        # Read the body like the receiver does: the bytes on the wire are part of the baseline.
        request.get_data()
        return "ok"

    @app.get("/")
    def index() -> str:
        return "ok"

    return app
