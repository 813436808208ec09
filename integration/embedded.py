"""Stand-ins served inside this process for the built-in demo and local trials.

- ``jne.url: embedded``: the sandbox JNE (``start_embedded_sandbox``);
- ``api.url: http://embedded-shop.invalid`` (``config.EMBEDDED_SHOP``): a shop stand-in per store,
  Shopify or WooCommerce by the store's platform, accepting the store's own api credentials and
  seeded with the example order (``integration/shop/demo``, copies of ``tests/fixtures/examples``), so
  the demo's booking is written back as tracking (``start_embedded_shops``).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field, replace
from importlib import resources

from integration.config import EMBEDDED_SANDBOX, EMBEDDED_SHOP, Config, Store
from integration.serving import ServerThread, serve_in_thread

log = logging.getLogger(__name__)

DEMO_ORDERS = {"shopify": "shopify_cod.body", "woocommerce": "woocommerce_cod.body"}


def start_embedded_sandbox(config: Config) -> tuple[Config, ServerThread | None]:
    """Serve the sandbox JNE in this process when an account's url is ``embedded``; the config pointing at it."""
    if not any(a.url == EMBEDDED_SANDBOX for a in config.accounts().values()):
        return config, None
    from integration.jne.sandbox import create_sandbox_app

    server = serve_in_thread(create_sandbox_app())
    log.info("embedded sandbox JNE at %s/pickupcashless", server.url)
    return config.with_jne_url(EMBEDDED_SANDBOX, f"{server.url}/pickupcashless"), server


@dataclass
class EmbeddedShops:
    """The shop stand-ins started for the stores whose ``api.url`` is embedded, by store id."""

    servers: dict[str, ServerThread] = field(default_factory=dict)

    def stop(self) -> None:
        """Stop every stand-in."""
        for server in self.servers.values():
            server.stop()


def demo_order(platform: str) -> dict:
    """The example order of ``platform`` the demo shops know (the quick start's signed delivery)."""
    return json.loads(resources.files("integration.shop").joinpath("demo", DEMO_ORDERS[platform]).read_bytes())


def start_embedded_shops(config: Config) -> tuple[Config, EmbeddedShops]:
    """Serve a shop stand-in for each store whose ``api.url`` is embedded; the config pointing at them."""
    shops = EmbeddedShops()
    stores = dict(config.stores)
    for store_id, store in config.stores.items():
        api = store.shop_api.api if store.shop_api is not None else None
        if api is None or api.url != EMBEDDED_SHOP:
            continue
        server = serve_in_thread(_standin(store))
        shops.servers[store_id] = server
        stores[store_id] = replace(store, shop_api=replace(store.shop_api, api=replace(api, url=server.url)))
        log.info("store %s: embedded %s shop stand-in at %s (write-back goes there)", store_id, store.platform,
                 server.url)
    if not shops.servers:
        return config, shops
    return replace(config, stores=stores), shops


def _standin(store: Store):
    """A stand-in app for ``store`` that accepts its credentials and knows the example order."""
    api = store.shop_api.api
    order = demo_order(store.platform)
    if store.platform == "shopify":
        from integration.shop.standin_shopify import create_shopify_standin

        app = create_shopify_standin(
            access_tokens=[api.access_token] if api.access_token else [],
            apps={api.client_id: api.client_secret} if api.client_id and api.client_secret else {})
        app.extensions["shopify_standin"].add_order(order)
        return app
    from integration.shop.standin_woocommerce import create_woocommerce_standin

    app = create_woocommerce_standin(keys={api.consumer_key: api.consumer_secret})
    app.extensions["woocommerce_standin"].add_order(order)
    return app
