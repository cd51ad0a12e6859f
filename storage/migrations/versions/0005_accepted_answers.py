"""accepted answers: a flag on the reply an asker accepted, and a daily count for its author

Revision ID: 0005_accepted_answers
Revises: 0004_lighter_writes
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_accepted_answers"
down_revision = "0004_lighter_writes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN with a constant default: no table rebuild on SQLite, and no rewrite on
    # PostgreSQL, whatever the size of activities.
    op.add_column(
        "activities",
        sa.Column("is_accepted", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column(
        "member_daily_rollups",
        sa.Column("accepted_answers", sa.Integer(), nullable=False, server_default="0"),
    )


def downgrade() -> None:
    # SQLite has dropped columns in place since 3.35; a batch rebuild would reflect the tables
    # these refer to, and warn that it cannot reflect members' expression index.
    for table, column in (
        ("member_daily_rollups", "accepted_answers"),
        ("activities", "is_accepted"),
    ):
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
