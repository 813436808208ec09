"""The shop's own API from the command line: ``reconcile``, ``webhooks install|list``, ``writeback retry``.

Every shop answer is shown in the shop's own words with our reason beside it, secrets masked; a
problem a person must fix exits 1 with a message, never a traceback.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import click

from integration.cli import config_option, load_config_or_exit, main, setup_logging
from integration.config import EMBEDDED_SHOP, Config, Store


def _api_store(ctx: click.Context, config: Config, store_id: str) -> Store:
    """The store named by --store, which must have an ``api:`` block reachable from here."""
    store = config.stores.get(store_id)
    if store is None:
        raise click.BadParameter(f"no store {store_id!r}; known: {', '.join(config.stores)}", param_hint="--store")
    if store.shop_api is None or store.shop_api.api is None:
        click.echo(f"store {store_id} has no api: block; add stores.{store_id}.api (url and credentials) to "
                   "integration.yaml (README: \"Connecting the shop's own API\")", err=True)
        ctx.exit(1)
    if store.shop_api.api.url == EMBEDDED_SHOP:
        click.echo(f"store {store_id} writes to the demo's embedded shop stand-in, which lives inside "
                   "`jne-integration serve`; there is no shop to reach from this command", err=True)
        ctx.exit(1)
    return store


def _parse_since(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not ISO-8601 (e.g. 2025-03-14T00:00:00+07:00)",
                                 param_hint="--since") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@main.command()
@config_option
@click.option("--store", "store_id", default=None, help="One store (default: every store with an api: block).")
@click.option("--since", "since_text", default=None,
              help="Look at orders updated since then, ISO-8601 (default: where the last pass ended).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per store.")
@click.pass_context
def reconcile(ctx: click.Context, config_path: str | None, store_id: str | None, since_text: str | None,
              as_json: bool) -> None:
    """Take in the orders the webhooks missed: every order the ledger lacks or holds older."""
    from integration import ledger
    from integration.booking.reconcile import reconcile_store, reconcile_stores
    from integration.shop.errors import ShopError

    config = load_config_or_exit(ctx, config_path)
    setup_logging(config)
    since = _parse_since(since_text)
    if store_id is not None:
        stores = [_api_store(ctx, config, store_id)]
    else:
        stores = [s for s in reconcile_stores(config).values() if s.shop_api.api.url != EMBEDDED_SHOP]
        if not stores:
            click.echo("no store has an api: block; nothing to reconcile", err=True)
            ctx.exit(1)
    engine = ledger.make_engine(config.database_url)
    ledger.ensure_schema(engine)
    failed = False
    for store in stores:
        try:
            result = reconcile_store(config, engine, store, since=since)
        except ShopError as exc:
            failed = True
            click.echo(f"{store.id}: reconcile failed, nothing was skipped (the next pass starts at the same "
                       f"place): {exc}", err=True)
            continue
        outcomes = dict(result.outcomes)
        if as_json:
            click.echo(json.dumps({"store": store.id, "since": result.since.isoformat(), "pages": result.pages,
                                   "seen": result.seen, "taken_in": result.ingested, "outcomes": outcomes,
                                   "calls": result.calls, "next_since": result.next_cursor.isoformat()}))
        else:
            taken = ", ".join(f"{n} {k}" for k, n in sorted(outcomes.items())) or "none"
            click.echo(f"{store.id}: {result.seen} order(s) changed since {result.since.isoformat()}, "
                       f"{result.ingested} taken in ({taken}); next pass from {result.next_cursor.isoformat()}")
    ctx.exit(1 if failed else 0)


@main.group()
def webhooks() -> None:
    """Subscribe a store's order webhooks to this service, or list them."""


@webhooks.command("install")
@config_option
@click.option("--store", "store_id", required=True, help="Store id from integration.yaml.")
@click.option("--url", "public_base", required=True,
              help="This service's public base URL (https://...); deliveries go to URL/webhooks/<platform>.")
@click.pass_context
def webhooks_install(ctx: click.Context, config_path: str | None, store_id: str, public_base: str) -> None:
    """Subscribe the order topics; nothing is created twice and a disabled WooCommerce webhook is re-enabled."""
    from integration.shop.errors import ShopError
    from integration.shop.settings import client_for
    from integration.shop.webhooks import install

    config = load_config_or_exit(ctx, config_path)
    setup_logging(config)
    store = _api_store(ctx, config, store_id)
    client = client_for(store.platform, store.shop_api.api)
    try:
        report = install(client, public_base, webhook_secret=store.webhook_secret,
                         client_secret=store.shop_api.api.client_secret)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--url") from None
    except ShopError as exc:
        click.echo(f"{store_id}: the shop refused: {exc}", err=True)
        ctx.exit(1)
    finally:
        client.close()
    click.echo(f"{store_id}: order webhooks deliver to {report.url}")
    for label, topics in (("created", report.created), ("re-enabled", report.reenabled), ("kept", report.kept)):
        if topics:
            click.echo(f"  {label}: {', '.join(topics)}")
    for message in report.messages:
        click.echo(f"  note: {message}")


@webhooks.command("list")
@config_option
@click.option("--store", "store_id", required=True, help="Store id from integration.yaml.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def webhooks_list(ctx: click.Context, config_path: str | None, store_id: str, as_json: bool) -> None:
    """Show the store's webhooks as the shop lists them."""
    from integration.shop.errors import ShopError
    from integration.shop.settings import client_for
    from integration.shop.webhooks import list_webhooks

    config = load_config_or_exit(ctx, config_path)
    setup_logging(config)
    store = _api_store(ctx, config, store_id)
    client = client_for(store.platform, store.shop_api.api)
    try:
        rows = list_webhooks(client)
    except ShopError as exc:
        click.echo(f"{store_id}: the shop refused: {exc}", err=True)
        ctx.exit(1)
    finally:
        client.close()
    if as_json:
        click.echo(json.dumps([row.__dict__ for row in rows], indent=2))
        return
    if not rows:
        click.echo(f"{store_id}: no webhooks")
        return
    width = max(len(r.topic) for r in rows)
    for row in rows:
        click.echo(f"{row.topic.ljust(width)}  {row.status:<8}  {row.url}  (id {row.id})")


@main.group()
def writeback() -> None:
    """The cnote written back to the shop as tracking."""


@writeback.command("retry")
@config_option
@click.option("--store", "store_id", required=True, help="Store id from integration.yaml.")
@click.argument("order")
@click.pass_context
def writeback_retry(ctx: click.Context, config_path: str | None, store_id: str, order: str) -> None:
    """Write a booked order's cnote back again after the shop refused it (a fresh retry budget)."""
    from integration import ledger

    config = load_config_or_exit(ctx, config_path)
    engine = ledger.make_engine(config.database_url)
    ledger.ensure_schema(engine)
    try:
        row = ledger.writeback.retry(engine, store_id, order, ledger.utcnow())
    except ledger.ReplayError as exc:
        click.echo(exc.reason, err=True)
        ctx.exit(1)
    click.echo(f"queued the write-back of cnote {row['cnote']} to {store_id} {row['order_number'] or row['order']}")
