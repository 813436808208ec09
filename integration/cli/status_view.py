"""What ``status`` prints for a person: which database, the mapping in use, the orders as the shop numbers them.

An owner knows an order as ``#1059``, not as Shopify's internal id, so the table leads with the
shop's number; the ORDER_ID column shows the JNE ORDER_ID before booking too: recorded by the worker
the first time it maps the order (even when the order then needs attention), and for a queued order
the worker has not reached yet, worked out here with the mapping as it is now, which is what the
worker will use (the files are the same; at most ``EXPECTED_LIMIT`` such orders, oldest first, so a
flash sale's queue does not make ``status`` slow). The MAPPING column is the version of the mapping
files each order was last tried with: after an edit, an order still showing the old version has not
been tried again yet.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import click
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.engine import url as sa_url

from integration.config import Config
from integration.errors import ConfigError
from integration.terminal import escape

EXPECTED_LIMIT = 200
COLUMNS = ("store", "order", "order_id", "status", "cnote", "writeback", "attempts", "mapping", "updated_at")
HEADINGS = {"order": "ORDER", "order_id": "ORDER_ID", "mapping": "MAPPING", "updated_at": "UPDATED"}


def load_lenient(ctx: click.Context, given: str | None) -> Config:
    """The configuration, keeping stores whose mapping files do not load now (their problems kept).

    For the commands that read or requeue the ledger (status, replay, show): an owner in the middle
    of a mapping edit still needs them, and the running service keeps its last good mapping anyway.
    """
    from integration.cli import _config_path
    from integration.config import load_config

    try:
        return load_config(_config_path(ctx, given), lenient_mappings=True)
    except ConfigError as exc:
        click.echo("configuration problems:", err=True)
        for line in exc.problems:
            click.echo(f"  - {escape(line)}", err=True)
        ctx.exit(1)
        raise  # unreachable: ctx.exit raises


def shown_database(url: str) -> str:
    """The database URL without its password."""
    try:
        return sa_url.make_url(url).render_as_string(hide_password=True)
    except (ValueError, sa.exc.ArgumentError):
        return "(unreadable database URL)"


def print_header(config: Config, store_id: str | None) -> None:
    """The database read, each store's mapping version, and mapping files that do not load now."""
    click.echo(f"database: {escape(shown_database(config.database_url))}")
    for store in config.stores.values():
        if store_id is not None and store.id != store_id:
            continue
        problems = config.mapping_problems.get(store.id)
        if problems:
            click.echo(f"store {escape(store.id)}: the mapping files do not load as they are now ({len(problems)} "
                       "problem(s)); a running service keeps using the version it last loaded until they do "
                       "(the MAPPING column shows the version each order was tried with; "
                       "`jne-integration check` lists the same):")
            for problem in problems:
                click.echo(f"  ! {escape(problem)}")
        else:
            click.echo(f"store {escape(store.id)}: mapping {escape(store.mapping_path.name)} version "
                       f"{getattr(store.mapping, 'version', '') or '-'}")


def _cell(row: dict[str, Any], column: str) -> str:
    if column == "order":
        value = row.get("order_number") or row.get("order")
    elif column == "mapping":
        value = row.get("mapping_version")
    elif column == "updated_at":
        value = (row.get("updated_at") or "")[:19].replace("T", " ") or None
    else:
        value = row.get(column)
    return escape(value) if value is not None and value != "" else "-"


def print_table(rows: list[dict[str, Any]]) -> None:
    """The shipments as a table, each with its problems or skip reason below it."""
    if not rows:
        click.echo("no shipments")
        return
    table = [[_cell(r, c) for c in COLUMNS] for r in rows]
    heads = [HEADINGS.get(c, c.upper()) for c in COLUMNS]
    widths = [max(len(h), *(len(t[i]) for t in table)) for i, h in enumerate(heads)]
    click.echo("  ".join(h.ljust(w) for h, w in zip(heads, widths, strict=True)).rstrip())
    for row, cells in zip(rows, table, strict=True):
        click.echo("  ".join(v.ljust(w) for v, w in zip(cells, widths, strict=True)).rstrip())
        problems = {**(row.get("errors") or {}), **(row.get("writeback_errors") or {})}  # the shop's refusal too
        for field, messages in problems.items():
            for message in messages:
                click.echo(f"    ! {escape(field)}: {escape(message)}")
        if row.get("status") == "skipped" and row.get("skip_reason"):
            click.echo(f"    - {escape(row['skip_reason'])}")


def fill_expected_order_ids(engine: Engine, config: Config, rows: list[dict[str, Any]]) -> None:
    """Give queued rows the worker has not mapped yet the ORDER_ID the mapping as it is now gives them."""
    from integration import ledger, pipeline

    wanted = {(r["store"], r["order"]): r for r in rows if r.get("status") == "queued" and not r.get("order_id")}
    if not wanted:
        return
    s, d = ledger.shipments, ledger.deliveries
    query = (sa.select(s.c.store_id, s.c.order_ref, s.c.topic, d.c.body, d.c.received_at)
             .join(d, d.c.id == s.c.delivery_id)
             .where(s.c.status == "queued", s.c.jne_order_id.is_(None),
                    s.c.store_id.in_({store for store, _ in wanted}))
             .order_by(s.c.id).limit(EXPECTED_LIMIT))
    with engine.connect() as conn:
        found = conn.execute(query).all()
    now = datetime.now().astimezone()
    for store_id, order_ref, topic, body, received_at in found:
        row = wanted.get((store_id, order_ref))
        store = config.stores.get(store_id)
        if row is None or store is None or store.mapping is None:
            continue
        try:
            order = json.loads(bytes(body))
        except ValueError:
            continue
        if not isinstance(order, dict):
            continue
        result = pipeline.prepare(store, topic, order, now, received_at)
        order_id = result.fields.get("ORDER_ID")
        if result.book and order_id:
            row["order_id"] = order_id
