"""The long-running commands: ``serve`` (web + worker), ``worker``, and the local JNE ``sandbox``."""

from __future__ import annotations

import signal
import threading

import click

from integration.cli import config_option, load_config_or_exit, main, setup_logging


@main.command()
@config_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.pass_context
def serve(ctx: click.Context, config_path: str | None, host: str, port: int) -> None:
    """Web receiver and booking worker in one process (the embedded default)."""
    from werkzeug.serving import make_server

    from integration.app import create_app
    from integration.booking.worker import Worker
    from integration.cli.dashboard import demo_dashboard
    from integration.embedded import start_embedded_sandbox, start_embedded_shops
    from integration.state import AppState

    config = load_config_or_exit(ctx, config_path)
    setup_logging(config)
    config, sandbox = start_embedded_sandbox(config)
    config, shops = start_embedded_shops(config)
    config, dashboard_lines = demo_dashboard(config, host)
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
    for line in dashboard_lines:
        click.echo(line.replace("{url}", where))
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
        shops.stop()


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
    from integration.booking.worker import Worker
    from integration.embedded import start_embedded_sandbox, start_embedded_shops

    config = load_config_or_exit(ctx, config_path)
    setup_logging(config)
    if concurrency:
        config = replace(config, worker=replace(config.worker, concurrency=concurrency))
    config, sandbox = start_embedded_sandbox(config)
    config, shops = start_embedded_shops(config)
    # No ping per pool checkout (four per booking on PostgreSQL): a connection the server dropped
    # fails one statement, SQLAlchemy then replaces the whole pool, and the worker retries that
    # write (a booking's record) or the shipment (anything before the call) as after any outage.
    engine = ledger.make_engine(config.database_url, pool_pre_ping=False)
    ledger.ensure_schema(engine)
    runner = Worker(config, engine)
    try:
        if once:
            done = runner.run_once()
            click.echo(f"processed {done} shipment(s)")
            from integration.booking.writeback import WritebackLoop

            written = WritebackLoop(config, engine, runner.worker_id).run_once()
            if written:
                click.echo(f"wrote back {written} cnote(s) to the shops")
        else:
            stop = threading.Event()
            runner.install_signal_handlers(stop)
            runner.run(stop)
    finally:
        if sandbox is not None:
            sandbox.stop()
        shops.stop()


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
