"""Clearance gaps: distribution destination, reconciliation triggers, parked customs answers.

clr_consignment: destination_site (MT6102), reconciled_at / discharge_reconciled_at (reconciliation
once per trigger). clr_parked: wait_key (what a parked message waits for besides a manifest) and
resolution (applied / expired with the reason).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("clr_consignment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("destination_site", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("reconciled_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("discharge_reconciled_at", sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table("clr_parked", schema=None) as batch_op:
        batch_op.add_column(sa.Column("wait_key", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("resolution", sa.String(length=255), nullable=True))
        batch_op.create_index("ix_clr_parked_wait_key", ["wait_key", "resolved_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("clr_parked", schema=None) as batch_op:
        batch_op.drop_index("ix_clr_parked_wait_key")
        batch_op.drop_column("resolution")
        batch_op.drop_column("wait_key")

    with op.batch_alter_table("clr_consignment", schema=None) as batch_op:
        batch_op.drop_column("discharge_reconciled_at")
        batch_op.drop_column("reconciled_at")
        batch_op.drop_column("destination_site")
