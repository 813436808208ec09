"""The owner's dashboard under ``/admin/``: orders, one order, bulk actions, labels, stores.

``init_app(app, state)`` mounts it when the configuration has a ``dashboard:`` block (or the demo
made one); without it nothing is mounted and every ``/admin/`` URL answers 404. ``state`` is the
app's :class:`~integration.state.AppState`. The settings and their schema are
in :mod:`integration.dashboard.settings`; this module imports Flask pieces only when mounting.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Flask

from integration.dashboard.settings import DashboardSettings

if TYPE_CHECKING:
    from integration.state import AppState


def init_app(app: Flask, state: AppState, settings: DashboardSettings | None = None) -> bool:
    """Mount the dashboard on ``app``; ``settings`` default to ``state.config.dashboard``. True when mounted."""
    from flask_wtf.csrf import CSRFProtect

    from integration.dashboard import security, views
    from integration.dashboard.state import DashboardState

    if settings is None:
        settings = state.config.dashboard
    if settings is None:
        return False
    security.configure(app, settings)
    csrf = CSRFProtect()
    csrf.init_app(app)
    app.extensions["dashboard"] = DashboardState(state, settings, csrf)
    app.register_blueprint(views.bp)
    return True
