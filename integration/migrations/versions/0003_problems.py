"""Shipments keep their problems as data (codes, parameters, rule and line) beside the words.

``errors`` holds the owner's words in the configured language; ``problems`` the same problems as
``Problem.as_dict()`` records, so a page can show them in another language or group them by code.
Existing rows get an empty list.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("shipments") as batch:
        batch.add_column(sa.Column("problems", sa.JSON(), nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("shipments") as batch:
        batch.drop_column("problems")
