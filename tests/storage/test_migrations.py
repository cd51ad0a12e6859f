import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import inspect

from bot.cli import cli
from storage.engine import create_engine
from storage.migrate import alembic_config, current_revision, head_revision, upgrade
from storage.models import Base
from storage.privacy import forget_member
from storage.quiet_context import last_questions
from tests.factories import KEY, T0, helper_history, ingest


async def test_upgrade_from_empty_creates_every_table(database_url):
    engine = create_engine(database_url)
    try:
        assert await current_revision(engine) is None
        await upgrade(engine)
        assert await current_revision(engine) == head_revision()
        async with engine.connect() as conn:
            tables = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
        assert set(Base.metadata.tables) <= tables
        await upgrade(engine)  # a second upgrade is a no-op
    finally:
        await engine.dispose()


# SQLite cannot reflect expression indexes (ix_members_name); the PostgreSQL run compares it.
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression")
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
async def test_migrations_match_the_models(engine):
    def diff(sync_conn):
        context = MigrationContext.configure(sync_conn, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)

    async with engine.connect() as conn:
        assert await conn.run_sync(diff) == []


def test_pulse_db_upgrade_command(database_url):
    url = database_url.replace("+aiosqlite", "").replace("+asyncpg", "")
    first = CliRunner().invoke(cli, ["db", "upgrade", "--database-url", url])
    assert first.exit_code == 0, first.output
    assert f"to revision {head_revision()}" in first.output
    second = CliRunner().invoke(cli, ["db", "upgrade", "--database-url", url])
    assert "already at revision" in second.output


def test_unreachable_database_is_one_clear_error():
    result = CliRunner().invoke(
        cli, ["db", "upgrade", "--database-url", "postgresql://nobody@127.0.0.1:1/none"]
    )
    assert result.exit_code == 1
    assert "cannot reach the database" in result.output
    assert "Traceback" not in result.output


ROLLUP_TABLES = ("member_daily_rollups", "help_edges", "member_channel_rollups")


async def _rows(engine, table: str) -> list[tuple]:
    async with engine.connect() as conn:
        return sorted(map(tuple, await conn.exec_driver_sql(f"SELECT * FROM {table}")))


async def _downgrade(engine, revision: str) -> None:
    config = alembic_config()

    def run(connection) -> None:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)

    async with engine.begin() as conn:
        await conn.run_sync(run)


async def test_lighter_writes_migration_keeps_every_rollup(database_url):
    """0004 rebuilds the rollup tables (SQLite) and the parent index: nothing stored is lost."""
    engine = create_engine(database_url)
    try:
        # The writer writes today's schema: fill it there, then go back to 0003 to start from.
        await upgrade(engine)
        await ingest(engine, helper_history("helper", weeks=3, helped=4))
        await _downgrade(engine, "0003_digest")
        before = {table: await _rows(engine, table) for table in ROLLUP_TABLES}
        assert all(before.values())
        await upgrade(engine, "0004_lighter_writes")
        assert {table: await _rows(engine, table) for table in ROLLUP_TABLES} == before
        await upgrade(engine)
        async with engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                ddl = dict(
                    (await conn.exec_driver_sql("SELECT name, sql FROM sqlite_master")).all()
                )
                assert all(ddl[t].rstrip().endswith("WITHOUT ROWID") for t in ROLLUP_TABLES)
                assert "ON DELETE CASCADE" in ddl["member_daily_rollups"]
                parent = ddl["ix_activities_parent"]
            else:
                parent = (
                    await conn.exec_driver_sql(
                        "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_activities_parent'"
                    )
                ).scalar_one()
        assert "parent_event_id IS NOT NULL" in parent
        async with engine.connect() as conn:
            indexes = await conn.run_sync(
                lambda c: {i["name"] for t in ROLLUP_TABLES for i in inspect(c).get_indexes(t)}
            )
        # The space_id indexes are gone; the one left serves "who helped this member" (0012).
        assert indexes == {"ix_help_edges_helped"}
        # Writing goes on as before, and a member's rollups still go with them.
        await ingest(engine, helper_history("second", weeks=2, helped=2))
        async with engine.begin() as conn:
            space, helper = (
                await conn.exec_driver_sql(
                    "SELECT space_id, id FROM members WHERE platform_id = 'helper'"
                )
            ).one()
            assert await forget_member(conn, space, "helper", KEY, T0)
        async with engine.connect() as conn:
            for table, column in (
                ("member_daily_rollups", "member_id"),
                ("help_edges", "helper_id"),
                ("member_channel_rollups", "member_id"),
            ):
                count = f"SELECT count(*) FROM {table} WHERE {column} = {helper}"
                assert (await conn.exec_driver_sql(count)).scalar_one() == 0
        # And back: the downgrade restores the old layout with the rows.
        await _downgrade(engine, "0004_lighter_writes")
        kept = {table: await _rows(engine, table) for table in ROLLUP_TABLES}
        await _downgrade(engine, "0003_digest")
        assert {table: await _rows(engine, table) for table in ROLLUP_TABLES} == kept
        await upgrade(engine)
    finally:
        await engine.dispose()


async def test_queries_on_parents_use_the_partial_index(sqlite_engine):
    """Every lookup by parent compares it with a value, so SQLite still uses the partial index."""
    async with sqlite_engine.connect() as conn:
        plans = [
            " ".join(row[-1] for row in await conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql))
            for sql in (
                "SELECT 1 FROM activities WHERE space_id = 1 AND parent_event_id = 'x'",
                "SELECT q.id FROM activities q WHERE EXISTS (SELECT 1 FROM activities r "
                "WHERE r.space_id = q.space_id AND r.parent_event_id = q.event_id)",
            )
        ]
    assert all("ix_activities_parent" in plan for plan in plans), plans


async def test_a_members_last_question_is_found_by_the_members_index(sqlite_engine):
    """Walking the space's time index instead reads the whole space when the member never asked.

    Without statistics SQLite prefers (space, time) for ORDER BY time; the quiet scan runs this
    once per member it flags, so that choice cost half a second each at 5M activities.
    """
    sql = last_questions(1, [42, 43]).compile(
        dialect=sqlite_engine.dialect, compile_kwargs={"literal_binds": True}
    )
    async with sqlite_engine.connect() as conn:
        plan = [row[-1] for row in await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")]
    # The correlated lookup of each member's last question, not a scan of the space.
    assert any("ix_activities_member_time" in step for step in plan), plan
    assert not any("ix_activities_space_time" in step for step in plan), plan
