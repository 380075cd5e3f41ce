"""Straight-through intake: per workflow partition, how many messages were routed through its queue
and how many its consumers applied (hub/services/clearance/straight.py).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "clr_partition_flow",
        sa.Column("partition", sa.Integer(), nullable=False),
        sa.Column("side", sa.String(length=8), nullable=False),
        sa.Column("count", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.PrimaryKeyConstraint("partition", "side"),
    )


def downgrade() -> None:
    op.drop_table("clr_partition_flow")
