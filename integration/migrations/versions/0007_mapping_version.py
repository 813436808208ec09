"""Shipments remember which mapping files they were last tried with (a short hash of the contents).

A running service picks up edited mapping files without a restart, so "which mapping did this
order see?" has an answer per order: ``status`` shows it beside the order, and an order that still
needs attention after an edit shows at once whether the edit reached it. Existing rows get NULL
(tried before versions were kept).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("shipments") as batch:
        batch.add_column(sa.Column("mapping_version", sa.String(16)))


def downgrade() -> None:
    with op.batch_alter_table("shipments") as batch:
        batch.drop_column("mapping_version")
