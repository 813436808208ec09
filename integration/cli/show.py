"""``show``: one stored order as the shop sent it, the fields sent (or that would be), problems, attempts.

The ledger keeps every delivery's raw body, so an owner never needs their own copy of an order to
try a fix: ``show --save order.json`` (or ``order_json`` of ``show --json``) is the order exactly as
the shop sent it, ready for ``preview``. ``fields`` are those of the last call to JNE when there
was one, else those the mapping as it is now would send (``fields_from`` says which).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import sqlalchemy as sa

from integration.cli import config_option, main
from integration.jne.fields import FIELD_NAMES
from integration.terminal import escape

FROM_ATTEMPT, FROM_MAPPING = "sent", "mapping now"


def stored_order(engine: Any, store_id: str, order: str) -> tuple[dict[str, Any], Any] | None:
    """(the shipment as ``status`` shows it, its delivery row) for an order id, number or ORDER_ID."""
    from integration import ledger
    from integration.ledger.queries import find_row, shipment_dict

    with engine.connect() as conn:
        row = find_row(conn, store_id, order)
        if row is None:
            return None
        delivery = conn.execute(sa.select(ledger.deliveries).where(ledger.deliveries.c.id == row.delivery_id)).first()
    shipment = shipment_dict(row)
    shipment["topic"] = row.topic
    return shipment, delivery


def order_report(config: Any, engine: Any, store_id: str, order: str) -> dict[str, Any] | None:
    """The ``show --json`` object of one order, or None when the ledger has no such order."""
    from integration import ledger, pipeline

    found = stored_order(engine, store_id, order)
    if found is None:
        return None
    shipment, delivery = found
    order_json: Any = None
    if delivery is not None:
        try:
            order_json = json.loads(bytes(delivery.body))
        except ValueError:
            order_json = None
    attempts = ledger.attempts(engine, store_id, shipment["order"])
    sent = next((a for a in reversed(attempts) if a.get("request")), None)
    fields: dict[str, str] = {}
    fields_from = None
    if sent is not None:
        fields, fields_from = {k: str(v) for k, v in sent["request"].items()}, FROM_ATTEMPT
    else:
        store = config.stores.get(store_id)
        if store is not None and store.mapping is not None and isinstance(order_json, dict):
            received = delivery.received_at if delivery is not None else None
            result = pipeline.prepare(store, shipment["topic"], order_json, datetime.now(UTC), received)
            fields, fields_from = dict(result.fields), FROM_MAPPING
    return {
        "store": store_id, "order": shipment["order"], "order_number": shipment["order_number"],
        "status": shipment["status"], "order_json": order_json, "fields": fields,
        "errors": shipment["errors"], "attempts": attempts,
        # beyond the contract: what a person reading it also needs
        "topic": shipment["topic"], "order_id": shipment["order_id"], "cnote": shipment["cnote"],
        "skip_reason": shipment["skip_reason"], "mapping_version": shipment["mapping_version"],
        "fields_from": fields_from, "updated_at": shipment["updated_at"],
    }


@main.command()
@config_option
@click.option("--store", "store_id", required=True, help="Store id from integration.yaml.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--save", "save_to", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write the order as the shop sent it to this file (ready for `preview`).")
@click.argument("order")
@click.pass_context
def show(ctx: click.Context, config_path: str | None, store_id: str, as_json: bool, save_to: str | None,
         order: str) -> None:
    """One stored order: as the shop sent it, the fields sent or that would be, problems, attempts."""
    from integration import ledger
    from integration.cli.status_view import load_lenient

    config = load_lenient(ctx, config_path)  # a store mid-edit still shows its orders
    if store_id not in config.stores:
        raise click.BadParameter(f"no store {escape(store_id)!r}; known: {', '.join(config.stores)}",
                                 param_hint="--store")
    engine = ledger.make_engine(config.database_url)
    ledger.ensure_schema(engine)
    report = order_report(config, engine, store_id, order)
    if report is None:
        click.echo(f"no order {escape(order)!r} in store {escape(store_id)!r} (use the order id, the order "
                   "number or the JNE ORDER_ID that `jne-integration status` shows)", err=True)
        ctx.exit(1)
    assert report is not None
    if save_to:
        Path(save_to).write_text(json.dumps(report["order_json"], ensure_ascii=False, indent=2) + "\n",
                                 encoding="utf-8")
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
        return
    _print_report(report, save_to)


def _print_report(report: dict[str, Any], saved: str | None) -> None:
    def e(value: Any) -> str:
        return escape(value) if value not in (None, "") else "-"

    number = report["order_number"] or report["order"]
    click.echo(f"store {e(report['store'])}  order {e(number)} (id {e(report['order'])})  "
               f"topic {e(report['topic'])}")
    click.echo(f"status {e(report['status'])}  ORDER_ID {e(report['order_id'])}  cnote {e(report['cnote'])}  "
               f"attempts {len(report['attempts'])}  mapping {e(report['mapping_version'])}")
    if report["skip_reason"] and report["status"] == "skipped":
        click.echo(f"skipped: {e(report['skip_reason'])}")
    if report["errors"]:
        click.echo("problems:")
        for field, messages in report["errors"].items():
            for message in messages:
                click.echo(f"  ! {e(field)}: {e(message)}")
    fields = report["fields"]
    if fields:
        click.echo("fields sent to JNE (last call):" if report["fields_from"] == FROM_ATTEMPT
                   else "fields the mapping as it is now would send:")
        names = [n for n in FIELD_NAMES if n in fields] + [n for n in fields if n not in FIELD_NAMES]
        width = max(len(n) for n in names)
        for name in names:
            click.echo(f"  {e(name).ljust(width)}  {e(fields[name])}")
    if report["attempts"]:
        click.echo("attempts:")
        for attempt in report["attempts"]:
            click.echo(f"  {e(attempt['started_at'])}  {e(attempt['order_id'])}  {e(attempt['outcome'])}  "
                       f"HTTP {e(attempt['http_status'])}  {e(attempt['reason'])}")
    if report["order_json"] is None:
        click.echo("the stored delivery is not a JSON order")
    elif saved:
        click.echo(f"the order as the shop sent it is in {escape(saved)}; try a fix with: "
                   f"jne-integration preview --store {e(report['store'])} {escape(saved)}")
    else:
        # without "#": a shell reads "#1059" as the start of a comment
        click.echo(f"to get the order as the shop sent it: jne-integration show --store {e(report['store'])} "
                   f"{e(str(number).lstrip('#'))} --save order.json, then: jne-integration preview --store {e(report['store'])} "
                   "order.json")
