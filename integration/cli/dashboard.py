"""``jne-integration labels`` and ``jne-integration dashboard hash-password``, and the demo's login."""

from __future__ import annotations

import ipaddress
import sys
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

import click

from integration.cli import config_option, load_config_or_exit, main


def _day(_ctx: click.Context, _param: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date like 2025-03-14") from None


@main.command("labels")
@config_option
@click.option("--store", "store_id", default=None, help="Only this store's orders.")
@click.option("--date", "day", callback=_day, default=None,
              help="Orders booked on this day, YYYY-MM-DD in the store's time zone (default: today).")
@click.option("--order", "orders", multiple=True,
              help="An order id, number, ORDER_ID or cnote (repeat for more); instead of --date.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, writable=True),
              help="The PDF file to write.")
@click.pass_context
def labels_command(ctx: click.Context, config_path: str | None, store_id: str | None, day: date | None,
                   orders: tuple[str, ...], output: str) -> None:
    """Write the A6 shipping labels of booked orders into one PDF."""
    from zoneinfo import ZoneInfo

    from integration import ledger
    from integration.labels import render_labels, select_labels

    config = load_config_or_exit(ctx, config_path)
    if store_id is not None and store_id not in config.stores:
        raise click.BadParameter(f"no store {store_id!r}; known: {', '.join(config.stores)}",
                                 param_hint="--store")
    zones = {sid: (s.facts.get("pickup") or {}).get("timezone") or "Asia/Jakarta"
             for sid, s in config.stores.items()}
    if not orders and day is None:
        zone = zones.get(store_id or "", "Asia/Jakarta")
        day = datetime.now(ZoneInfo(zone)).date()
    engine = ledger.make_engine(config.database_url)
    try:
        ledger.ensure_schema(engine)
        found = select_labels(engine, stores=[store_id] if store_id else None, orders=orders,
                              booked_on=None if orders else day, timezones=zones)
    finally:
        engine.dispose()
    if not found:
        what = (f"none of {', '.join(orders)} is a booked order" if orders
                else f"no order was booked on {day}")
        click.echo(f"{what}{f' in store {store_id}' if store_id else ''}; nothing written", err=True)
        ctx.exit(1)
    Path(output).write_bytes(render_labels(found))
    click.echo(f"wrote {len(found)} label(s) to {output}")


@main.group("dashboard")
def dashboard_group() -> None:
    """The owner's dashboard under /admin/."""


@dashboard_group.command("hash-password")
def hash_password_command() -> None:
    """Read a password (asked twice on a terminal, one line from a pipe) and print its hash."""
    from integration.dashboard.settings import hash_password

    if sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise click.UsageError("an empty password cannot be hashed")
    click.echo(hash_password(password))


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def demo_dashboard(config: Any, host: str) -> tuple[Any, list[str]]:
    """For ``serve`` in the built-in demo: a ``demo`` user with a random password, loopback only.

    Returns the configuration to serve and lines to print once the address is known (``{url}``
    in them is the server's address). A configuration with its own ``dashboard:`` block, or one
    that is not the demo, is returned as it is.
    """
    from integration.dashboard.settings import DEMO_USER, demo_settings

    if not config.is_demo or config.dashboard is not None:
        return config, []
    if not _loopback(host):
        return config, ["dashboard off: the demo's dashboard listens on 127.0.0.1 only "
                        "(add a dashboard: block to integration.yaml to serve it on other addresses)"]
    settings, password = demo_settings()
    return replace(config, dashboard=settings), [
        "dashboard: {url}/admin/ (user " + DEMO_USER + ", password " + password + ")"]
