"""The shop's own API: tracking write-back, reconciliation of missed orders, webhook setup.

- ``shopify`` / ``woocommerce``: small clients over ``requests`` (Shopify GraphQL Admin API only,
  WooCommerce REST v3) with the platforms' facts as data;
- ``shopify_orders``: the GraphQL order query and the one function that turns its answer into the
  REST/webhook JSON the receiver and the mappings read;
- ``writeback``: the exactly-once write of a cnote (look first, then write);
- ``reconcile``: a pass over orders updated since a cursor, handed to an ``ingest`` callback;
- ``webhooks``: install and list the order webhooks;
- ``settings``: the ``api:``, ``writeback:`` and ``reconcile:`` store blocks (schema + dataclasses);
- ``standin_shopify`` / ``standin_woocommerce``: local stand-ins served over HTTP for tests and the demo.
"""
