"""Write-back attempts keep the HTTP status of the shop's last answer, as a number.

The dashboard's HTTP column read it out of the free-text reason ("HTTP 404"), which only some
reasons name and any rewording would break. Existing rows get NULL (recorded before the status was
kept); so does an attempt the shop never answered (a timeout, a refused connection).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("writeback_attempts") as batch:
        batch.add_column(sa.Column("http_status", sa.Integer()))


def downgrade() -> None:
    with op.batch_alter_table("writeback_attempts") as batch:
        batch.drop_column("http_status")
