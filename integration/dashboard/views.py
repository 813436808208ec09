"""The dashboard's pages and actions under ``/admin/`` (server-rendered, no script).

Every view runs after :func:`_guard`: POSTs must carry the CSRF token, every page but the login
needs a logged-in user, and ``g.stores`` (the store ids the user may see) scopes every query. An
order of a store outside ``g.stores`` is answered 404, exactly like an order that does not exist.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_wtf.csrf import CSRFError
from markupsafe import Markup
from werkzeug.exceptions import HTTPException
from werkzeug.security import check_password_hash

from integration import ledger
from integration.booking.writeback import writeback_stores
from integration.dashboard import chart, order_page, order_problems, overrides, queries, security, store_page
from integration.dashboard.state import DashboardState
from integration.labels import labels_for_keys, render_labels
from integration.vocabulary import REPLAYABLE, ShipmentStatus

bp = Blueprint("dashboard", __name__, url_prefix="/admin", template_folder="templates",
               static_folder="static", static_url_path="/static")

CHART_DAYS = 14
OPEN = ("dashboard.login", "dashboard.static")
# Checked against a made-up hash when the user name is unknown, so that the answer takes as long
# as for a real user and does not tell which names exist.
_DUMMY_HASH = "scrypt:32768:8:1$0000000000000000$" + "0" * 128
STATUS_WORDS = {s.value: s.value.replace("_", " ") for s in ShipmentStatus}


def _state() -> DashboardState:
    return current_app.extensions["dashboard"]


@bp.before_request
def _guard() -> Any:
    state = _state()
    if request.method == "POST":
        state.csrf.protect()  # raises CSRFError (400): nothing below runs, nothing changes
    if request.endpoint in OPEN:
        return None
    user = security.current_user(state.settings)
    if user is None:
        return redirect(url_for("dashboard.login", next=request.full_path.rstrip("?")), 303)
    g.user = user
    g.stores = user.visible(state.config.stores)
    return None


@bp.after_request
def _headers(response: Response) -> Response:
    return security.secure_headers(response)


@bp.app_template_filter("status_words")
def _status_words(status: str) -> str:
    return STATUS_WORDS.get(status, status)


@bp.app_template_filter("json_text")
def _json_text(value: Any) -> str:
    """A value as JSON text for reading (Jinja escapes it; ``tojson`` would show ``\\u003c`` for ``<``)."""
    return json.dumps(value, ensure_ascii=False)


@bp.app_template_global("local_time")
def _local_time(value: datetime | None, store: str) -> str:
    return order_page.local_time(value, order_page.store_timezone(_state().config, store))


def _error_page(code: int, title: str, detail: str) -> tuple[str, int]:
    return render_template("dashboard/error.html", code=code, title=title, detail=detail), code


@bp.errorhandler(CSRFError)
def _csrf_error(exc: CSRFError) -> tuple[str, int]:
    return _error_page(400, "The form has expired",
                       "The page was open too long or the request did not come from this dashboard. "
                       "Go back, reload the page and try again. Nothing was changed.")


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> tuple[str, int]:
    code = exc.code or 500
    if code == 404:
        return _error_page(404, "Not found", "There is no such order or page, or it belongs to a store "
                                             "you do not have access to.")
    return _error_page(code, exc.name or "Error", exc.description or "")


# -- login ------------------------------------------------------------------------------------

def _safe_next(target: str | None) -> str:
    """Only a path inside the dashboard: never another site (an open redirect)."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and parts.path.startswith("/admin/") \
                and "\\" not in target and not target.startswith("//"):
            return target
    return url_for("dashboard.orders")


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """The login form (inputs ``username`` and ``password``); slowed down after failed attempts."""
    state = _state()
    if request.method == "GET":
        if security.current_user(state.settings) is not None:
            return redirect(_safe_next(request.args.get("next")), 303)
        return render_template("dashboard/login.html", next=request.args.get("next", ""), error=None)
    username = request.form.get("username", "").strip()[:64]
    password = request.form.get("password", "")
    address = request.remote_addr or "?"
    nxt = request.form.get("next", "")
    wait = state.throttle.wait_s(username, address)
    if wait > 0:
        page = render_template("dashboard/login.html", next=nxt, username=username,
                               error=f"Too many failed attempts. Try again in {int(wait) + 1} seconds.")
        return Response(page, 429, {"Retry-After": str(int(wait) + 1)})
    user = state.settings.users.get(username)
    ok = check_password_hash(user.password_hash if user else _DUMMY_HASH, password) and user is not None
    if not ok:
        state.throttle.failed(username, address)
        page = render_template("dashboard/login.html", next=nxt, username=username,
                               error="Wrong user name or password.")
        return page, 401
    state.throttle.succeeded(username, address)
    security.log_in(user)
    return redirect(_safe_next(nxt), 303)


@bp.post("/logout")
def logout() -> Any:
    """End the session."""
    from flask import session

    session.clear()
    return redirect(url_for("dashboard.login"), 303)


# -- orders list --------------------------------------------------------------------------------

def _scope(store: str | None) -> list[str]:
    """The stores a list shows: the chosen one when the user may see it (else none), or all of theirs."""
    if store:
        return [store] if store in g.stores else []
    return list(g.stores)


def _days(tz: str, count: int) -> tuple[list[date], list[datetime]]:
    today = datetime.now(ZoneInfo(tz)).date()
    days = [today - timedelta(days=count - 1 - i) for i in range(count)]
    return days, [datetime.combine(d, time(0), tzinfo=ZoneInfo(tz)) for d in days]


@bp.get("/")
def orders() -> Any:
    """Orders, newest change first: status tabs with counts, store filter, search, keyset pages."""
    state = _state()
    status = request.args.get("status") or None
    if status not in (None, *queries.STATUSES):
        status = None
    store = request.args.get("store") or None
    q = (request.args.get("q") or "").strip()[:128] or None
    after = queries.Cursor.decode(request.args.get("after"))
    scope = _scope(store)
    tz = order_page.store_timezone(state.config, scope[0]) if scope else "Asia/Jakarta"
    days, starts = _days(tz, CHART_DAYS)
    with state.engine.connect() as conn:
        counts = queries.status_counts(conn, scope, q)
        rows, next_cursor = queries.orders_page(conn, scope, status, q, after)
        # Counted and drawn at most once a minute per process (see cache.py).
        chart_html = state.charts.get((tuple(scope), tz, days[-1]), lambda: Markup(render_template(
            "dashboard/_chart.html", c=chart.build(days, queries.day_status_counts(conn, scope, starts)))))
    return render_template(
        "dashboard/orders.html", rows=rows, counts=counts, cap=queries.COUNT_CAP, status=status,
        store=store, q=q or "", next_cursor=next_cursor.encode() if next_cursor else None,
        paged=after is not None, chart_html=chart_html, statuses=queries.STATUSES,
        replayable=[str(s) for s in REPLAYABLE], first_message=order_problems.first_message,
        unknown_store=bool(store) and not scope)


def _selected() -> list[tuple[str, str]]:
    keys = []
    for value in request.form.getlist("order"):
        store, sep, ref = value.partition("/")
        if not sep or not store or not ref:
            abort(400, "a selected order is not in the form store/order")
        keys.append((store, ref))
    return list(dict.fromkeys(keys))


def _visible_rows(keys: Sequence[tuple[str, str]]) -> list[Any]:
    """The rows of ``keys``; 404 when any of them is not an order of the user's stores."""
    with _state().engine.connect() as conn:
        rows = queries.keys_with_status(conn, g.stores, keys)
    if len(rows) != len(keys):
        abort(404)
    return rows


def _back() -> str:
    return _safe_next(request.form.get("back")) if request.form.get("back") else url_for("dashboard.orders")


def _pdf(content: bytes, name: str) -> Response:
    safe = re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-")[:60] or "labels"
    return Response(content, 200, {"Content-Type": "application/pdf",
                                   "Content-Disposition": f'attachment; filename="{safe}.pdf"',
                                   "Cache-Control": "no-store"})


@bp.post("/orders/bulk")
def bulk() -> Any:
    """The list's buttons: replay the selected orders, or one PDF of their labels."""
    keys = _selected()
    action = request.form.get("action")
    if action not in ("replay", "labels"):
        abort(400, "choose Replay selected or Labels for selected")
    if not keys:
        flash("Select at least one order first.", "error")
        return redirect(_back(), 303)
    rows = _visible_rows(keys)
    if action == "labels":
        labels = labels_for_keys(_state().engine, keys, g.stores)
        if not labels:
            flash("None of the selected orders is booked: labels exist for booked orders only.", "error")
            return redirect(_back(), 303)
        return _pdf(render_labels(labels), f"labels-{len(labels)}")
    queued = booked = 0
    for r in rows:
        if r.status == ShipmentStatus.BOOKED:
            booked += 1
            continue
        ledger.replay(_state().engine, r.store_id, r.order_ref)
        queued += 1
    note = f"; {booked} already booked (never booked twice)" if booked else ""
    flash(f"Queued {queued} order(s) again{note}.", "ok")
    return redirect(_back(), 303)


@bp.post("/orders/replay-status")
def replay_status() -> Any:
    """Queue again every order of one status (in one store, or in all the user's stores)."""
    status = request.form.get("status", "")
    if status not in [str(s) for s in REPLAYABLE]:
        abort(400, "this status cannot be replayed (booked orders are never booked twice)")
    store = request.form.get("store") or None
    if store and store not in g.stores:
        abort(404)
    total = sum(ledger.replay_status(_state().engine, status, store=s) for s in ([store] if store else g.stores))
    flash(f"Queued {total} {STATUS_WORDS[status]} order(s) again.", "ok")
    return redirect(_back(), 303)


# -- one order ----------------------------------------------------------------------------------

def _row(store: str, order: str) -> Any:
    with _state().engine.connect() as conn:
        row = queries.shipment(conn, g.stores, store, order)
    if row is None:
        abort(404)
    return row


@bp.get("/orders/<store>/<order>")
def order(store: str, order: str) -> Any:
    """One order: problems by field and rule, fields sent / would be sent, attempts, the delivery."""
    state = _state()
    with state.engine.connect() as conn:
        row = queries.shipment(conn, g.stores, store, order)
        if row is None:
            abort(404)
        page = order_page.build(conn, state.config, row, ledger.utcnow())
    return render_template("dashboard/order.html", page=page, row=row,
                           replayable=row.status != ShipmentStatus.BOOKED)


@bp.post("/orders/<store>/<order>/replay")
def replay(store: str, order: str) -> Any:
    """Queue this order again with a fresh retry budget (lifts its JNE account's block)."""
    _row(store, order)
    try:
        got = ledger.replay(_state().engine, store, order)
    except ledger.ReplayError as exc:
        flash(exc.reason, "error")
    else:
        more = got.get("requeued", 1) - 1
        also = f", and {more} more of the same JNE account (its block is lifted)" if more > 0 else ""
        flash(f"Queued again{also}. The worker picks it up within seconds.", "ok")
    return redirect(url_for("dashboard.order", store=store, order=order), 303)


@bp.post("/orders/<store>/<order>/writeback-retry")
def writeback_retry(store: str, order: str) -> Any:
    """Write the cnote back to the shop again after a refusal (as `jne-integration writeback retry`)."""
    _row(store, order)
    try:
        got = ledger.writeback.retry(_state().engine, store, order, ledger.utcnow())
    except ledger.ReplayError as exc:
        flash(exc.reason, "error")
    else:
        flash(f"Queued the write-back of cnote {got['cnote']} again. The worker writes it to the shop "
              "within seconds.", "ok")
    return redirect(url_for("dashboard.order", store=store, order=order), 303)


@bp.get("/orders/<store>/<order>/label.pdf")
def label(store: str, order: str) -> Any:
    """The A6 label PDF of a booked order."""
    row = _row(store, order)
    labels = labels_for_keys(_state().engine, [(store, order)], g.stores)
    if not labels:
        abort(404)
    return _pdf(render_labels(labels), f"label-{row.jne_order_id or row.order_ref}")


@bp.post("/orders/<store>/<order>/destination")
def destination(store: str, order: str) -> Any:
    """Save the chosen destination to the store's override table, then replay the order."""
    state = _state()
    code = request.form.get("code", "").strip().upper()
    with state.engine.connect() as conn:
        row = queries.shipment(conn, g.stores, store, order)
        if row is None:
            abort(404)
        page = order_page.build(conn, state.config, row, ledger.utcnow())
    chosen = next(((p, c) for p in page.candidates for c in p.candidates if c.code.upper() == code), None)
    if chosen is None:
        abort(400, f"{code or 'nothing'} is not one of this order's destination candidates")
    problem, _ = chosen
    zip_code = str(problem.params.get("zip") or page.preview.fields.get("RECEIVER_ZIP") or "")
    district = str(problem.params.get("district") or "")
    store_cfg = state.config.stores.get(store)
    if store_cfg is None:
        abort(404)
    path = overrides.override_path(state.config, store_cfg)
    try:
        overrides.save_override(path, zip_code, district, code)
    except overrides.OverrideError as exc:
        flash(str(exc), "error")
        return redirect(url_for("dashboard.order", store=store, order=order), 303)
    try:
        ledger.replay(state.engine, store, order)
    except ledger.ReplayError as exc:
        flash(f"Saved {zip_code} {district} -> {code} to {path.name}, but: {exc.reason}", "error")
    else:
        flash(f"Saved {zip_code} {district} -> {code} to {path.name} and queued the order again.", "ok")
    return redirect(url_for("dashboard.order", store=store, order=order), 303)


# -- stores -------------------------------------------------------------------------------------

@bp.get("/stores")
def stores() -> Any:
    """Per store: last delivery, counts by status, a blocked JNE account and how to lift it, the shop's
    API side (write-backs by state, the last reconcile pass, webhooks) and mapping edits that did not load."""
    state = _state()
    cards = []
    writing_back = set(writeback_stores(state.config))
    with state.engine.connect() as conn:
        blocks = queries.account_blocks(conn)
        for store_id in g.stores:
            store = state.config.stores[store_id]
            block = blocks.get(store.jne.key)
            cards.append({"id": store_id, "store": store, "last": queries.last_delivery(conn, store_id),
                          "counts": queries.status_counts(conn, [store_id]),
                          "block": block, "jne_user": store.jne.username,
                          "jne_host": urlsplit(store.jne.url).netloc or store.jne.url,
                          "shop": store_page.shop_side(conn, store, writing_back),
                          "refused": store_page.refused_edit(store)})
    return render_template("dashboard/stores.html", cards=cards, cap=queries.COUNT_CAP,
                           statuses=queries.STATUSES, writeback_states=queries.WRITEBACK_STATES)


# -- personal data requests ---------------------------------------------------------------------

@bp.get("/requests")
def data_requests() -> Any:
    """Customers' data requests of the user's stores (customer id and time only), newest first."""
    with _state().engine.connect() as conn:
        rows = queries.data_requests(conn, g.stores)
    return render_template("dashboard/requests.html", rows=rows, limit=queries.PAGE_SIZE)


@bp.get("/customers/<store>/<customer>")
def customer(store: str, customer: str) -> Any:
    """What the ledger holds for one customer of one store (as `status --customer` shows it)."""
    if store not in g.stores:
        abort(404)
    data = ledger.retention.customer_data(_state().engine, customer.strip(), store)
    return render_template("dashboard/customer.html", data=data, store=store, why=order_page.ERASURE_WHY)
