"""recognition: what stable tiers remember (last promotion, staff pin); roles Pulse gives

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

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIER_COLUMNS = (
    ("promoted_at", sa.DateTime(timezone=True)),
    ("pinned_by", sa.String(64)),
    ("pinned_at", sa.DateTime(timezone=True)),
    ("warned_at", sa.DateTime(timezone=True)),
)


def upgrade() -> None:
    # Nullable ADD COLUMN: no table rebuild on SQLite, no rewrite on PostgreSQL. Existing
    # assignments start with no promotion date, so no grace period: the stored history cannot
    # tell a promotion from a demotion into the same tier.
    for name, kind in _TIER_COLUMNS:
        op.add_column("tier_assignments", sa.Column(name, kind, nullable=True))
    op.create_table(
        "member_roles",
        sa.Column("member_id", _ID, nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("space_id", _ID, nullable=False),
        sa.Column("platform_role_id", sa.String(length=64), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        *_foreign_keys("member_roles"),
        sa.PrimaryKeyConstraint("member_id", "role", name=op.f("pk_member_roles")),
    )
    op.create_index(op.f("ix_member_roles_space_id"), "member_roles", ["space_id"])
    op.create_table(
        "role_changes",
        sa.Column("id", _ID, nullable=False),
        sa.Column("space_id", _ID, nullable=False),
        sa.Column("member_id", _ID, nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("platform_role_id", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        *_foreign_keys("role_changes"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_role_changes")),
    )
    op.create_index("ix_role_changes_member", "role_changes", ["member_id", "at"])


def _foreign_keys(table: str) -> list[sa.ForeignKeyConstraint]:
    return [
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f(f"fk_{table}_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["space_id"],
            ["spaces.id"],
            name=op.f(f"fk_{table}_space_id_spaces"),
            ondelete="CASCADE",
        ),
    ]


def downgrade() -> None:
    op.drop_table("role_changes")
    op.drop_table("member_roles")
    for name, _ in reversed(_TIER_COLUMNS):
        op.execute(f"ALTER TABLE tier_assignments DROP COLUMN {name}")
