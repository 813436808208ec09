"""``jne-integration destinations sync``: fetch the JNE accounts' destination and origin lists.

Exit 0 when every account was synced, 1 with the reasons when one was not (nothing of that account
is changed: bad credentials, JNE unreachable, a list that shrank by more than a tenth without
``--force``). The api_key is never printed: the messages come from
``integration.destinations.sync``, which masks it in everything it quotes.
"""

from __future__ import annotations

import click

from integration.cli import config_option, load_config_or_exit, main, setup_logging


@main.group()
def destinations() -> None:
    """JNE's destination list, which every address resolves against."""


@destinations.command("sync")
@config_option
@click.option("--store", "store_id", default=None, help="Sync only this store's JNE account (default: every account).")
@click.option("--force", is_flag=True, help="Store the new list even when it drops more than a tenth of the codes.")
@click.pass_context
def sync(ctx: click.Context, config_path: str | None, store_id: str | None, force: bool) -> None:
    """Fetch and store the destination and origin lists of the store's (or every) JNE account."""
    import logging

    from integration.destinations.sync import SyncError, describe, destinations_sync

    config = load_config_or_exit(ctx, config_path)
    setup_logging(config, logging.ERROR)  # the lines below say what happened, once
    try:
        summary = destinations_sync(config, store_id, force)
    except SyncError as exc:
        click.echo(exc.reason, err=True)
        ctx.exit(1)
    for line in describe({"synced": summary["synced"]}):
        click.echo(line)
    for line in describe({"failed": summary["failed"]}):
        click.echo(line, err=True)
    if summary["failed"]:
        ctx.exit(1)
