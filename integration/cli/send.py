"""``send``: deliver an order file to the running service, signed as the shop would sign it.

For trying a store before going live: the owner's own order (saved from the shop's admin, or from
``show --save``) is signed with the store's ``webhook_secret`` (base64 HMAC-SHA256 of the exact
bytes sent, as Shopify and WooCommerce sign) and POSTed to ``/webhooks/<platform>`` with the
headers the platform sends, so it takes the same path as a real delivery. The secret is read from
the configuration and never printed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from typing import Any

import click

from integration.cli import config_option, load_config_or_exit, main
from integration.cli.order_file import read_order_file
from integration.terminal import escape

DEFAULT_URL = "http://127.0.0.1:8000"


def signature(body: bytes, secret: str) -> str:
    """base64(HMAC-SHA256(secret, body)): how both platforms sign a delivery."""
    return base64.b64encode(hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()).decode("ascii")


def delivery_headers(platform: str, shop: str, topic: str, body: bytes, secret: str, order: Any) -> dict[str, str]:
    """The headers the platform sends with one delivery of ``body`` (fresh delivery ids)."""
    signed = signature(body, secret)
    if platform == "shopify":
        headers = {"X-Shopify-Topic": topic, "X-Shopify-Hmac-Sha256": signed, "X-Shopify-Shop-Domain": shop,
                   "X-Shopify-Event-Id": str(uuid.uuid4()), "X-Shopify-Webhook-Id": str(uuid.uuid4()),
                   "X-Shopify-API-Version": "2025-10"}
        if isinstance(order, dict) and order.get("id") is not None:
            headers["X-Shopify-Order-Id"] = str(order["id"])
    else:
        resource, _, event = topic.partition(".")
        headers = {"X-WC-Webhook-Source": shop.rstrip("/") + "/", "X-WC-Webhook-Topic": topic,
                   "X-WC-Webhook-Resource": resource, "X-WC-Webhook-Event": event,
                   "X-WC-Webhook-Signature": signed, "X-WC-Webhook-ID": "1",
                   "X-WC-Webhook-Delivery-ID": uuid.uuid4().hex}
    return {"Content-Type": "application/json", **headers}


@main.command()
@config_option
@click.option("--store", "store_id", required=True, help="Store id from integration.yaml.")
@click.option("--topic", default=None,
              help="Webhook topic (default: the file's, else the one that books the order on its platform).")
@click.option("--url", default=DEFAULT_URL, show_default=True, help="Where the service runs.")
@click.argument("order_file", metavar="ORDER.json", type=click.Path(exists=True, dir_okay=False))
@click.pass_context
def send(ctx: click.Context, config_path: str | None, store_id: str, topic: str | None, url: str,
         order_file: str) -> None:
    """Sign an order with the store's secret and deliver it to the running service, as the shop would."""
    import requests

    config = load_config_or_exit(ctx, config_path)
    store = config.stores.get(store_id)
    if store is None:
        raise click.BadParameter(f"no store {escape(store_id)!r}; known: {', '.join(config.stores)}",
                                 param_hint="--store")
    read = read_order_file(order_file, topic, store.platform)
    headers = delivery_headers(store.platform, store.shop, read.topic, read.body, store.webhook_secret, read.order)
    target = f"{url.rstrip('/')}/webhooks/{store.platform}"
    if read.topic_assumed:
        click.echo(f"topic {read.topic} assumed: the file does not say, and {read.topic_reason} "
                   "(--topic to choose another)")
    try:
        answer = requests.post(target, data=read.body, headers=headers, timeout=30)
    except requests.RequestException as exc:
        click.echo(f"could not reach {escape(target)} ({type(exc).__name__}); is `jne-integration serve` "
                   "running there? (--url to point elsewhere)", err=True)
        ctx.exit(1)
        return
    number = read.order.get("name") or read.order.get("number") or read.order.get("id")
    try:
        said = json.dumps(answer.json(), ensure_ascii=False)
    except ValueError:
        said = answer.text[:200]
    if answer.status_code != 200:
        click.echo(f"{escape(target)} answered {answer.status_code}: {escape(said)}", err=True)
        if answer.status_code == 401:
            click.echo("401: the service does not know this shop or secret; is it running with the same "
                       "integration.yaml (--config)?", err=True)
        ctx.exit(1)
    click.echo(f"sent order {escape(number)} of store {escape(store_id)} (topic {escape(read.topic)}) to "
               f"{escape(target)}: {answer.status_code} {escape(said)}")
    click.echo(f"next: jne-integration status --store {escape(store_id)}")
