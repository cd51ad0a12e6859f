"""digest runs record who claimed them, when they were due and what happened; outreach indexes

Revision ID: 0003_digest
Revises: 0002
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_digest"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("digest_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("due_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("detail", sa.Text(), nullable=True))
    op.create_index("ix_outreach_space_time", "outreach", ["space_id", "at"])
    op.create_index("ix_outreach_member", "outreach", ["member_id"])


def downgrade() -> None:
    op.drop_index("ix_outreach_member", table_name="outreach")
    op.drop_index("ix_outreach_space_time", table_name="outreach")
    with op.batch_alter_table("digest_runs", schema=None) as batch_op:
        batch_op.drop_column("detail")
        batch_op.drop_column("due_at")
        batch_op.drop_column("claimed_by")
