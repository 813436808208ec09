"""``prune``: erase personal data past retention (``--dry-run``: count it). See ``status --customer``
in ``owner`` for a customer's data request, and integration/webhooks/compliance.py for Shopify's.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import click

from integration.cli import config_option, load_config_or_exit, main


@main.command()
@config_option
@click.option("--dry-run", is_flag=True, help="Count what would be erased; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def prune(ctx: click.Context, config_path: str | None, dry_run: bool, as_json: bool) -> None:
    """Erase the personal data of orders settled more than retention.personal_days ago."""
    from integration import ledger
    from integration.privacy import passes

    config = load_config_or_exit(ctx, config_path)
    engine = ledger.make_engine(config.database_url)
    ledger.ensure_schema(engine)
    days = config.retention.personal_days
    now = ledger.utcnow()
    result = passes.prune(engine, days, config.language, now, dry_run=dry_run)
    report = result.report
    if as_json:
        click.echo(json.dumps({"dry_run": dry_run, "personal_days": days,
                               "settled_before": (now - timedelta(days=days)).isoformat(),
                               "orders": report.due if dry_run else report.erased,
                               "late_deliveries": report.late_deliveries, "deliveries": report.deliveries,
                               "requests_finished": result.requests_finished, "compacted": result.compacted},
                              indent=2))
        return
    before = (now - timedelta(days=days)).date().isoformat()
    if dry_run:
        click.echo(f"would erase the personal data of {report.due} order(s) settled before {before} "
                   f"(retention.personal_days: {days:g}) and of {report.late_deliveries} delivery(ies) that "
                   "arrived after their order's erasure; nothing was changed")
        return
    click.echo(f"erased the personal data of {report.erased} order(s) settled before {before} "
               f"(retention.personal_days: {days:g}): {report.deliveries} delivery(ies) rewritten, "
               f"{report.late_deliveries} of them arrived after their order's erasure")
    if result.requests_finished:
        click.echo(f"finished {result.requests_finished} privacy request(s) left from the web")
    if result.compacted:
        click.echo(result.compacted)


def print_customer_data(data: Any, as_json: bool) -> None:
    """Print what is held for a customer (``status --customer ID``): JSON, or a page a person reads.

    The human form passes every value through ``terminal.escape``: a name may hold control characters.
    """
    from integration.terminal import escape

    if as_json:
        click.echo(json.dumps(data.as_dict(), ensure_ascii=False, indent=2))
        return
    where = f" in store {escape(data.store)}" if data.store else ""
    if not data.orders:
        click.echo(f"nothing is held for customer {escape(data.customer)}{where}")
    for order in data.orders:
        click.echo(escape(f"{order['store']} order {order['order_number'] or order['order']} (ORDER_ID "
                          f"{order['order_id'] or '-'}): {order['status']}, cnote {order['cnote'] or '-'}"))
        if order["personal_data_erased_at"]:
            click.echo(f"  personal data erased {order['personal_data_erased_at']} ({order['erasure']})")
        for delivery in order["held"]["deliveries"]:
            click.echo(f"  as the shop sent it ({escape(delivery['topic'])}, {delivery['received_at']}):")
            for key, value in delivery["personal"].items():
                click.echo(f"    {escape(key)}: {escape(json.dumps(value, ensure_ascii=False))}")
        for sent in order["held"]["sent_to_jne"]:
            click.echo(f"  sent to JNE ({sent['started_at']}):")
            for key, value in sent["personal"].items():
                click.echo(f"    {key}: {escape(value)}")
    for request in data.requests:
        click.echo(f"request {request['kind']} received {request['received_at']}, "
                   f"{'done ' + request['done_at'] if request['done_at'] else 'pending'}")
