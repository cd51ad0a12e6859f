import asyncio

import asyncpg
import pytest
from sqlalchemy import func, select, text

from community.events import ActivityKind, EventError
from community.privacy import member_hash
from storage.engine import create_engine
from storage.migrate import upgrade
from storage.models import Activity, Blocklist, DailyRollup, HelpEdge, Member
from storage.writer.queue import IngestWriter, WriterClosedError
from tests.factories import T0, ev

KEY = b"test-key"


def writer_for(engine, **kwargs) -> IngestWriter:
    kwargs.setdefault("flush_interval", 0.02)
    kwargs.setdefault("retry_initial", 0.02)
    kwargs.setdefault("retry_max", 0.1)
    return IngestWriter(engine, KEY, **kwargs)


async def count(engine, model) -> int:
    async with engine.connect() as conn:
        return (await conn.execute(select(func.count()).select_from(model))).scalar_one()


async def rollup_totals(engine) -> dict[str, int]:
    cols = ["messages", "questions", "replies", "answers", "thanks_received", "reactions_given"]
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                select(*[func.coalesce(func.sum(getattr(DailyRollup, c)), 0) for c in cols])
            )
        ).one()
    return dict(zip(cols, row, strict=True))


def conversation():
    """Alice asks, Bob answers, Alice thanks Bob and reacts, Carol joins."""
    return [
        ev("message", "alice", event_id="q1", is_question=True, member_name="Alice"),
        ev("reply", "bob", event_id="a1", target_member_id="alice", parent_event_id="q1",
           days=0.01),
        ev("reply", "alice", event_id="t1", target_member_id="bob", parent_event_id="a1",
           is_thanks=True, days=0.02),
        ev("reaction_given", "alice", event_id="r1", target_member_id="bob", days=0.02),
        ev("member_joined", "carol", event_id="j1", channel=None),
    ]  # fmt: skip


async def test_events_become_activities_and_rollups(engine):
    writer = writer_for(engine)
    await writer.start()
    await writer.put_many(conversation())
    await writer.close()
    assert writer.stats.inserted == 5
    assert await count(engine, Activity) == 5
    assert await count(engine, Member) == 3
    totals = await rollup_totals(engine)
    assert totals == {
        "messages": 3, "questions": 1, "replies": 1, "answers": 1,
        "thanks_received": 1, "reactions_given": 1,
    }  # fmt: skip
    async with engine.connect() as conn:
        edges = (await conn.execute(select(HelpEdge.replies))).scalars().all()
        joined = (
            await conn.execute(select(Member.joined_at).where(Member.platform_id == "carol"))
        ).scalar_one()
    assert edges == [1]  # Bob helped Alice; Alice's thank-you is not help
    assert joined == T0
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(
                Activity.event_id,
                Activity.channel_id,
                Activity.target_member_id,
                Activity.parent_event_id,
            )
        )
        stored = {e: (c is None, t is None, p) for e, c, t, p in rows}
    # What an event lacks is stored as NULL, whatever the writer binds for it.
    assert stored == {
        "q1": (False, True, None),
        "a1": (False, False, "q1"),
        "t1": (False, False, "a1"),
        "r1": (False, False, None),
        "j1": (True, True, None),
    }


async def test_same_events_twice_change_nothing(engine):
    events = conversation()
    writer = writer_for(engine, batch_size=2)
    await writer.start()
    await writer.put_many(events)
    await writer.flush()
    before = await rollup_totals(engine)
    await writer.put_many(events)  # a replay, a platform retry, a re-import
    await writer.put(events[1])
    await writer.close()
    assert writer.stats.inserted == 5
    assert writer.stats.duplicates == 6
    assert await count(engine, Activity) == 5
    assert await rollup_totals(engine) == before


async def test_duplicates_inside_one_batch_collapse(engine):
    event = ev("message", "alice", event_id="dup")
    writer = writer_for(engine, batch_size=10)
    await writer.start()
    await writer.put_many([event, event, event])
    await writer.close()
    assert await count(engine, Activity) == 1
    assert (await rollup_totals(engine))["messages"] == 1


async def test_concurrent_writers_on_one_database(database_url):
    engines = [create_engine(database_url) for _ in range(2)]
    await upgrade(engines[0])
    events = [ev("message", f"m{i % 40}", event_id=f"c{i}", days=i / 100) for i in range(600)]
    writers = [writer_for(e, batch_size=50) for e in engines]
    for w in writers:
        await w.start()
    # Both see every event, in different orders, as two processes catching up would.
    await asyncio.gather(writers[0].put_many(events), writers[1].put_many(events[::-1]))
    for w in writers:
        await w.close()
    try:
        assert sum(w.stats.inserted for w in writers) == 600
        assert await count(engines[0], Activity) == 600
        assert await count(engines[0], Member) == 40
        assert (await rollup_totals(engines[0]))["messages"] == 600
    finally:
        for e in engines:
            await e.dispose()


async def test_unstarted_queue_pushes_back_instead_of_growing(sqlite_engine):
    writer = writer_for(sqlite_engine, queue_size=5)
    for i in range(5):
        await writer.put(ev(event_id=f"bp{i}"))
    blocked = asyncio.create_task(writer.put(ev(event_id="bp5")))
    await asyncio.sleep(0.05)
    assert not blocked.done()  # the producer waits: memory stays bounded
    await writer.start()
    await asyncio.wait_for(blocked, 5)
    await writer.close()
    assert await count(sqlite_engine, Activity) == 6


async def test_close_flushes_everything_queued(sqlite_engine):
    writer = writer_for(sqlite_engine, batch_size=1000, flush_interval=3600)
    await writer.start()
    await writer.put_many([ev(event_id=f"s{i}") for i in range(250)])
    await writer.close()
    assert await count(sqlite_engine, Activity) == 250
    with pytest.raises(WriterClosedError):
        await writer.put(ev(event_id="late"))


async def test_blocklisted_members_are_dropped_on_arrival(sqlite_engine):
    async with sqlite_engine.begin() as conn:
        await conn.execute(
            Blocklist.__table__.insert().values(
                id_hash=member_hash(KEY, "discord", "g1", "mallory"), added_at=T0
            )
        )
    writer = writer_for(sqlite_engine)
    await writer.start()
    await writer.put_many(
        [
            ev("message", "mallory", event_id="x1"),
            ev("reply", "bob", event_id="x2", target_member_id="mallory"),
            ev("message", "bob", event_id="x3"),
        ]
    )
    await writer.close()
    assert writer.stats.blocked == 1
    async with sqlite_engine.connect() as conn:
        members = set((await conn.execute(select(Member.platform_id))).scalars())
    assert members == {"bob"}  # not even as a reply target
    assert await count(sqlite_engine, Activity) == 2


def test_naive_datetimes_are_refused():
    from datetime import datetime

    with pytest.raises(EventError, match="timezone-aware"):
        ev(at=datetime(2026, 1, 1))  # noqa: DTZ001
    with pytest.raises(EventError, match="target"):
        ev(ActivityKind.REACTION_RECEIVED)


# --- a real PostgreSQL outage in the middle of ingestion ---------------------------------


async def _set_outage(server, database: str, down: bool) -> None:
    conn = await asyncpg.connect(server.admin_dsn())
    try:
        await conn.execute(f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS {not down!s}')
        if down:
            await conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
                database,
            )
    finally:
        await conn.close()


@pytest.mark.postgres
async def test_outage_mid_ingestion_loses_nothing(postgres_server):
    from tests.conftest import _fresh_pg_database

    url = await _fresh_pg_database(postgres_server)
    database = url.rsplit("/", 1)[1]
    engine = create_engine(url)
    await upgrade(engine)
    writer = writer_for(engine, batch_size=20, queue_size=50)
    await writer.start()
    await writer.put_many([ev(event_id=f"o{i}", member=f"m{i % 7}") for i in range(100)])
    await writer.flush()

    await _set_outage(postgres_server, database, down=True)
    during = asyncio.create_task(
        writer.put_many([ev(event_id=f"o{i}", member=f"m{i % 7}") for i in range(100, 300)])
    )
    await asyncio.sleep(0.5)
    assert writer.stats.retries > 0
    assert not during.done()  # queue full: producers wait while the database is away
    await _set_outage(postgres_server, database, down=False)
    await asyncio.wait_for(during, 30)
    await writer.close()

    assert await count(engine, Activity) == 300
    assert (await rollup_totals(engine))["messages"] == 300
    await engine.dispose()


@pytest.mark.postgres
async def test_shutdown_during_outage_spills_and_next_start_replays(postgres_server, tmp_path):
    from tests.conftest import _fresh_pg_database

    url = await _fresh_pg_database(postgres_server)
    database = url.rsplit("/", 1)[1]
    engine = create_engine(url)
    await upgrade(engine)
    spill = tmp_path / "unwritten.jsonl"
    writer = writer_for(engine, spill_path=spill)
    await writer.start()
    await _set_outage(postgres_server, database, down=True)
    await writer.put_many([ev(event_id=f"sp{i}", is_question=i % 2 == 0) for i in range(40)])
    await writer.close(grace_seconds=0.5)
    assert writer.stats.spilled == 40
    assert len(spill.read_text().splitlines()) == 40

    await _set_outage(postgres_server, database, down=False)
    await engine.dispose()
    engine = create_engine(url)
    second = writer_for(engine, spill_path=spill)
    await second.start()
    await second.close()
    assert second.stats.replayed == 40
    assert not spill.exists()
    assert await count(engine, Activity) == 40
    assert (await rollup_totals(engine))["questions"] == 20
    async with engine.connect() as conn:
        assert (await conn.execute(text("select count(*) from members"))).scalar_one() == 1
    await engine.dispose()


async def test_batch_mixing_old_and_new_events_counts_only_the_new(engine):
    old = [ev("message", "alice", event_id=f"old-{i}") for i in range(3)]
    new = [ev("message", "bob", event_id=f"new-{i}", days=i + 0.25) for i in range(2)]
    writer = writer_for(engine, batch_size=10)
    await writer.start()
    await writer.put_many(old)
    await writer.flush()
    await writer.put_many([old[0], new[0], old[1], new[1], new[1]])
    await writer.close()
    assert writer.stats.inserted == 5
    assert writer.stats.duplicates == 3
    assert (await rollup_totals(engine))["messages"] == 5
    async with engine.connect() as conn:
        times = (
            await conn.execute(select(Activity.occurred_at).where(Activity.event_id == "new-1"))
        ).scalar_one()
    assert times == new[1].occurred_at  # stored and read back as the same aware instant


async def test_a_restarted_writer_names_members_first_stored_without_a_name(engine):
    # Before the restart Bob was only ever replied to (no name), and Alice had a newer name.
    before = writer_for(engine)
    await before.start()
    await before.put_many([
        ev("reply", "carol", event_id="r1", target_member_id="bob", member_name="Carol"),
        ev("message", "alice", event_id="m1", member_name="Alice (new)"),
    ])  # fmt: skip
    await before.close()
    after = writer_for(engine)  # a restart, or an import resumed after a crash
    await after.start()
    await after.put_many([
        ev("message", "bob", event_id="m2", member_name="Bob"),
        ev("message", "alice", event_id="m3", member_name="Alice (old export)"),
    ])  # fmt: skip
    await after.close()
    async with engine.connect() as conn:
        names = dict((await conn.execute(select(Member.platform_id, Member.display_name))).all())
    assert names == {"alice": "Alice (new)", "bob": "Bob", "carol": "Carol"}
