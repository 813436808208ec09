"""What the dashboard keeps per app: its settings, the login throttle, CSRF, and the app's state."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask_wtf.csrf import CSRFProtect
from sqlalchemy.engine import Engine

from integration.config import Config
from integration.dashboard.cache import TTLCache
from integration.dashboard.settings import DashboardSettings
from integration.dashboard.throttle import LoginThrottle
from integration.state import AppState


@dataclass
class DashboardState:
    """Held in ``app.extensions['dashboard']``; config and engine are read from the app's state."""

    app_state: AppState
    settings: DashboardSettings
    csrf: CSRFProtect
    throttle: LoginThrottle = field(default_factory=LoginThrottle)
    charts: TTLCache[Any] = field(default_factory=TTLCache)

    @property
    def config(self) -> Config:
        """The app's configuration (read each time: a reload may replace it)."""
        return self.app_state.config

    @property
    def engine(self) -> Engine:
        """The ledger's engine."""
        return self.app_state.engine
