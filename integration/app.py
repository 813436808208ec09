"""``create_app``: the one place the web service is wired (config, ledger, logging, blueprints).

Gunicorn runs ``gunicorn 'integration.app:create_app()'`` and calls it once per worker process, so
it does all the per-process work (config, engine, schema check, HMAC keys) here and none per request.
"""

from __future__ import annotations

import logging
import os
import threading
import time

from flask import Blueprint, Flask, Response, jsonify
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from integration import dashboard, ledger, metrics, webhooks
from integration.config import Config, load_config
from integration.logging_setup import default_logging, install_redaction
from integration.mapping.files.live import refused_edits
from integration.state import AppState, current_state
from integration.webhooks.intake import Intake

log = logging.getLogger(__name__)

ops = Blueprint("ops", __name__)


def create_app(config: Config | str | os.PathLike[str] | None = None) -> Flask:
    """Build the web app from a Config, a path to integration.yaml, or None to discover one.

    None finds the file as every command does: ``$JNE_INTEGRATION_CONFIG``, ``./integration.yaml``,
    else the built-in demo. (``--config`` belongs to the CLI, which passes the path here; gunicorn's
    own ``--config`` is its settings file, so argv is never read.)
    """
    cfg = config if isinstance(config, Config) else load_config(config)
    default_logging()
    install_redaction(cfg.secrets())

    app = Flask(__name__)
    # Werkzeug then stops reading any body, chunked ones too, at limit + 1 bytes: one byte more
    # than allowed is how the intake tells "exactly the limit" (fine) from "over it" (413).
    app.config["MAX_CONTENT_LENGTH"] = cfg.max_body_bytes + 1
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.json.compact = True  # type: ignore[attr-defined]

    # No ping per checkout: ingest and healthz replace a connection the server dropped themselves.
    engine = ledger.make_engine(cfg.database_url, pool_pre_ping=False)
    schema = LedgerSchema(engine)
    schema.ensure()
    # No pooled connection may cross a fork (gunicorn --preload); the first request reconnects.
    engine.dispose()
    state = AppState(config=cfg, engine=engine, schema=schema, intake=Intake(cfg, engine, webhooks.PLATFORMS))
    state.install(app)

    webhooks.init_app(app)
    metrics.init_app(app)
    app.register_blueprint(ops)
    dashboard.init_app(app, state)  # mounted only with a dashboard: block
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)
    app.before_request(schema.ensure_soon)
    return app


class LedgerSchema:
    """Creates the ledger tables; when the database is away at start, retries on later requests.

    A worker that dies at boot because the database is briefly down would make gunicorn give up
    entirely; starting anyway and answering 503 until the tables exist recovers by itself.
    """

    RETRY_S = 1.0

    def __init__(self, engine):
        self.engine = engine
        self.ready = False
        self._next_try = 0.0
        self._lock = threading.Lock()

    def ensure(self) -> bool:
        """Create or upgrade the tables now; False (logged) when the database does not answer."""
        try:
            ledger.ensure_schema(self.engine)
        except SQLAlchemyError as exc:
            log.error("ledger schema not ready, database unavailable (%s); will retry",
                      type(exc).__name__)
            self._next_try = time.monotonic() + self.RETRY_S
            return False
        self.ready = True
        return True

    def ensure_soon(self) -> None:
        """Before a request: one cheap flag check once ready; otherwise a rate-limited retry."""
        if self.ready or time.monotonic() < self._next_try:
            return
        with self._lock:
            if not self.ready:
                self.ensure()


@ops.get("/healthz")
def healthz() -> tuple[Response, int]:
    """200 when the database answers, else 503."""
    state = current_state()
    try:
        up = state.schema.ready and ledger.ping(state.engine)
    except SQLAlchemyError:
        up = False
    edits = refused_edits(state.config.stores.values())  # a mapping edit that did not load: say so
    if up:
        return jsonify(status="ok", **({"mappings": edits} if edits else {})), 200
    return jsonify(status="unavailable", **({"mappings": edits} if edits else {})), 503


def _http_error(exc: HTTPException) -> tuple[Response, int]:
    # 404, 405, 413 ... as short JSON; werkzeug's HTML pages would be a different contract.
    code = exc.code or 500
    response = jsonify(error=(exc.name or "error").lower())
    allowed = getattr(exc, "valid_methods", None)
    if code == 405 and allowed:
        response.headers["Allow"] = ", ".join(allowed)
    return response, code


def _unexpected_error(exc: Exception) -> tuple[Response, int]:
    # A bug, never bad input: logged with its traceback (redacted), answered without one.
    log.exception("unhandled error")
    return jsonify(error="internal error"), 500
