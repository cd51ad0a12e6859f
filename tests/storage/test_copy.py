"""`pulse db copy`: the demo community from SQLite into PostgreSQL, row for row, same answers."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import shutil
import sqlite3
from datetime import UTC, datetime

import asyncpg
import pytest
from sqlalchemy import insert, select

from storage.copy import table_counts, tables
from storage.engine import create_engine
from storage.migrate import upgrade
from storage.models import QuietFlag, TierChange
from tests.factories import pulse

READ_COMMANDS = (
    ("tiers",),
    ("hero-candidates",),
    ("quiet",),
    ("health",),
    ("digest", "preview"),
)


async def _rows(url: str) -> dict[str, list[tuple]]:
    """Every table's rows, in primary-key order."""
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return {
                table.name: [
                    tuple(row)
                    for row in await conn.execute(
                        select(table).order_by(*table.primary_key.columns)
                    )
                ]
                for table in tables()
            }
    finally:
        await engine.dispose()


async def _insert_fresh_rows(url: str, flag: tuple) -> tuple[int, int]:
    """Insert a quiet flag like FLAG and a tier change, ids left to the database; their ids."""
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            values = dict(zip((c.name for c in QuietFlag.__table__.columns), flag, strict=True))
            values.pop("id")
            flag_id = (
                await conn.execute(insert(QuietFlag).values(values).returning(QuietFlag.id))
            ).scalar()
            change = insert(TierChange).values(
                space_id=flag[1],
                member_id=flag[2],
                from_tier=None,
                to_tier="active",
                score=1.0,
                reasons="test",
                changed_at=datetime(2026, 11, 24, tzinfo=UTC),
            )
            change_id = (await conn.execute(change.returning(TierChange.id))).scalar()
            return flag_id, change_id
    finally:
        await engine.dispose()


async def _schema(url: str) -> tuple[set, set]:
    """Every index and constraint definition of the PostgreSQL database at URL."""
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        indexes = {r[0] for r in await conn.fetch("SELECT indexdef FROM pg_indexes"
                   " WHERE schemaname = current_schema()")}  # fmt: skip
        constraints = {
            tuple(r)
            for r in await conn.fetch(
                "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)"
                " FROM pg_constraint WHERE connamespace = current_schema()::regnamespace"
            )
        }
    finally:
        await conn.close()
    return indexes, constraints


async def _migrated(url: str) -> None:
    engine = create_engine(url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


async def _counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return await table_counts(conn)
    finally:
        await engine.dispose()


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def demo_file(demo_db, tmp_path):
    """A private copy of the session's demo database."""
    path = tmp_path / "pulse.db"
    shutil.copy(demo_db[0], path)
    return path


@pytest.mark.postgres
def test_copy_to_postgres_keeps_every_row_and_every_answer(
    demo_file, postgres_server, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)  # `digest preview` writes its chart here
    source = f"sqlite:///{demo_file}"
    target = asyncio.run(postgres_server.create_database(f"pulse_copy_{os.getpid()}"))
    before = _digest(demo_file)

    result = pulse("db", "copy", "--database-url", source, "--to", target)
    assert result.exit_code == 0, result.output
    assert "every table's count verified" in result.stdout
    assert _digest(demo_file) == before  # the source is only read

    # The indexes and constraints set aside for the load are all back, as migrations made them.
    fresh = asyncio.run(postgres_server.create_database(f"pulse_copy_fresh_{os.getpid()}"))
    asyncio.run(_migrated(fresh))
    assert asyncio.run(_schema(target)) == asyncio.run(_schema(fresh))

    copied, original = asyncio.run(_rows(target)), asyncio.run(_rows(source))
    assert copied.keys() == original.keys()
    for name, rows in original.items():
        assert copied[name] == rows, name
    # The demo stores something in the tables that matter, so the comparison means something.
    for name in ("members", "activities", "member_daily_rollups", "tier_assignments"):
        assert original[name], name
    assert sum(len(rows) for rows in original.values()) > 1_000

    for command in READ_COMMANDS:
        on_sqlite = pulse(*command, "--database-url", source)
        on_postgres = pulse(*command, "--database-url", target)
        assert on_sqlite.exit_code == 0, on_sqlite.output
        assert on_postgres.stdout == on_sqlite.stdout, command
    busiest = original["tier_assignments"][0][0]
    name = next(row[3] for row in original["members"] if row[0] == busiest)
    on_sqlite = pulse("member", name, "--database-url", source)
    assert on_sqlite.exit_code == 0, on_sqlite.output
    assert pulse("member", name, "--database-url", target).stdout == on_sqlite.stdout

    # The id sequences moved past the copied ids: new rows get fresh ones.
    flag_id, change_id = asyncio.run(_insert_fresh_rows(target, original["quiet_flags"][0]))
    assert flag_id > max(row[0] for row in original["quiet_flags"])
    assert change_id > max((row[0] for row in original["tier_changes"]), default=0)


@pytest.mark.postgres
def test_copy_refuses_a_target_that_holds_data(demo_file, postgres_server):
    source = f"sqlite:///{demo_file}"
    target = asyncio.run(postgres_server.create_database(f"pulse_copy_twice_{os.getpid()}"))
    assert pulse("db", "copy", "--database-url", source, "--to", target).exit_code == 0
    counts = asyncio.run(_counts(target))

    again = pulse("db", "copy", "--database-url", source, "--to", target)
    assert again.exit_code == 1
    lines = again.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("pulse: the target database already holds")
    assert "Traceback" not in again.output
    assert asyncio.run(_counts(target)) == counts  # nothing doubled, nothing lost


@pytest.mark.postgres
def test_a_copy_the_target_refuses_leaves_it_empty(demo_file, postgres_server):
    # An old database may hold a NUL in a name (names are cleaned on arrival now): SQLite
    # stores it, PostgreSQL's text cannot.
    with contextlib.closing(sqlite3.connect(demo_file)) as db:
        db.execute(
            "UPDATE members SET display_name = ? WHERE id = (SELECT max(id) FROM members)",
            ("nul\x00name",),
        )
        db.commit()
    source = f"sqlite:///{demo_file}"
    target = asyncio.run(postgres_server.create_database(f"pulse_copy_refused_{os.getpid()}"))

    result = pulse("db", "copy", "--database-url", source, "--to", target)
    assert result.exit_code == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("pulse: the copy failed and the target was left empty: members:")
    assert "Traceback" not in result.output
    assert set(asyncio.run(_counts(target)).values()) == {0}
    # The schema is whole again too: fixing the source and copying again works.
    with contextlib.closing(sqlite3.connect(demo_file)) as db:
        db.execute("UPDATE members SET display_name = 'name' WHERE display_name LIKE 'nul%'")
        db.commit()
    assert pulse("db", "copy", "--database-url", source, "--to", target).exit_code == 0


def test_copy_between_sqlite_files(demo_file, tmp_path):
    source = f"sqlite:///{demo_file}"
    target = f"sqlite:///{tmp_path / 'copy.db'}"
    result = pulse("db", "copy", "--database-url", source, "--to", target)
    assert result.exit_code == 0, result.output
    assert asyncio.run(_rows(target)) == asyncio.run(_rows(source))


@pytest.mark.parametrize(
    ("target", "says"),
    [
        ("not a url", "not a database URL"),
        ("SAME", "the target is the configured database itself"),
    ],
)
def test_copy_refuses_a_bad_target_in_one_line(demo_file, target, says):
    source = f"sqlite:///{demo_file}"
    result = pulse(
        "db", "copy", "--database-url", source, "--to", source if target == "SAME" else target
    )
    assert result.exit_code == 1, result.output
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert says in result.stderr


def test_copy_refuses_a_source_behind_the_code(tmp_path):
    target = f"sqlite:///{tmp_path / 'copy.db'}"
    result = pulse(
        "db", "copy", "--database-url", f"sqlite:///{tmp_path / 'none.db'}", "--to", target
    )
    assert result.exit_code == 1
    assert "there is no database at" in result.stderr
    assert not (tmp_path / "copy.db").exists()
