"""Alembic environment: run by ``ledger.upgrade`` with the caller's connection (no alembic.ini).

``ledger.upgrade`` passes an open connection inside its own transaction (and lock), so racing
processes are serialised there; this file only runs the migrations on it. Run by the alembic
command line instead, it connects to ``$DATABASE_URL`` itself.
"""

from __future__ import annotations

import os

from alembic import context

from integration import ledger

config = context.config
target_metadata = ledger.metadata


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata,
                          render_as_batch=connection.dialect.name == "sqlite")
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = ledger.make_engine(os.environ.get("DATABASE_URL", "sqlite:///integration.db"))
    with engine.begin() as conn:
        context.configure(connection=conn, target_metadata=target_metadata,
                          render_as_batch=conn.dialect.name == "sqlite")
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run `jne-integration db upgrade`")
run()
