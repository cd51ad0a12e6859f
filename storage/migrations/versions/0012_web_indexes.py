"""web indexes: help edges by the member helped

Revision ID: 0012_web_indexes
Revises: 0011_scale_indexes
Create Date: 2026-11-24
"""

from alembic import op

revision = "0012_web_indexes"
down_revision = "0011_scale_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # help_edges is keyed (helper_id, helped_id): "who helped this member" (the dashboard's
    # member page) and an opt-out (storage.privacy finds and deletes the edges to the member)
    # otherwise read every edge of every community. Only a new edge adds an entry: the
    # writer's upserts change replies and last_day, which the index does not hold.
    op.create_index("ix_help_edges_helped", "help_edges", ["helped_id"])


def downgrade() -> None:
    op.drop_index("ix_help_edges_helped", table_name="help_edges")
