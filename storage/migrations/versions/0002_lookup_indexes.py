"""indexes for member lookups by display name and tier history per member

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_members_name", "members", ["space_id", sa.text("lower(display_name)")])
    op.create_index("ix_tier_changes_member_time", "tier_changes", ["member_id", "changed_at"])


def downgrade() -> None:
    op.drop_index("ix_tier_changes_member_time", table_name="tier_changes")
    op.drop_index("ix_members_name", table_name="members")
