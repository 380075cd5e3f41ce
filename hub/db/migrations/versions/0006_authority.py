"""Authority: consignment ownership, entrustments, per-message sender checks (filled in by the trust work).

party.terminals: the terminals a tally company is assigned to (or further sites a port operator runs).
clr_consignment.consignee_uscc: the consignee the manifest names, checked against declarations.
entrustment: a consignee's electronic agency entrustment (代理报关委托) of a broker.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("party", schema=None) as batch_op:
        batch_op.add_column(sa.Column("terminals", sa.JSON(), nullable=True))
    with op.batch_alter_table("clr_consignment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("consignee_uscc", sa.String(length=64), nullable=True))
    op.create_table(
        "entrustment",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
        ),
        sa.Column("consignee_uscc", sa.String(length=18), nullable=False),
        sa.Column("broker_uscc", sa.String(length=18), nullable=False),
        sa.Column("created_by", sa.String(length=18), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("consignee_uscc", "broker_uscc", name="uq_entrustment_pair"),
    )


def downgrade() -> None:
    op.drop_table("entrustment")
    with op.batch_alter_table("clr_consignment", schema=None) as batch_op:
        batch_op.drop_column("consignee_uscc")
    with op.batch_alter_table("party", schema=None) as batch_op:
        batch_op.drop_column("terminals")
