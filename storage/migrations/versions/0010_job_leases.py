"""job leases: which process does a job for a space now (role reconciliation), until when

Revision ID: 0010_job_leases
Revises: 0009_demotion_notice
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_job_leases"
down_revision = "0009_demotion_notice"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "job_leases",
        sa.Column("job", sa.String(length=32), nullable=False),
        sa.Column("space_id", _ID, nullable=False),
        sa.Column("holder", sa.String(length=64), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["space_id"],
            ["spaces.id"],
            name=op.f("fk_job_leases_space_id_spaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("job", "space_id", name=op.f("pk_job_leases")),
    )


def downgrade() -> None:
    op.drop_table("job_leases")
