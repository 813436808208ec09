"""Stand-ins served inside this process for the built-in demo and local trials (``jne.url: embedded``)."""

from __future__ import annotations

import logging

from integration.config import EMBEDDED_SANDBOX, Config
from integration.serving import ServerThread, serve_in_thread

log = logging.getLogger(__name__)


def start_embedded_sandbox(config: Config) -> tuple[Config, ServerThread | None]:
    """Serve the sandbox JNE in this process when an account's url is ``embedded``; the config pointing at it."""
    if not any(a.url == EMBEDDED_SANDBOX for a in config.accounts().values()):
        return config, None
    from integration.jne.sandbox import create_sandbox_app

    server = serve_in_thread(create_sandbox_app())
    log.info("embedded sandbox JNE at %s/pickupcashless", server.url)
    return config.with_jne_url(EMBEDDED_SANDBOX, f"{server.url}/pickupcashless"), server
