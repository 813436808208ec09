"""``AppState``: what ``create_app`` prepares once per process and the views read, as one typed object.

It is kept in ``app.extensions`` (Flask's place for it) under one key that only this module knows;
views use ``current_state()`` and tests ``AppState.of(app)``, so a typo is an AttributeError at the
first test, not a ``KeyError`` in production.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from flask import Flask, current_app

if TYPE_CHECKING:  # only for the annotations: app and intake import this module
    from sqlalchemy.engine import Engine

    from integration.app import LedgerSchema
    from integration.config import Config
    from integration.webhooks.intake import Intake

_KEY = "integration"


@dataclass(frozen=True)
class AppState:
    """The checked configuration, the ledger engine, the schema readiness and the webhook intake."""

    config: Config
    engine: Engine
    schema: LedgerSchema
    intake: Intake

    def install(self, app: Flask) -> None:
        """Attach this state to ``app`` (once, in ``create_app``)."""
        app.extensions[_KEY] = self

    @classmethod
    def of(cls, app: Flask) -> AppState:
        """The state of an app built by ``create_app``; RuntimeError for any other app."""
        state = app.extensions.get(_KEY)
        if not isinstance(state, cls):
            raise RuntimeError(f"Flask app {app.name!r} has no integration state; build it with create_app")
        return state


def current_state() -> AppState:
    """The state of the app handling the current request."""
    return AppState.of(current_app)
