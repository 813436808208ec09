"""The store owner's commands: ``check`` the files, ``preview`` an order, read ``status``, ``replay``."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click

from integration.cli import config_option, load_config_or_exit, main
from integration.problems import render
from integration.vocabulary import REPLAYABLE, ShipmentStatus

DEFAULT_TOPIC = {"shopify": "orders/create", "woocommerce": "order.created"}

@main.command()
@config_option
@click.pass_context
def check(ctx: click.Context, config_path: str | None) -> None:
    """Check the configuration, every mapping and every lookup table; exit 1 with messages."""
    config = load_config_or_exit(ctx, config_path)
    where = config.path or "built-in demo configuration"
    click.echo(f"{where}: ok")
    for store in config.stores.values():
        click.echo(f"  store {store.id}: {store.platform} {store.shop}, mapping {store.mapping_path}: ok")


def _read_order(path: str, topic: str | None, platform: str) -> tuple[Any, str]:
    """Read an order file: the raw webhook body, or a fixture {"topic", "order"} wrapping it."""
    raw = Path(path).read_bytes()
    try:
        doc = json.loads(raw)
    except ValueError as exc:
        raise click.BadParameter(f"{path} is not JSON: {exc}", param_hint="ORDER.json") from None
    if isinstance(doc, dict) and isinstance(doc.get("order"), dict) and "id" not in doc:
        return doc["order"], topic or doc.get("topic") or DEFAULT_TOPIC[platform]
    return doc, topic or DEFAULT_TOPIC[platform]


def _parse_now(value: str | None, tz: str) -> datetime:
    if not value:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not ISO-8601 (e.g. 2025-03-14T10:21:33+07:00)",
                                 param_hint="--now") from None
    # A time without offset means the pickup's own clock: that is what a store owner reads.
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(tz))


@main.command()
@config_option
@click.option("--store", "store_id", required=True, help="Store id from integration.yaml.")
@click.option("--topic", default=None, help="Webhook topic (default: the platform's order-created topic).")
@click.option("--now", "now_text", default=None, help="Clock for the pickup slot, ISO-8601.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.argument("order_file", metavar="ORDER.json", type=click.Path(exists=True, dir_okay=False))
@click.pass_context
def preview(ctx: click.Context, config_path: str | None, store_id: str, topic: str | None,
            now_text: str | None, as_json: bool, order_file: str) -> None:
    """Show the JNE booking an order would produce (no network, no ledger)."""
    from integration.pipeline import prepare

    config = load_config_or_exit(ctx, config_path)
    store = config.stores.get(store_id)
    if store is None:
        raise click.BadParameter(f"no store {store_id!r}; known: {', '.join(config.stores)}",
                                 param_hint="--store")
    order, topic = _read_order(order_file, topic, store.platform)
    now = _parse_now(now_text, store.facts.get("pickup", {}).get("timezone", "Asia/Jakarta"))
    result = prepare(store, topic, order, now)
    outcome = "skip" if not result.book else "needs_attention" if result.problems else "book"
    errors = result.messages(config.language)
    skip_reason = render(result.skip, config.language) if result.skip is not None else result.skip_reason
    if as_json:
        # The contract's keys first; outcome and the problems as data (codes, rule, line) beside them.
        click.echo(json.dumps({"store": store_id, "book": result.book, "skip_reason": skip_reason,
                               "fields": result.fields, "errors": errors, "outcome": outcome,
                               "topic": topic, "problems": [p.as_dict() for p in result.problems]},
                              ensure_ascii=False, indent=2))
    else:
        _print_preview(store_id, topic, outcome, skip_reason, result.fields, errors)
    ctx.exit(1 if outcome == "needs_attention" else 0)


def _print_preview(store_id: str, topic: str, outcome: str, skip_reason: str | None,
                   fields: dict[str, str], errors: dict[str, list[str]]) -> None:
    verdict = {"book": "would be booked", "needs_attention": "needs attention"}.get(outcome, f"skipped: {skip_reason}")
    click.echo(f"store {store_id}, topic {topic}: {verdict}")
    from integration.jne.fields import FIELD_NAMES

    names = [n for n in FIELD_NAMES if n in fields or n in errors]
    names += [n for n in errors if n not in names]
    width = max([len(n) for n in names] + [5])
    click.echo(f"{'FIELD'.ljust(width)}  VALUE")
    for name in names:
        click.echo(f"{name.ljust(width)}  {fields.get(name, '')}")
        for message in errors.get(name, []):
            click.echo(f"{''.ljust(width)}  ! {message}")


def _shipments_table(rows: list[dict[str, Any]]) -> None:
    if not rows:
        click.echo("no shipments")
        return
    cols = ["store", "order", "order_id", "status", "cnote", "writeback", "attempts", "updated_at"]
    table = [[str(r.get(c) if r.get(c) is not None else "-") for c in cols] for r in rows]
    widths = [max(len(c), *(len(t[i]) for t in table)) for i, c in enumerate(cols)]
    click.echo("  ".join(c.upper().ljust(w) for c, w in zip(cols, widths, strict=True)))
    for row, t in zip(rows, table, strict=True):
        click.echo("  ".join(v.ljust(w) for v, w in zip(t, widths, strict=True)))
        problems = {**(row.get("errors") or {}), **(row.get("writeback_errors") or {})}  # the shop's refusal too
        for field, messages in problems.items():
            for message in messages:
                click.echo(f"    ! {field}: {message}")
        if row.get("status") == "skipped" and row.get("skip_reason"):
            click.echo(f"    - {row['skip_reason']}")


@main.command()
@config_option
@click.option("--store", "store_id", default=None)
@click.option("--status", "status_", default=None,
              type=click.Choice([s.value for s in ShipmentStatus]))
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def status(ctx: click.Context, config_path: str | None, store_id: str | None, status_: str | None,
           as_json: bool) -> None:
    """List shipments and what happened to them."""
    from integration import ledger

    config = load_config_or_exit(ctx, config_path)
    engine = ledger.make_engine(config.database_url)
    ledger.ensure_schema(engine)
    from integration.booking.writeback import writeback_stores

    rows = ledger.list_shipments(engine, store=store_id, status=status_,
                                 writeback_stores=set(writeback_stores(config)))
    if as_json:
        # the contract's keys, then what a person also asks: why skipped, the shop's own number,
        # and what the shop said about the write-back
        keys = ("store", "order", "order_id", "status", "cnote", "attempts", "errors", "updated_at",
                "writeback", "skip_reason", "order_number", "writeback_errors")
        click.echo(json.dumps([{k: r.get(k) for k in keys} for r in rows], ensure_ascii=False, indent=2))
    else:
        _shipments_table(rows)


@main.command()
@config_option
@click.option("--store", "store_id", default=None)
@click.option("--status", "status_", default=None,
              type=click.Choice([s.value for s in REPLAYABLE]))
@click.argument("order", required=False)
@click.pass_context
def replay(ctx: click.Context, config_path: str | None, store_id: str | None, status_: str | None,
           order: str | None) -> None:
    """Queue an order again after a fix: one ORDER of --store, or every order with --status."""
    from integration import ledger

    if bool(order) == bool(status_):
        raise click.UsageError("give either --store S ORDER, or --status X [--store S]")
    if order and not store_id:
        raise click.UsageError("replaying one order needs --store")
    config = load_config_or_exit(ctx, config_path)
    engine = ledger.make_engine(config.database_url)
    ledger.ensure_schema(engine)
    if order:
        try:
            row = ledger.replay(engine, store_id, order)
        except ledger.ReplayError as exc:
            click.echo(exc.reason, err=True)
            ctx.exit(1)
        more = row.get("requeued", 1) - 1
        also = f" and {more} more of the same JNE account (its block is lifted)" if more > 0 else ""
        click.echo(f"queued {store_id} {row.get('order_number') or row.get('order')}{also}")
    else:
        count = ledger.replay_status(engine, status_, store=store_id)
        click.echo(f"queued {count} shipment(s) that were {status_}")
