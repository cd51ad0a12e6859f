"""demotion notice: when a member's spell at risk began, and when a staff digest listed them

Revision ID: 0009_demotion_notice
Revises: 0007_web
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_demotion_notice"
down_revision = "0007_web"
branch_labels = None
depends_on = None

_COLUMNS = ("at_risk_since", "at_risk_listed_at")


def upgrade() -> None:
    # Nullable ADD COLUMN: no table rebuild on SQLite, no rewrite on PostgreSQL. Members at
    # risk at the upgrade start their notice at the next daily evaluation, so none is demoted
    # before staff could see it coming.
    for name in _COLUMNS:
        op.add_column(
            "tier_assignments", sa.Column(name, sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    for name in reversed(_COLUMNS):
        op.execute(f"ALTER TABLE tier_assignments DROP COLUMN {name}")
