"""PostgreSQL stores exactly what SQLite stores: the same exports, the same batches, both backends.

The writers differ by backend (SQLite: executemany and the new rows above the old highest id;
PostgreSQL: COPY into a staging table and one INSERT ... SELECT ... ON CONFLICT DO NOTHING
RETURNING, storage.pg_bulk.insert_new_rows), so each test runs the same input through both and
compares every table an import writes, row ids replaced by platform ids
(tests.importers.test_import_bulk.dump).
"""

import itertools
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.exc import IntegrityError

from bot.importers.discord import DiscordExportReader
from bot.importers.run import run_import
from bot.importers.slack import SlackExportReader
from bot.settings import parse_settings
from storage.engine import IMMEDIATE, create_engine
from storage.migrate import upgrade
from storage.writer.batch import BatchWriter
from storage.writer.bulk import import_connection
from storage.writer.pg_insert import may_skip_reference_checks
from tests.conftest import SHARED, _fresh_pg_database
from tests.factories import ev
from tests.importers.test_import_bulk import (
    DATA_TABLES,
    KEY,
    assert_rollups_match_activities,
    assert_same,
    dump,
)

pytestmark = pytest.mark.postgres

CORPUS = Path(__file__).resolve().parents[2] / "bench" / "corpus"
SLACK_SAMPLE = SHARED / "data" / "slack_export_viewer_testarchive.zip"
# Small batches, so threads, thank-yous and reactions fall in other batches than what they
# answer, and every part of the bulk path runs (reader process, deferred index on SQLite).
BATCH = 37
_roles = itertools.count()


@pytest.fixture(autouse=True)
def hash_key(monkeypatch):
    monkeypatch.setenv("PULSE_HASH_KEY", KEY)


@pytest.fixture
async def urls(tmp_path, postgres_server) -> tuple[str, str]:
    """An empty SQLite file and an empty PostgreSQL database."""
    return f"sqlite+aiosqlite:///{tmp_path / 'pulse.db'}", await _fresh_pg_database(postgres_server)


def corpus_import(platform: str):
    """How to import the labelled corpus of PLATFORM: a reader factory, help channels and now."""
    labels = json.loads((CORPUS / f"labels-{platform}.json").read_text())
    channels = labels["help_channel_ids"]
    if platform == "slack":

        def reader():
            return SlackExportReader(CORPUS / "slack", help_channels=channels)
    else:

        def reader():
            return DiscordExportReader([CORPUS / "discord"], help_channels=channels)

    return reader, {platform: {"help_channel_ids": channels}}, datetime.fromisoformat(labels["now"])


async def import_into(url: str, reader_for, config: dict, now: datetime):
    reader = reader_for()
    try:
        settings = parse_settings({"database": {"url": url}, **config})
        return await run_import(
            settings, reader, now, in_process=True, batch_size=BATCH, defer_indexes_from=1
        )
    finally:
        close = getattr(reader, "close", None)
        if close is not None:
            close()


def plain(value):
    """VALUE as SQLite hands it back: 0/1 for flags, UTC text for times, JSON as sorted text."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
    if isinstance(value, str) and value[:1] in "[{":
        value = json.loads(value)
    if isinstance(value, list | dict):
        return json.dumps(value, sort_keys=True)
    return value


async def stored_rows(url: str) -> dict:
    """Every table an import writes (see dump), in one form whichever backend holds it."""
    tables = await dump(url)
    return {
        name: sorted((tuple(map(plain, row)) for row in found), key=repr)
        for name, found in tables.items()
    }


async def analyzed(url: str) -> set[str]:
    """The tables PostgreSQL's planner has statistics for, from an ANALYZE (not autovacuum's)."""
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            found = await conn.exec_driver_sql(
                "SELECT relname FROM pg_stat_user_tables WHERE last_analyze IS NOT NULL"
            )
            return set(found.scalars())
    finally:
        await engine.dispose()


async def assert_backends_agree(urls, reader_for, config, now) -> dict:
    """Import into both backends, then again; return what they both store."""
    sqlite_url, pg_url = urls
    results = [await import_into(url, reader_for, config, now) for url in urls]
    stored = await stored_rows(sqlite_url)
    assert_same(await stored_rows(pg_url), stored)
    assert results[0].stats.inserted == results[1].stats.inserted == len(stored["activities"])
    for url in urls:
        assert await assert_rollups_match_activities(url) == len(stored["activities"])
    assert await analyzed(pg_url) == {"activities", "member_daily_rollups", "help_edges",
                                      "member_channel_rollups", "members"}  # fmt: skip
    # A re-import stores nothing more and changes no row, on either backend.
    for url in urls:
        again = await import_into(url, reader_for, config, now)
        assert again.stats.inserted == 0
        assert again.stats.duplicates == again.stats.written == results[0].stats.written
        assert_same(await stored_rows(url), stored, DATA_TABLES)
    return stored


@pytest.mark.parametrize("platform", ["slack", "discord"])
async def test_labelled_corpus_is_stored_alike_on_both_backends(urls, platform):
    stored = await assert_backends_agree(urls, *corpus_import(platform))
    # Not trivially equal: the corpus has answers, accepted answers, thanks and reactions.
    assert len(stored["activities"]) > 500
    assert sum(row[5] for row in stored["daily"]) > 20, "answers"
    assert sum(row[11] for row in stored["daily"]) > 5, "accepted answers"
    assert sum(row[6] for row in stored["daily"]) > 5, "thanks received"
    assert sum(row[8] for row in stored["daily"]) > 5, "reactions received"
    assert stored["edges"]
    assert stored["channel_rollups"]


@pytest.mark.skipif(
    not SLACK_SAMPLE.exists(),
    reason=f"real export sample absent ({SLACK_SAMPLE}): a fresh clone has no ../shared",
)
async def test_real_slack_export_is_stored_alike_on_both_backends(urls):
    def reader():
        return SlackExportReader(SLACK_SAMPLE)

    stored = await assert_backends_agree(urls, reader, {}, datetime(2016, 12, 1, tzinfo=UTC))
    assert len(stored["activities"]) > 50


async def test_a_batch_repeating_events_stores_each_once_alike(urls):
    """One batch repeats events (a platform retry inside it), and repeats stored ones."""
    at = datetime(2026, 5, 1, 12, tzinfo=UTC)
    question = ev("message", "U1", event_id="m1", at=at, is_question=True, channel="CH")

    def reply(event_id: str, member: str, to: str, minutes: int, **flags):
        return ev("reply", member, target_member_id=to, parent_event_id="m1", event_id=event_id,
                  at=at + timedelta(minutes=minutes), channel="CH", **flags)  # fmt: skip

    answer, thanks = reply("r1", "U2", "U1", 1), reply("t1", "U1", "U2", 2, is_thanks=True)
    # A repeat with other content (a second source giving one event id): the first one in
    # the batch wins on both backends, and a stored one wins over any repeat.
    changed = reply("r1", "U3", "U1", 3)
    batches = ([question, answer, changed], [changed, question, answer, thanks, thanks])
    results = []
    for url in urls:
        engine = create_engine(url)
        try:
            await upgrade(engine)
            writer = BatchWriter(KEY.encode())
            async with engine.connect() as conn:
                conn = await conn.execution_options(**{IMMEDIATE: True})
                for batch in batches:
                    async with conn.begin():
                        results.append(await writer.write(conn, batch))
                    writer.commit_succeeded()
        finally:
            await engine.dispose()
    on_sqlite, on_pg = results[:2], results[2:]
    assert [(r.inserted, r.duplicates) for r in on_sqlite] == [(2, 1), (1, 4)]
    assert on_pg == on_sqlite
    stored = await stored_rows(urls[0])
    assert_same(await stored_rows(urls[1]), stored, DATA_TABLES)
    assert sorted(row[:3] for row in stored["activities"]) == [
        ("m1", "message", "U1"), ("r1", "reply", "U2"), ("t1", "reply", "U1"),
    ]  # fmt: skip
    assert [row[9] for row in sorted(stored["activities"]) if row[0] == "r1"] == [1]
    for url in urls:
        assert await assert_rollups_match_activities(url) == 3


async def plain_role_database(server) -> str:
    """An empty database owned by a role that is no superuser; its URL."""
    name = f"pulse_plain_{os.getpid()}_{next(_roles)}"
    conn = await asyncpg.connect(server.admin_dsn())
    try:
        await conn.execute(f'CREATE ROLE "{name}" LOGIN')
        await conn.execute(f'CREATE DATABASE "{name}" OWNER "{name}"')
    finally:
        await conn.close()
    return f"postgresql+asyncpg://{name}@127.0.0.1:{server.port}/{name}"


async def skips_checks(url: str) -> bool:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return await may_skip_reference_checks(conn)
    finally:
        await engine.dispose()


async def test_a_role_that_is_no_superuser_keeps_the_checks_and_stores_the_same(
    urls, postgres_server
):
    """The other path of storage.writer.pg_insert: every row's references checked by the FKs."""
    plain = await plain_role_database(postgres_server)
    assert await skips_checks(urls[1]), "the other tests import with the checks skipped"
    assert not await skips_checks(plain)
    await assert_backends_agree((urls[0], plain), *corpus_import("slack"))


async def test_a_trigger_of_its_own_keeps_the_checks_on(postgres_server):
    """Turning the checks off would silence it too (tests/storage/test_writer_faults.py)."""
    url = await _fresh_pg_database(postgres_server)
    engine = create_engine(url)
    try:
        await upgrade(engine)
        assert await skips_checks(url)
        async with engine.begin() as conn:
            await conn.exec_driver_sql(
                "CREATE FUNCTION audit() RETURNS trigger AS $$ BEGIN RETURN NEW; END $$"
                " LANGUAGE plpgsql"
            )
            await conn.exec_driver_sql(
                "CREATE TRIGGER audit AFTER UPDATE ON members FOR EACH ROW EXECUTE FUNCTION audit()"
            )
        assert not await skips_checks(url)
    finally:
        await engine.dispose()


async def test_a_member_deleted_since_its_id_was_cached_is_refused_as_before(postgres_server):
    """Checks are skipped only once every row a batch refers to is there, and locked."""
    url = await _fresh_pg_database(postgres_server)
    engine = create_engine(url)
    try:
        await upgrade(engine)
        writer = BatchWriter(KEY.encode())
        async with import_connection(engine) as conn:
            async with conn.begin():
                await writer.write(conn, [ev("message", "U1", event_id="a")])
            writer.commit_succeeded()
            # Deleted behind the writer's back (an opt-out would make it forget its ids).
            async with engine.begin() as other:
                await other.exec_driver_sql("DELETE FROM members WHERE platform_id = 'U1'")
            with pytest.raises(IntegrityError, match="foreign key"):
                async with conn.begin():
                    await writer.write(conn, [ev("message", "U1", event_id="b")])
            writer.rollback_happened()
            fresh = BatchWriter(KEY.encode())  # looks the member up again, and stores them
            async with conn.begin():
                result = await fresh.write(conn, [ev("message", "U1", event_id="c")])
        async with engine.connect() as conn:
            stored = await conn.exec_driver_sql(
                "SELECT a.event_id, m.platform_id FROM activities a JOIN members m"
                " ON m.id = a.member_id"
            )
            assert stored.all() == [("c", "U1")]
        assert result.inserted == 1
    finally:
        await engine.dispose()
