"""The store owner's commands: ``check`` the files, ``preview`` an order, read ``status``, ``replay``."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import click

from integration.cli import config_option, load_config_or_exit, main
from integration.cli.order_file import read_order_file
from integration.problems import Problem, render
from integration.terminal import escape
from integration.vocabulary import REPLAYABLE, ShipmentStatus
from integration.webhooks.order_body import NAMES, PLATFORM_MISMATCH, platform_of


@main.command()
@config_option
@click.pass_context
def check(ctx: click.Context, config_path: str | None) -> None:
    """Check the configuration, every mapping and every lookup table; exit 1 with messages."""
    config = load_config_or_exit(ctx, config_path)
    where = config.path or "built-in demo configuration"
    click.echo(f"{escape(where)}: ok")
    for store in config.stores.values():
        version = getattr(store.mapping, "version", "") or "-"
        click.echo(f"  store {escape(store.id)}: {store.platform} {escape(store.shop)}, mapping "
                   f"{escape(store.mapping_path)}: ok (version {version})")
        for warning in getattr(store.mapping, "warnings", ()):  # loads, but may grow without bound
            click.echo(f"    {escape(warning)}")
    _note_sandbox_credentials(config)


def _note_sandbox_credentials(config: Any) -> None:
    """Say so when an account books at the embedded sandbox with credentials it will refuse."""
    from integration.config import EMBEDDED_SANDBOX
    from integration.jne.sandbox import DEFAULT_ACCOUNTS

    for account in config.accounts().values():
        if account.url == EMBEDDED_SANDBOX and DEFAULT_ACCOUNTS.get(account.username) != account.api_key:
            users = ", ".join(DEFAULT_ACCOUNTS)
            click.echo(f"note: JNE account {escape(account.username)} books at the embedded sandbox, which accepts "
                       f"only the test account of JNE's document (username {users}, api_key as in README.md, "
                       "\"Try your own store before going live\"); its orders would be blocked")


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
@click.option("--topic", default=None,
              help="Webhook topic (default: the file's, else the one that books the order on its platform).")
@click.option("--now", "now_text", default=None, help="Clock for the pickup slot, ISO-8601.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.argument("order_file", metavar="ORDER.json", type=click.Path(exists=True, dir_okay=False))
@click.pass_context
def preview(ctx: click.Context, config_path: str | None, store_id: str, topic: str | None,
            now_text: str | None, as_json: bool, order_file: str) -> None:
    """Show the JNE booking an order would produce (no network, no ledger)."""
    from integration.mapping import MappingResult
    from integration.mapping.rules.pickup import holiday_notes
    from integration.pipeline import prepare

    config = load_config_or_exit(ctx, config_path)
    store = config.stores.get(store_id)
    if store is None:
        raise click.BadParameter(f"no store {store_id!r}; known: {', '.join(config.stores)}",
                                 param_hint="--store")
    read = read_order_file(order_file, topic, store.platform)
    order, topic = read.order, read.topic
    now = _parse_now(now_text, store.facts.get("pickup", {}).get("timezone", "Asia/Jakarta"))
    found, signs = platform_of(order)
    if found is not None and found != store.platform:
        # The other platform's order under this store's mapping would only report missing fields.
        mismatch = Problem("order", PLATFORM_MISMATCH, {"found": NAMES[found], "signs": ", ".join(signs[:3]),
                                                        "store": store_id, "platform": NAMES[store.platform]})
        result = MappingResult(True, None, {}, [mismatch])
    else:
        result = prepare(store, topic, order, now)
    outcome = "skip" if not result.book else "needs_attention" if result.problems else "book"
    errors = result.messages(config.language)
    skip_reason = render(result.skip, config.language) if result.skip is not None else result.skip_reason
    notes = holiday_notes(store.facts.get("pickup"), now) if result.fields.get("PICKUP_DATE") else []
    if as_json:
        # The contract's keys first; outcome and the problems as data (codes, rule, line) beside them.
        click.echo(json.dumps({"store": store_id, "book": result.book, "skip_reason": skip_reason,
                               "fields": result.fields, "errors": errors, "outcome": outcome,
                               "topic": topic, "topic_assumed": read.topic_assumed,
                               "problems": [p.as_dict() for p in result.problems],
                               "mapping_version": getattr(result, "mapping_version", None) or None,
                               "pickup_notes": notes},
                              ensure_ascii=False, indent=2))
    else:
        if read.topic_assumed:
            click.echo(f"topic {topic} assumed: the file does not say, and {read.topic_reason} "
                       "(--topic to choose another)")
        _print_preview(store_id, topic, outcome, skip_reason, result.fields, errors, notes)
    ctx.exit(1 if outcome == "needs_attention" else 0)


def _print_preview(store_id: str, topic: str, outcome: str, skip_reason: str | None,
                   fields: dict[str, str], errors: dict[str, list[str]], notes: list[str] = ()) -> None:
    verdict = {"book": "would be booked", "needs_attention": "needs attention"}.get(
        outcome, f"skipped: {escape(skip_reason or '')}")
    click.echo(f"store {escape(store_id)}, topic {escape(topic)}: {verdict}")
    for note in notes:  # the pickup day and the holidays it passed over
        click.echo(f"  {escape(note)}")
    from integration.jne.fields import FIELD_NAMES

    names = [n for n in FIELD_NAMES if n in fields or n in errors]
    names += [n for n in errors if n not in names]
    width = max([len(n) for n in names] + [5])
    click.echo(f"{'FIELD'.ljust(width)}  VALUE")
    for name in names:
        click.echo(f"{escape(name).ljust(width)}  {escape(fields.get(name, ''))}")
        for message in errors.get(name, []):
            click.echo(f"{''.ljust(width)}  ! {escape(message)}")


@main.command()
@config_option
@click.option("--store", "store_id", default=None)
@click.option("--status", "status_", default=None,
              type=click.Choice([s.value for s in ShipmentStatus]))
@click.option("--customer", "customer", default=None,
              help="A customer's data request: everything held for this customer id (the shop's).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def status(ctx: click.Context, config_path: str | None, store_id: str | None, status_: str | None,
           customer: str | None, as_json: bool) -> None:
    """List shipments and what happened to them (the database read is named first)."""
    from integration import ledger
    from integration.cli import status_view

    # Lenient: an owner in the middle of a mapping edit still sees the ledger (and why it is stale).
    config = status_view.load_lenient(ctx, config_path)
    engine = ledger.make_engine(config.database_url)
    ledger.ensure_schema(engine)
    if customer is not None:
        from integration.cli.privacy import print_customer_data

        print_customer_data(ledger.retention.customer_data(engine, customer.strip(), store_id), as_json)
        return
    from integration.booking.writeback import writeback_stores

    rows = ledger.list_shipments(engine, store=store_id, status=status_,
                                 writeback_stores=set(writeback_stores(config)))
    status_view.fill_expected_order_ids(engine, config, rows)
    if as_json:
        # the contract's keys, then what a person also asks: why skipped, the shop's own number, the
        # mapping version it was tried with, the problems as data (codes, rule, line), and what the
        # shop said about the write-back
        keys = ("store", "order", "order_id", "status", "cnote", "attempts", "errors", "updated_at",
                "writeback", "skip_reason", "order_number", "mapping_version", "problems", "writeback_errors")
        click.echo(json.dumps([{k: r.get(k) for k in keys} for r in rows], ensure_ascii=False, indent=2))
    else:
        status_view.print_header(config, store_id)
        status_view.print_table(rows)


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
    from integration.cli import status_view

    # Lenient: replaying needs the ledger, not the mapping; one mid-edit is reported, not fatal.
    config = status_view.load_lenient(ctx, config_path)
    engine = ledger.make_engine(config.database_url)
    ledger.ensure_schema(engine)
    for broken in [s for s in config.mapping_problems if store_id in (None, s)]:
        click.echo(f"note: the mapping files of store {escape(broken)} do not load as they are now; the running "
                   "service maps with the version it last loaded until they do (`jne-integration check`)",
                   err=True)
    if order:
        try:
            row = ledger.replay(engine, store_id, order)
        except ledger.ReplayError as exc:
            click.echo(escape(exc.reason), err=True)
            ctx.exit(1)
        more = row.get("requeued", 1) - 1
        also = f" and {more} more of the same JNE account (its block is lifted)" if more > 0 else ""
        click.echo(f"queued {escape(store_id)} {escape(row.get('order_number') or row.get('order'))}{also}; "
                   "the running service maps it with the mapping files as they are now")
    else:
        count = ledger.replay_status(engine, status_, store=store_id)
        click.echo(f"queued {count} shipment(s) that were {status_}")
