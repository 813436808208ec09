"""Run the Procfile's ``web`` line as a process manager would: through a shell, ``PORT`` set.

``procfile_web(directory, config)`` is a context manager yielding a ``Web`` (url, port, ledger);
it stops the process group at the end. Used by the slow-client and proxy tests (issue 14).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import app_helpers
import requests

from integration import ledger

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def procfile_web_line() -> str:
    """The command of the Procfile's ``web`` process."""
    for line in (PROJECT_ROOT / "Procfile").read_text(encoding="utf-8").splitlines():
        name, _, command = line.partition(":")
        if name.strip() == "web":
            return command.strip()
    raise AssertionError("Procfile has no web process")


class Web:
    """The running web process: base URL, port, its ledger."""

    def __init__(self, proc: subprocess.Popen, port: int, database_url: str, log: Path):
        self.proc, self.port, self.database_url, self.log = proc, port, database_url, log
        self.url = f"http://127.0.0.1:{port}"

    def deliveries(self) -> int:
        """Rows in the inbox."""
        engine = ledger.make_engine(self.database_url)
        try:
            return app_helpers.count_rows(engine, ledger.deliveries)
        finally:
            engine.dispose()


@contextlib.contextmanager
def procfile_web(directory: Path, database_url: str | None = None) -> Iterator[Web]:
    """The Procfile's web line on a free loopback port, a fresh SQLite ledger, metrics of every worker."""
    database_url = database_url or f"sqlite:///{directory / 'ledger.db'}"
    config = app_helpers.write_config(directory, database_url)
    port = app_helpers._free_port()
    log = directory / "web.log"
    metrics_dir = directory / "metrics"
    metrics_dir.mkdir(exist_ok=True)
    env = {**os.environ, "PORT": str(port), "JNE_INTEGRATION_CONFIG": str(config),
           "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),  # as the README says for several workers
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("WEB_HOST", None)  # the Procfile's default: loopback
    with log.open("wb") as out:
        proc = subprocess.Popen(["bash", "-c", "exec " + procfile_web_line()], cwd=PROJECT_ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    web = Web(proc, port, database_url, log)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{web.url}/healthz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"web did not start:\n{log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.1)
        yield web
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
