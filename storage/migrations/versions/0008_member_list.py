"""member list: one index that covers counting and filtering a space's listed members

Revision ID: 0008_member_list
Revises: 0005_accepted_answers
Create Date: 2026-11-24
"""

from alembic import op

revision = "0008_member_list"
down_revision = "0006_recognition"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The members table (storage.member_list) counts and filters a space's members who are
    # not bots and have not left; covering those columns and the name keeps a 100,000-member
    # count on the index instead of one table read per member.
    op.create_index(
        "ix_members_list",
        "members",
        ["space_id", "is_bot", "left_at", "is_staff", "display_name", "platform_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_members_list", table_name="members")
