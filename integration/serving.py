"""Serve a WSGI app on a loopback port from a background thread.

Used by `jne-integration serve` (the embedded sandbox JNE beside the web app) and by the tests,
which talk to the real app and the real sandbox over HTTP instead of through test clients.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from werkzeug.serving import BaseWSGIServer, make_server


@dataclass
class ServerThread:
    """A running threaded werkzeug server; ``url`` has no trailing slash."""

    server: BaseWSGIServer
    thread: threading.Thread
    url: str = field(init=False)

    def __post_init__(self) -> None:
        host, port = self.server.server_address[:2]
        self.url = f"http://{host}:{port}"

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def stop(self) -> None:
        """Stop accepting requests and wait for the serving thread to end."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def __enter__(self) -> ServerThread:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve_in_thread(app, host: str = "127.0.0.1", port: int = 0) -> ServerThread:
    """Start ``app`` on ``host:port`` (0 picks a free port) in a daemon thread and return at once."""
    server = make_server(host, port, app, threaded=True)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name=f"wsgi-{server.server_port}", daemon=True)
    thread.start()
    return ServerThread(server, thread)
