"""lighter writes: rollup tables WITHOUT ROWID on SQLite and without space_id indexes; a partial
index of activities' parents

Every activity written inserts into each index of activities and upserts rows of the three
rollup tables, so their upkeep is most of what writing costs (bench/import.py, bench/ingest.py).

- On SQLite a rowid table with a composite primary key keeps two b-trees (the rows, and the
  key's index) and each upsert seeks both; WITHOUT ROWID keeps one, ordered by the key.
- The rollups' single-column space_id indexes served no query better than a scan: a community
  has one or two spaces, so "space_id = ?" matches most rows, and tiers and digests read a time
  window across all members anyway. Each new rollup row paid an insert into them.
- Only replies and reactions have a parent: messages, about half of all activities, no longer
  get an entry in ix_activities_parent. Every query on it compares parent_event_id with a value,
  which implies it is not null, so both databases still use it.

Revision ID: 0004_lighter_writes
Revises: 0003_digest
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_lighter_writes"
down_revision = "0003_digest"
branch_labels = None
depends_on = None

ROLLUPS = ("member_daily_rollups", "help_edges", "member_channel_rollups")
HAS_PARENT = sa.text("parent_event_id IS NOT NULL")


def upgrade() -> None:
    for table in ROLLUPS:
        op.drop_index(f"ix_{table}_space_id", table_name=table)
    if op.get_bind().dialect.name == "sqlite":
        for table in ROLLUPS:
            # SQLite cannot alter a table's storage: batch mode copies it into a new table.
            with op.batch_alter_table(
                table,
                recreate="always",
                table_kwargs={"sqlite_with_rowid": False},
                # The tables they refer to need not be read (that would warn about members'
                # expression index, which SQLAlchemy cannot reflect).
                reflect_kwargs={"resolve_fks": False},
            ):
                pass
    op.drop_index("ix_activities_parent", table_name="activities")
    op.create_index(
        "ix_activities_parent",
        "activities",
        ["space_id", "parent_event_id"],
        sqlite_where=HAS_PARENT,
        postgresql_where=HAS_PARENT,
    )


def downgrade() -> None:
    op.drop_index("ix_activities_parent", table_name="activities")
    op.create_index("ix_activities_parent", "activities", ["space_id", "parent_event_id"])
    if op.get_bind().dialect.name == "sqlite":
        for table in ROLLUPS:
            with op.batch_alter_table(
                table, recreate="always", reflect_kwargs={"resolve_fks": False}
            ):
                pass
    for table in ROLLUPS:
        op.create_index(f"ix_{table}_space_id", table, ["space_id"])
