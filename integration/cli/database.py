"""``db upgrade``: database maintenance."""

from __future__ import annotations

import click

from integration.cli import config_option, load_config_or_exit, main


@main.group()
def db() -> None:
    """Database maintenance."""


@db.command()
@config_option
@click.pass_context
def upgrade(ctx: click.Context, config_path: str | None) -> None:
    """Create or upgrade the ledger tables (Alembic migrations)."""
    from integration import ledger

    config = load_config_or_exit(ctx, config_path)
    ledger.upgrade(ledger.make_engine(config.database_url))
    click.echo("database is at the newest revision")
