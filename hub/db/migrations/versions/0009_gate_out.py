"""Gate-out: when each container left through its gate (CODECO gate-out report, BGM 36).

clr_container.gated_out_at: the gate-out time the terminal or supervised site reported.
clr_container.gate_out_site: the site whose gate it passed (LOC+165).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("clr_container", schema=None) as batch_op:
        batch_op.add_column(sa.Column("gated_out_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("gate_out_site", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("clr_container", schema=None) as batch_op:
        batch_op.drop_column("gate_out_site")
        batch_op.drop_column("gated_out_at")
