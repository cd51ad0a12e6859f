"""web dashboard: single-use sign-in links and sessions, both kept as hashes of their tokens

Revision ID: 0007_web
Revises: 0008_member_list
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_web"
down_revision = "0008_member_list"
branch_labels = None
depends_on = None


def _table(name: str, closed: str) -> None:
    big_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        name,
        sa.Column("id", big_id, nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("space_id", big_id, nullable=False),
        # NULL for the operator's own links and sessions (`pulse web-link`).
        sa.Column("member_id", big_id, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(closed, sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["space_id"], ["spaces.id"], name=op.f(f"fk_{name}_space_id_spaces"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f(f"fk_{name}_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}")),
        sa.UniqueConstraint("token_hash", name=op.f(f"uq_{name}_token_hash")),
    )


def upgrade() -> None:
    _table("web_links", "used_at")
    _table("web_sessions", "ended_at")


def downgrade() -> None:
    op.drop_table("web_sessions")
    op.drop_table("web_links")
