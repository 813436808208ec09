"""The dashboard's web security: cookie flags, response headers, and who is logged in.

- The session is Flask's signed cookie (``dashboard.secret_key``), HttpOnly, SameSite=Lax, scoped
  to ``/admin``, and Secure whenever the request came over HTTPS (or always, with
  ``dashboard.secure_cookie: true`` behind a proxy that ends TLS).
- Every dashboard response forbids scripts entirely (``default-src 'none'``: no inline script, no
  script file either; the pages need none), framing, and caching of pages with personal data.
- A session names the user and a fingerprint of their password hash: changing a password in
  integration.yaml ends that user's sessions; removing the user does too.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask, Response, request, session
from flask.sessions import SecureCookieSessionInterface

from integration.dashboard.settings import DashboardSettings, DashboardUser

SESSION_COOKIE = "jne_admin"
SESSION_HOURS = 12
CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")


class DashboardSessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie session, with the Secure flag decided per request."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config.get("SESSION_COOKIE_SECURE")) or request.is_secure


def configure(app: Flask, settings: DashboardSettings) -> None:
    """Session and CSRF settings of the app for the dashboard."""
    app.secret_key = settings.secret_key
    app.session_interface = DashboardSessionInterface()
    app.config.update(
        SESSION_COOKIE_NAME=SESSION_COOKIE,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=bool(settings.secure_cookie),
        SESSION_COOKIE_PATH="/admin",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=SESSION_HOURS),
        # Only the dashboard checks CSRF tokens (its blueprint calls csrf.protect()): the webhook
        # receivers are POSTed by shops with HMAC signatures and never carry one.
        WTF_CSRF_CHECK_DEFAULT=False,
        WTF_CSRF_TIME_LIMIT=SESSION_HOURS * 3600,
    )


def secure_headers(response: Response) -> Response:
    """Add the dashboard's security headers to ``response``."""
    h = response.headers
    h["Content-Security-Policy"] = CSP
    h["X-Content-Type-Options"] = "nosniff"
    h["X-Frame-Options"] = "DENY"
    h["Referrer-Policy"] = "same-origin"
    h.setdefault("Cache-Control", "no-store")
    return response


def log_in(user: DashboardUser) -> None:
    """Start a fresh session for ``user`` (a new cookie: no fixation of a session made before)."""
    session.clear()
    session.permanent = True
    session["user"] = user.name
    session["fp"] = user.fingerprint


def current_user(settings: DashboardSettings) -> DashboardUser | None:
    """The logged-in user, or None (no session, or the user or their password changed since)."""
    name: Any = session.get("user")
    user = settings.users.get(name) if isinstance(name, str) else None
    if user is None or session.get("fp") != user.fingerprint:
        return None
    return user
