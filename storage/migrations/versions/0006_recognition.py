"""recognition: what stable tiers remember (the last promotion, a staff pin)

Revision ID: 0006_recognition
Revises: 0005_accepted_answers
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_recognition"
down_revision = "0005_accepted_answers"
branch_labels = None
depends_on = None

_TIER_COLUMNS = (
    ("promoted_at", sa.DateTime(timezone=True)),
    ("pinned_by", sa.String(64)),
    ("pinned_at", sa.DateTime(timezone=True)),
)


def upgrade() -> None:
    # Nullable ADD COLUMN: no table rebuild on SQLite, no rewrite on PostgreSQL. Existing
    # assignments start with no promotion date, so no grace period: the stored history cannot
    # tell a promotion from a demotion into the same tier.
    for name, kind in _TIER_COLUMNS:
        op.add_column("tier_assignments", sa.Column(name, kind, nullable=True))


def downgrade() -> None:
    for name, _ in reversed(_TIER_COLUMNS):
        op.execute(f"ALTER TABLE tier_assignments DROP COLUMN {name}")
