"""scale indexes: hero candidates by score, and the few members who are away

Revision ID: 0011_scale_indexes
Revises: 0010_job_leases
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_scale_indexes"
down_revision = "0010_job_leases"
branch_labels = None
depends_on = None

_AWAY = sa.text("away_until IS NOT NULL")


def upgrade() -> None:
    # Hero candidates rank active and hero members together by score: the (tier, score) index
    # orders each tier apart, so at a million members the database sorted tens of thousands of
    # rows for a page of 25; walking scores downwards stops after the page.
    op.create_index("ix_tier_assignments_score", "tier_assignments", ["space_id", "score"])
    # Live quiet flags leave out members who are away, a handful: a partial index finds them
    # without reading every member row.
    op.create_index(
        "ix_members_away",
        "members",
        ["space_id", "away_until"],
        sqlite_where=_AWAY,
        postgresql_where=_AWAY,
    )


def downgrade() -> None:
    op.drop_index("ix_members_away", table_name="members")
    op.drop_index("ix_tier_assignments_score", table_name="tier_assignments")
