"""The `jne-integration` command: serve, worker, sandbox, check, preview, status, replay, db upgrade.

Every command takes ``--config PATH`` (before or after the command name); without it the file is
``$JNE_INTEGRATION_CONFIG`` or ``./integration.yaml``, else the built-in demo. Problems a person must
fix are printed as plain messages with exit status 1 or 2, never as tracebacks.

This module holds the group ``main``, the shared ``--config`` option and the config loading; each
module beside it adds the commands of one concern to ``main`` (``service``: serve, worker, sandbox;
``owner``: check, preview, status, replay; ``show``: one stored order; ``send``: a signed delivery of an
order file; ``database``: db upgrade; ``privacy``: prune; ``dashboard``: labels, dashboard;
``destinations``: destinations sync; ``shop``: reconcile, webhooks, writeback). A new concern is a
new module and one name in the import at the bottom.
"""

from __future__ import annotations

import logging
from typing import Any

import click

from integration.errors import ConfigError

config_option = click.option(
    "--config", "config_path", type=click.Path(dir_okay=False), default=None,
    help="integration.yaml to use (default: $JNE_INTEGRATION_CONFIG, ./integration.yaml, else the demo).")


def _config_path(ctx: click.Context, given: str | None) -> str | None:
    return given or (ctx.find_root().obj or {}).get("config_path")


def load_config_or_exit(ctx: click.Context, given: str | None):
    """Load the configuration or exit 1 with every problem listed."""
    from integration.config import load_config

    try:
        return load_config(_config_path(ctx, given))
    except ConfigError as exc:
        from integration.terminal import escape

        click.echo("configuration problems:", err=True)
        for line in exc.problems:
            # a message may quote a key or value written in the file: shown, never interpreted; the
            # caret lines under an expression stay lines
            click.echo("  - " + "\n".join(escape(part) for part in line.split("\n")), err=True)
        ctx.exit(1)


def setup_logging(config: Any, level: int = logging.INFO) -> None:
    """Log to stderr with every secret of ``config`` redacted."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)  # migration chatter is not news
    from integration.logging_setup import install_redaction

    install_redaction(config.secrets())


@click.group()
@config_option
@click.pass_context
def main(ctx: click.Context, config_path: str | None) -> None:
    """Book JNE pickups for Shopify and WooCommerce orders, exactly once."""
    ctx.ensure_object(dict)
    ctx.obj["config_path"] = config_path


# Each module registers its commands on ``main`` when imported; ``main`` must exist first.
from integration.cli import (  # noqa: E402, F401
    dashboard,
    database,
    destinations,
    owner,
    privacy,
    send,
    service,
    shop,
    show,
)
