"""The unit of work on real databases: SQLite's lock taken first, PostgreSQL conflicts rerun."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from storage.engine import create_engine
from storage.uow import UnitOfWork


@pytest.fixture
async def sqlite_pair(tmp_path):
    """Two engines on one SQLite file with a one-column table: ours and another writer's."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'uow.db'}"
    ours, theirs = create_engine(url), create_engine(url)
    async with ours.begin() as conn:
        await conn.execute(text("CREATE TABLE t (x INTEGER)"))
    yield ours, theirs
    await ours.dispose()
    await theirs.dispose()


async def _count(engine) -> int:
    async with engine.connect() as conn:
        return (await conn.execute(text("SELECT count(*) FROM t"))).scalar_one()


async def _other_writer_commits(engine) -> None:
    async with engine.begin() as conn:
        await conn.execute(text("INSERT INTO t VALUES (2)"))


async def test_a_plain_transaction_that_reads_then_writes_fails_beside_a_committing_writer(
    sqlite_pair,
):
    """The failure the unit of work exists to prevent, shown on the same file."""
    ours, theirs = sqlite_pair
    async with ours.begin() as conn:
        await conn.execute(text("SELECT count(*) FROM t"))
        await _other_writer_commits(theirs)
        with pytest.raises(OperationalError, match="locked"):
            await conn.execute(text("INSERT INTO t VALUES (1)"))


async def test_write_takes_the_lock_first_so_the_other_writer_waits_and_both_rows_land(
    sqlite_pair,
):
    ours, theirs = sqlite_pair
    uow = UnitOfWork(ours)
    async with uow.write() as conn:
        await conn.execute(text("SELECT count(*) FROM t"))
        other = asyncio.create_task(_other_writer_commits(theirs))
        await asyncio.sleep(0.2)  # the other writer is now waiting on the lock, not failing
        assert not other.done()
        await conn.execute(text("INSERT INTO t VALUES (1)"))
    await asyncio.wait_for(other, 10)
    assert await _count(ours) == 2


async def test_read_never_keeps_what_it_wrote(sqlite_pair):
    ours, _ = sqlite_pair
    async with UnitOfWork(ours).read() as conn:
        await conn.execute(text("INSERT INTO t VALUES (1)"))
    assert await _count(ours) == 0


@pytest.mark.postgres
async def test_atomically_runs_a_deadlocked_transaction_again_on_postgresql(postgres_server):
    """Two services lock two rows in opposite orders: PostgreSQL kills one, which runs again."""
    from tests.conftest import _fresh_pg_database

    engine = create_engine(await _fresh_pg_database(postgres_server))
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE counters (id int PRIMARY KEY, n int)"))
            await conn.execute(text("INSERT INTO counters VALUES (1, 0), (2, 0)"))
        uow = UnitOfWork(engine)
        both_hold_one = asyncio.Barrier(2)
        attempts = {1: 0, 2: 0}

        def bump(first: int, second: int):
            async def work(conn):
                attempts[first] += 1
                await conn.execute(text(f"UPDATE counters SET n = n + 1 WHERE id = {first}"))
                if attempts[first] == 1:
                    await both_hold_one.wait()
                await conn.execute(text(f"UPDATE counters SET n = n + 1 WHERE id = {second}"))

            return work

        await asyncio.wait_for(
            asyncio.gather(uow.atomically(bump(1, 2)), uow.atomically(bump(2, 1))), 30
        )
        async with engine.connect() as conn:
            rows = dict((await conn.execute(text("SELECT id, n FROM counters"))).all())
        assert rows == {1: 2, 2: 2}  # both transactions counted once each, none twice
        assert sorted(attempts.values()) == [1, 2]  # exactly one was run again
    finally:
        await engine.dispose()
