"""The `jne-integration` command: serve, worker, sandbox, check, preview, status, replay, db upgrade.

Every command takes ``--config PATH`` (before or after the command name); without it the file is
``$JNE_INTEGRATION_CONFIG`` or ``./integration.yaml``, else the built-in demo. Problems a person must
fix are printed as plain messages with exit status 1 or 2, never as tracebacks.
"""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click

from integration.errors import ConfigError

DEFAULT_TOPIC = {"shopify": "orders/create", "woocommerce": "order.created"}

config_option = click.option(
    "--config", "config_path", type=click.Path(dir_okay=False), default=None,
    help="integration.yaml to use (default: $JNE_INTEGRATION_CONFIG, ./integration.yaml, else the demo).")


def _config_path(ctx: click.Context, given: str | None) -> str | None:
    return given or (ctx.find_root().obj or {}).get("config_path")


def _load(ctx: click.Context, given: str | None):
    """Load the configuration or exit 1 with every problem listed."""
    from integration.config import load_config

    try:
        return load_config(_config_path(ctx, given))
    except ConfigError as exc:
        click.echo("configuration problems:", err=True)
        for line in exc.problems:
            click.echo(f"  - {line}", err=True)
        ctx.exit(1)


def _setup_logging(config: Any, level: int = logging.INFO) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)  # migration chatter is not news
    try:
        from integration.logging_setup import install_redaction
    except ImportError:  # pragma: no cover - older trees
        return
    install_redaction(config.secrets())


@click.group()
@config_option
@click.pass_context
def main(ctx: click.Context, config_path: str | None) -> None:
    """Book JNE pickups for Shopify and WooCommerce orders, exactly once."""
    ctx.ensure_object(dict)
    ctx.obj["config_path"] = config_path


@main.command()
@config_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.pass_context
def serve(ctx: click.Context, config_path: str | None, host: str, port: int) -> None:
    """Web receiver and booking worker in one process (the embedded default)."""
    from werkzeug.serving import make_server

    from integration.app import create_app
    from integration.state import AppState
    from integration.worker import Worker, start_embedded_sandbox

    config = _load(ctx, config_path)
    _setup_logging(config)
    config, sandbox = start_embedded_sandbox(config)
    app = create_app(config)
    engine = AppState.of(app).engine
    stop = threading.Event()
    worker = Worker(config, engine)
    worker_thread = threading.Thread(target=worker.run, args=(stop,), name="worker", daemon=True)
    worker_thread.start()
    server = make_server(host, port, app, threaded=True)
    where = f"http://{host}:{server.server_port}"
    click.echo(f"jne-integration listening on {where} (stores: {', '.join(config.stores)})")
    if sandbox is not None:
        click.echo(f"embedded sandbox JNE at {sandbox.url}/pickupcashless")
    if config.is_demo:
        click.echo("demo mode: no integration.yaml; POST signed deliveries to "
                   f"{where}/webhooks/shopify or {where}/webhooks/woocommerce")
    # SIGTERM (a process manager stopping us) ends the server loop like Ctrl-C does, so the worker
    # below gets to finish and record the JNE calls it has in flight.
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown, daemon=True).start())
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        click.echo("stopping: letting in-flight bookings finish")
        stop.set()
        server.server_close()
        worker_thread.join(timeout=60)
        if sandbox is not None:
            sandbox.stop()


@main.command()
@config_option
@click.option("--once", is_flag=True, help="Book what is due now, then exit.")
@click.option("--concurrency", type=click.IntRange(1, 256), default=None,
              help="Concurrent JNE calls (default from the config: 8).")
@click.pass_context
def worker(ctx: click.Context, config_path: str | None, once: bool, concurrency: int | None) -> None:
    """The booking worker (the Procfile's worker)."""
    from dataclasses import replace

    from integration import ledger
    from integration.worker import Worker, start_embedded_sandbox

    config = _load(ctx, config_path)
    _setup_logging(config)
    if concurrency:
        config = replace(config, worker=replace(config.worker, concurrency=concurrency))
    config, sandbox = start_embedded_sandbox(config)
    engine = ledger.make_engine(config.database_url)
    ledger.ensure_schema(engine)
    runner = Worker(config, engine)
    try:
        if once:
            done = runner.run_once()
            click.echo(f"processed {done} shipment(s)")
        else:
            stop = threading.Event()
            runner.install_signal_handlers(stop)
            runner.run(stop)
    finally:
        if sandbox is not None:
            sandbox.stop()


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8001, show_default=True, type=int)
def sandbox(host: str, port: int) -> None:
    """A local JNE stand-in that answers as JNE's document says (POST /pickupcashless)."""
    from werkzeug.serving import make_server

    from integration.jne.sandbox import create_sandbox_app

    server = make_server(host, port, create_sandbox_app(), threaded=True)
    click.echo(f"sandbox JNE at http://{host}:{server.server_port}/pickupcashless")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


@main.command()
@config_option
@click.pass_context
def check(ctx: click.Context, config_path: str | None) -> None:
    """Check the configuration, every mapping and every lookup table; exit 1 with messages."""
    config = _load(ctx, config_path)
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

    config = _load(ctx, config_path)
    store = config.stores.get(store_id)
    if store is None:
        raise click.BadParameter(f"no store {store_id!r}; known: {', '.join(config.stores)}",
                                 param_hint="--store")
    order, topic = _read_order(order_file, topic, store.platform)
    now = _parse_now(now_text, store.facts.get("pickup", {}).get("timezone", "Asia/Jakarta"))
    result = prepare(store, topic, order, now)
    needs_attention = result.book and bool(result.errors)
    if as_json:
        click.echo(json.dumps({"store": store_id, "book": result.book, "skip_reason": result.skip_reason,
                               "fields": result.fields, "errors": result.errors},
                              ensure_ascii=False, indent=2))
    else:
        _print_preview(store_id, topic, result)
    ctx.exit(1 if needs_attention else 0)


def _print_preview(store_id: str, topic: str, result: Any) -> None:
    verdict = ("would be booked" if result.book and not result.errors else
               "needs attention" if result.book else f"skipped: {result.skip_reason}")
    click.echo(f"store {store_id}, topic {topic}: {verdict}")
    from integration.jne.fields import FIELD_NAMES

    names = [n for n in FIELD_NAMES if n in result.fields or n in result.errors]
    names += [n for n in result.errors if n not in names]
    width = max([len(n) for n in names] + [5])
    click.echo(f"{'FIELD'.ljust(width)}  VALUE")
    for name in names:
        value = result.fields.get(name, "")
        click.echo(f"{name.ljust(width)}  {value}")
        for message in result.errors.get(name, []):
            click.echo(f"{''.ljust(width)}  ! {message}")


def _shipments_table(rows: list[dict[str, Any]]) -> None:
    if not rows:
        click.echo("no shipments")
        return
    cols = ["store", "order", "order_id", "status", "cnote", "attempts", "updated_at"]
    table = [[str(r.get(c) if r.get(c) is not None else "-") for c in cols] for r in rows]
    widths = [max(len(c), *(len(t[i]) for t in table)) for i, c in enumerate(cols)]
    click.echo("  ".join(c.upper().ljust(w) for c, w in zip(cols, widths, strict=True)))
    for row, t in zip(rows, table, strict=True):
        click.echo("  ".join(v.ljust(w) for v, w in zip(t, widths, strict=True)))
        for field, messages in (row.get("errors") or {}).items():
            for message in messages:
                click.echo(f"    ! {field}: {message}")
        if row.get("status") == "skipped" and row.get("skip_reason"):
            click.echo(f"    - {row['skip_reason']}")


@main.command()
@config_option
@click.option("--store", "store_id", default=None)
@click.option("--status", "status_", default=None,
              type=click.Choice(["queued", "booked", "needs_attention", "blocked", "failed", "skipped"]))
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def status(ctx: click.Context, config_path: str | None, store_id: str | None, status_: str | None,
           as_json: bool) -> None:
    """List shipments and what happened to them."""
    from integration import ledger

    config = _load(ctx, config_path)
    engine = ledger.make_engine(config.database_url)
    ledger.ensure_schema(engine)
    rows = ledger.list_shipments(engine, store=store_id, status=status_)
    if as_json:
        # the contract's keys, then what a person also asks: why skipped, the shop's own number
        keys = ("store", "order", "order_id", "status", "cnote", "attempts", "errors", "updated_at",
                "skip_reason", "order_number")
        click.echo(json.dumps([{k: r.get(k) for k in keys} for r in rows], ensure_ascii=False, indent=2))
    else:
        _shipments_table(rows)


@main.command()
@config_option
@click.option("--store", "store_id", default=None)
@click.option("--status", "status_", default=None,
              type=click.Choice(["needs_attention", "blocked", "failed", "skipped", "queued"]))
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
    config = _load(ctx, config_path)
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


@main.group()
def db() -> None:
    """Database maintenance."""


@db.command()
@config_option
@click.pass_context
def upgrade(ctx: click.Context, config_path: str | None) -> None:
    """Create or upgrade the ledger tables (Alembic migrations)."""
    from integration import ledger

    config = _load(ctx, config_path)
    ledger.upgrade(ledger.make_engine(config.database_url))
    click.echo("database is at the newest revision")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
