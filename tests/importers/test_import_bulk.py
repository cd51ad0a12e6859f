"""The bulk import path: a reader process, large batches, deferred indexes and no FK checks.

Results are compared with independent references: the same export written the way the live
writer and the first importer wrote it (channel by channel, 5,000 events per transaction
through BatchWriter.write on an ordinary connection, indexes and foreign keys on), and SQL that
recomputes every rollup from the stored activities.
"""

import asyncio
import functools
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.dialects import sqlite

from bot.importers.feed import PIECE, Chunk, ReaderFailed, reading
from bot.importers.limits import ImportFormatError
from bot.importers.run import ImportFailed, run_import
from bot.importers.slack import SlackExportReader
from bot.services.classification import reclassify_and_scan
from bot.settings import parse_settings
from community.events import day_number
from storage.engine import IMMEDIATE, create_engine
from storage.history import rebuild_history
from storage.migrate import upgrade
from storage.models import Space
from storage.privacy import forget_member
from storage.types import UTCDateTime
from storage.uow import UnitOfWork
from storage.writer.batch import BatchWriter
from storage.writer.bulk import DEFERRABLE, DEFERRED_KEY, IndexDeferral, import_connection
from storage.writer.queue import IngestWriter
from storage.writer.records import event_record, event_records
from tests import exports
from tests.conftest import _fresh_pg_database
from tests.factories import ev

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
KEY = "bulk-test-hash-key"
HELP = ["CHELP"]
# The bulk path with every part switched on, whatever the export's size.
BULK = {"in_process": True, "batch_size": 700, "defer_indexes_from": 1, "now": NOW}


@pytest.fixture(autouse=True)
def hash_key(monkeypatch):
    monkeypatch.setenv("PULSE_HASH_KEY", KEY)


@pytest.fixture
async def other_url(database_url, request, tmp_path):
    """A second empty database on the same backend, for the reference import."""
    if database_url.startswith("sqlite"):
        return f"sqlite+aiosqlite:///{tmp_path / 'reference.db'}"
    return await _fresh_pg_database(request.getfixturevalue("postgres_server"))


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite+aiosqlite:///{tmp_path / 'pulse.db'}"


@pytest.fixture
def reference_url(tmp_path):
    return f"sqlite+aiosqlite:///{tmp_path / 'reference.db'}"


@pytest.fixture(scope="module")
def busy(tmp_path_factory) -> Path:
    return exports.busy_slack(tmp_path_factory.mktemp("busy") / "export", NOW - timedelta(days=1))


def settings_for(url: str):
    return parse_settings({"database": {"url": url}, "slack": {"help_channel_ids": HELP}})


async def bulk_import(url: str, path: Path, **options):
    reader = SlackExportReader(path, help_channels=HELP)
    try:
        return await run_import(settings_for(url), reader, **{**BULK, **options})
    finally:
        reader.close()


def channel_by_channel(path: Path) -> list:
    """The export's events in the order the first importer read them: channel by channel.

    Slack event ids start with their channel, and each channel's events keep their order.
    """
    reader = SlackExportReader(path, help_channels=HELP)
    events = [event for chunk in reader.chunks() for event in chunk.events]
    reader.close()
    folders = {c["id"]: c["name"] for c in json.loads((path / "channels.json").read_text())}
    return sorted(events, key=lambda event: folders[event.event_id.split(":")[0]])


async def reference_import(url: str, events: list) -> None:
    """EVENTS written as before the bulk path, tier history replayed, then the daily job at NOW."""
    engine = create_engine(url)
    try:
        await upgrade(engine)
        writer = BatchWriter(KEY.encode())
        async with engine.connect() as conn:
            conn = await conn.execution_options(**{IMMEDIATE: True})
            for start in range(0, len(events), 5000):
                async with conn.begin():
                    await writer.write(conn, events[start : start + 5000])
                writer.commit_succeeded()
        async with engine.connect() as conn:
            spaces = (await conn.execute(select(Space.id))).scalars().all()
        settings = settings_for(url)
        for space in spaces:
            await rebuild_history(engine, space, NOW, settings.tiers.policy())
            await reclassify_and_scan(
                UnitOfWork(engine), space, NOW, settings.tiers.policy(), settings.quiet.policy()
            )
    finally:
        await engine.dispose()


async def rows(conn, sql: str) -> list[tuple]:
    return [tuple(row) for row in await conn.exec_driver_sql(sql)]


QUERIES = {
    "spaces": "SELECT platform, platform_id, name FROM spaces",
    "channels": "SELECT platform_id, name, is_help FROM channels",
    "members": "SELECT platform_id, display_name, is_bot, is_staff, joined_at, left_at, "
    "away_until FROM members",
    "activities": "SELECT event_id, kind, member_id, channel_id, target_member_id, "
    "parent_event_id, is_question, is_thanks, is_answer, is_accepted, occurred_at, day "
    "FROM activities",
    "daily": "SELECT member_id, day, messages, questions, replies, answers, thanks_received, "
    "reactions_given, reactions_received, threads_started, contributions, accepted_answers "
    "FROM member_daily_rollups",
    "edges": "SELECT helper_id, helped_id, first_day, last_day, replies FROM help_edges",
    "channel_rollups": "SELECT member_id, channel_id, posts, last_day FROM member_channel_rollups",
    "tiers": "SELECT member_id, tier, earned_tier, score, active_weeks, window_weeks, "
    "helped_members, answers, thanks_received, contributions, recent_score, prior_score, "
    "recent_replies, last_active_day, below_count, reasons, since, evaluated_at "
    "FROM tier_assignments",
    "tier_changes": "SELECT member_id, from_tier, to_tier, score, reasons, changed_at "
    "FROM tier_changes",
    "quiet": "SELECT member_id, status, opened_at, closed_at, snoozed_until, last_seen_at, "
    "usual_gap_days, silent_days, tier, context FROM quiet_flags",
}
# Which columns of each query hold member row ids and channel row ids.
MEMBER_COLUMNS = {"activities": (2, 4), "daily": (0,), "edges": (0, 1), "channel_rollups": (0,),
                  "tiers": (0,), "tier_changes": (0,), "quiet": (0,)}  # fmt: skip
CHANNEL_COLUMNS = {"activities": (3,), "channel_rollups": (1,)}
DATA_TABLES = ("spaces", "channels", "members", "activities", "daily", "edges", "channel_rollups")


async def dump(url: str) -> dict:
    """Every table an import writes, row ids replaced by platform ids, in a stable order."""
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            tables = {name: await rows(conn, sql) for name, sql in QUERIES.items()}
            member = dict(await rows(conn, "SELECT id, platform_id FROM members"))
            channel = dict(await rows(conn, "SELECT id, platform_id FROM channels"))
            by_name = dict(await rows(conn, "SELECT display_name, platform_id FROM members"))
            channel_by_name = dict(await rows(conn, "SELECT name, platform_id FROM channels"))
    finally:
        await engine.dispose()
    out = {}
    for name, found in tables.items():
        mapped = []
        for row in found:
            row = list(row)
            for i in MEMBER_COLUMNS.get(name, ()):
                row[i] = member.get(row[i])
            for i in CHANNEL_COLUMNS.get(name, ()):
                row[i] = channel.get(row[i])
            mapped.append(tuple(row))
        out[name] = mapped
    replies = {(h, t): n for h, t, _, _, n in out["edges"]}
    posts = {(m, c): n for m, c, n, _ in out["channel_rollups"]}
    quiet = []
    for row in out["quiet"]:
        context = row[-1] if isinstance(row[-1], dict) else json.loads(row[-1])
        # Its top three helped members and channels break ties by row id, which follows the
        # order members first appear: keep what they show (their counts), not the names.
        context["helped"] = [replies.get((row[0], by_name.get(n))) for n in context["helped"]]
        context["channels"] = [
            posts.get((row[0], channel_by_name.get(c))) for c in context["channels"]
        ]
        quiet.append((*row[:-1], json.dumps(context, sort_keys=True)))
    out["quiet"] = quiet
    return {name: sorted(found, key=repr) for name, found in out.items()}


def assert_same(got: dict, expected: dict, tables=QUERIES) -> None:
    for name in tables:
        assert got[name] == expected[name], f"{name} differs"


POSTING = "('message', 'reply', 'thread_started')"
HELPS = "kind = 'reply' AND target_member_id IS NOT NULL AND target_member_id <> member_id"
# The rollup rules (docs/how-pulse-decides.md, storage.writer.statements), in SQL: an independent
# recomputation from the activities.
RECOMPUTED = {
    "daily": f"""
        SELECT member_id, day, sum(m), sum(q), sum(r), sum(a), sum(t), sum(g), sum(rr), sum(th),
               sum(c), sum(acc)
        FROM (
            SELECT member_id, day,
                CASE WHEN kind IN {POSTING} THEN 1 ELSE 0 END AS m,
                CASE WHEN kind IN {POSTING} AND is_question THEN 1 ELSE 0 END AS q,
                CASE WHEN {HELPS} AND NOT is_thanks THEN 1 ELSE 0 END AS r,
                CASE WHEN {HELPS} AND NOT is_thanks AND is_answer THEN 1 ELSE 0 END AS a,
                0 AS t,
                CASE kind WHEN 'reaction_given' THEN 1 WHEN 'reaction_removed' THEN -1
                    ELSE 0 END AS g,
                0 AS rr,
                CASE WHEN kind = 'thread_started' THEN 1 ELSE 0 END AS th,
                CASE WHEN kind = 'contribution_logged' THEN 1 ELSE 0 END AS c,
                CASE WHEN is_accepted THEN 1 ELSE 0 END AS acc
            FROM activities
            WHERE kind IN ('message', 'reply', 'thread_started', 'reaction_given',
                           'reaction_removed', 'contribution_logged')
            UNION ALL
            SELECT target_member_id, day, 0, 0, 0, 0,
                -- thanks count once per thanker, thanked and thread
                CASE WHEN kind IN {POSTING} AND (parent_event_id IS NULL OR NOT EXISTS (
                    SELECT 1 FROM activities e WHERE e.space_id = activities.space_id
                    AND e.parent_event_id = activities.parent_event_id
                    AND e.member_id = activities.member_id
                    AND e.target_member_id = activities.target_member_id
                    AND e.is_thanks AND e.kind IN {POSTING} AND e.id < activities.id))
                THEN 1 ELSE 0 END,
                0,
                CASE WHEN kind = 'reaction_removed' THEN -1 WHEN kind IN {POSTING} THEN 0
                    ELSE 1 END,
                0, 0, 0
            FROM activities
            WHERE target_member_id IS NOT NULL AND (
                (kind IN {POSTING} AND is_thanks AND target_member_id <> member_id)
                OR (kind IN ('reaction_given', 'reaction_removed')
                    AND target_member_id <> member_id)
                OR kind = 'reaction_received')
        ) counted
        GROUP BY member_id, day""",
    "edges": f"""
        SELECT member_id, target_member_id, min(day), max(day), count(*) FROM activities
        WHERE {HELPS} AND NOT is_thanks GROUP BY member_id, target_member_id""",
    "channel_rollups": f"""
        SELECT member_id, channel_id, count(*), max(day) FROM activities
        WHERE kind IN {POSTING} AND channel_id IS NOT NULL GROUP BY member_id, channel_id""",
}
STORED = {
    "daily": "SELECT member_id, day, messages, questions, replies, answers, thanks_received, "
    "reactions_given, reactions_received, threads_started, contributions, accepted_answers "
    "FROM member_daily_rollups",
    "edges": "SELECT helper_id, helped_id, first_day, last_day, replies FROM help_edges",
    "channel_rollups": "SELECT member_id, channel_id, posts, last_day FROM member_channel_rollups",
}


async def assert_rollups_match_activities(url: str) -> int:
    """Every rollup equals its recomputation from the stored activities; return activities."""
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            for name, sql in RECOMPUTED.items():
                stored = sorted(await rows(conn, STORED[name]))
                assert sorted(await rows(conn, sql)) == stored, f"{name} do not add up"
            return (await conn.exec_driver_sql("SELECT count(*) FROM activities")).scalar()
    finally:
        await engine.dispose()


async def sqlite_indexes(url: str) -> tuple[list[tuple], str | None]:
    """The database's indexes, and what pulse_meta records as deferred."""
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            indexes = sorted(
                await rows(
                    conn,
                    "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL",
                )
            )
            recorded = (
                await conn.exec_driver_sql(
                    "SELECT value FROM pulse_meta WHERE key = ?", (DEFERRED_KEY,)
                )
            ).scalar()
        return indexes, recorded
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def migrated_indexes(tmp_path_factory) -> list[tuple]:
    """The indexes a freshly migrated database has."""
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('fresh') / 'fresh.db'}"

    async def go():
        engine = create_engine(url)
        await upgrade(engine)
        await engine.dispose()
        return (await sqlite_indexes(url))[0]

    return asyncio.run(go())


# --- the same database as before ------------------------------------------------------------


async def test_bulk_import_stores_what_the_reference_stores(database_url, other_url, busy):
    await reference_import(other_url, channel_by_channel(busy))
    result = await bulk_import(database_url, busy)
    got, expected = await dump(database_url), await dump(other_url)
    assert_same(got, expected)
    # Not trivially equal: the export exercises answers, thanks, tiers and quiet flags.
    assert result.stats.inserted == len(expected["activities"]) > 3000
    assert result.stats.batches > 5
    assert {row[1] for row in expected["tiers"]} >= {"passive", "active"}
    assert expected["quiet"], "some members went quiet"
    assert sum(row[5] for row in expected["daily"]) > 100, "replies answered questions"
    assert await assert_rollups_match_activities(database_url) == result.stats.inserted


async def test_bulk_indexes_come_back_and_nothing_stays_recorded(
    sqlite_url, busy, migrated_indexes
):
    result = await bulk_import(sqlite_url, busy)
    assert result.stats.inserted > 3000
    indexes, recorded = await sqlite_indexes(sqlite_url)
    assert indexes == migrated_indexes
    assert recorded is None


async def test_reimport_and_overlapping_exports_change_nothing(
    database_url, other_url, busy, tmp_path
):
    days = sorted(p.name for p in (busy / "general").iterdir())
    early = split_export(busy, tmp_path / "early", lambda day: day <= days[70])
    late = split_export(busy, tmp_path / "late", lambda day: day >= days[40])  # overlaps
    await reference_import(other_url, channel_by_channel(busy))
    first = await bulk_import(database_url, early)
    second = await bulk_import(database_url, late)
    assert first.stats.inserted > 0
    assert second.stats.duplicates > 0, "the exports overlap"
    again = await bulk_import(database_url, busy)
    assert again.stats.inserted == 0
    assert again.stats.duplicates == again.stats.written > 0
    # Tier history is left out: each import replays only the days after the one before it.
    assert_same(await dump(database_url), await dump(other_url), DATA_TABLES)


def split_export(source: Path, target: Path, keep) -> Path:
    """A copy of the Slack export SOURCE with only the day files whose names KEEP accepts."""
    shutil.copytree(source, target, ignore=lambda _, names: [
        n for n in names if n.endswith(".json") and n[:4].isdigit() and not keep(n)
    ])  # fmt: skip
    return target


async def test_import_overlapping_live_writes_counts_each_event_once(database_url, other_url, busy):
    """The live writer stores some of the export's events, and one of its own, meanwhile."""
    events = channel_by_channel(busy)
    # Not replies: a reply the live bot logs before its question is stored is no answer.
    live = [e for e in events if e.kind.value != "reply"][::3]
    own = ev("message", "U01", platform=events[0].platform, space=exports.TEAM, channel="CGEN",
             channel_name="general", event_id="CGEN:live-only", at=NOW - timedelta(days=2),
             member_name="Member U01")  # fmt: skip
    await reference_import(other_url, [*events, own])

    engine = create_engine(database_url)
    await upgrade(engine)
    writer = IngestWriter(engine, KEY.encode(), batch_size=50, flush_interval=0.01)
    await writer.start()
    before, during = live[0::2], live[1::2]
    putting = []

    def live_writes(_stats) -> None:
        # After the import's first batch: some of these it has stored, the rest it will find
        # stored by the live writer, whichever takes the write lock first.
        if not putting:
            putting.append(asyncio.ensure_future(writer.put_many(during)))

    try:
        await writer.put_many([*before, own])
        await writer.flush()
        result = await bulk_import(database_url, busy, on_batch=live_writes)
        await asyncio.gather(*putting)
        await writer.close()
    finally:
        await engine.dispose()
    assert writer.stats.inserted + result.stats.inserted == len(events) + 1
    assert writer.stats.duplicates + result.stats.duplicates == len(live)
    assert writer.stats.duplicates > 0, "the import stored some live events first"
    assert result.stats.duplicates >= len(before), "the live writer stored these first"
    # Tiers are left out: the import's reclassification may run before the last live write.
    assert_same(await dump(database_url), await dump(other_url), DATA_TABLES)


async def test_opted_out_member_stays_out_of_a_bulk_import(database_url, busy):
    await bulk_import(database_url, busy)
    engine = create_engine(database_url)
    try:
        async with engine.begin() as conn:
            space = (await conn.execute(select(Space.id))).scalar_one()
            assert await forget_member(conn, space, "U01", KEY.encode(), NOW)
    finally:
        await engine.dispose()
    forgotten = await dump(database_url)
    again = await bulk_import(database_url, busy)
    assert again.stats.blocked > 0
    assert again.stats.inserted == 0  # what others aimed at U01 is stored already
    got = await dump(database_url)
    assert "U01" not in {row[0] for row in got["members"]}
    assert all(row[2] != "U01" and row[4] != "U01" for row in got["activities"])
    assert_same(got, forgotten, DATA_TABLES)


# --- damaged input and crashes --------------------------------------------------------------


async def test_damaged_file_stops_cleanly_and_the_rerun_resumes(
    sqlite_url, reference_url, busy, tmp_path, migrated_indexes
):
    path = tmp_path / "export"
    shutil.copytree(busy, path)
    bad = sorted((path / "help").iterdir())[40]
    good = bad.read_bytes()
    bad.write_bytes(good[: len(good) // 2])
    with pytest.raises(ImportFailed) as failed:
        await bulk_import(sqlite_url, path)
    assert f"help/{bad.name}" in str(failed.value)
    assert "truncated" in str(failed.value)
    stored = await assert_rollups_match_activities(sqlite_url)
    assert 0 < stored == failed.value.stats.inserted
    assert await sqlite_indexes(sqlite_url) == (migrated_indexes, None)

    bad.write_bytes(good)
    resumed = await bulk_import(sqlite_url, path)
    assert resumed.stats.duplicates == stored
    await reference_import(reference_url, channel_by_channel(path))
    assert_same(await dump(sqlite_url), await dump(reference_url))


CRASHING_IMPORT = """
import asyncio, sys, time
from datetime import UTC, datetime
from pathlib import Path
from bot.importers.run import run_import
from bot.importers.slack import SlackExportReader
from bot.settings import parse_settings

def stall(stats):
    Path(sys.argv[3]).write_text(str(stats.batches))
    time.sleep(120)  # the test kills this process here, mid-import

if __name__ == "__main__":
    settings = parse_settings({"database": {"url": sys.argv[1]}})
    reader = SlackExportReader(Path(sys.argv[2]), help_channels=["CHELP"])
    now = datetime(2026, 6, 1, 12, tzinfo=UTC)
    asyncio.run(run_import(settings, reader, now, batch_size=500, defer_indexes_from=1,
                           on_batch=stall, in_process=False))
"""


def test_a_killed_import_leaves_its_indexes_recorded_for_the_next_start(
    sqlite_url, reference_url, busy, tmp_path, migrated_indexes
):
    script, marker = tmp_path / "crash.py", tmp_path / "batches"
    script.write_text(CRASHING_IMPORT)
    child = subprocess.Popen([sys.executable, str(script), sqlite_url, str(busy), str(marker)])
    try:
        deadline = time.monotonic() + 60
        while not marker.exists() and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.exists(), "the import never committed a batch"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    indexes, recorded = asyncio.run(sqlite_indexes(sqlite_url))
    assert {name for name, _ in indexes}.isdisjoint(DEFERRABLE)
    assert sorted(name for name, _ in json.loads(recorded)) == sorted(DEFERRABLE)
    assert asyncio.run(assert_rollups_match_activities(sqlite_url)) > 0  # what committed adds up

    async def upgrade_as_the_next_start_does():
        engine = create_engine(sqlite_url)
        await upgrade(engine)  # `pulse run`, `pulse db upgrade` and every import do it first
        await engine.dispose()

    asyncio.run(upgrade_as_the_next_start_does())
    assert asyncio.run(sqlite_indexes(sqlite_url)) == (migrated_indexes, None)

    asyncio.run(bulk_import(sqlite_url, busy))
    asyncio.run(reference_import(reference_url, channel_by_channel(busy)))
    assert_same(asyncio.run(dump(sqlite_url)), asyncio.run(dump(reference_url)))


# --- the pieces ------------------------------------------------------------------------------


async def test_indexes_go_only_once_the_import_outgrows_the_table(sqlite_engine):
    writer = BatchWriter(KEY.encode())
    async with sqlite_engine.begin() as conn:
        await writer.write(conn, [ev(event_id=f"old{i}") for i in range(1000)])

    async def names() -> set[str]:
        async with sqlite_engine.connect() as conn:
            found = await rows(conn, "SELECT name FROM sqlite_master WHERE type = 'index'")
        return {name for (name,) in found}

    async with import_connection(sqlite_engine) as conn:
        # 1,000 stored: the indexes go once the import brings 500 (and at least 100).
        deferral = await IndexDeferral.start(conn, min_rows=100)
        for _ in range(2):
            async with conn.begin():
                await deferral.before_batch(conn, 200)
        assert set(DEFERRABLE) <= await names()
        async with conn.begin():
            await deferral.before_batch(conn, 200)
        assert set(DEFERRABLE).isdisjoint(await names())
        await deferral.finish(conn)
    assert set(DEFERRABLE) <= await names()


async def test_import_connection_turns_foreign_keys_back_on(sqlite_engine):
    async with import_connection(sqlite_engine) as conn:
        assert (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 0
        await conn.rollback()
    for _ in range(3):  # the pool hands the same connection out again
        async with sqlite_engine.connect() as conn:
            assert (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1


class _Unreadable:
    """A reader whose reopening, in the reader process, goes wrong in a given way."""

    files = total_bytes = 0

    def __init__(self, reopen) -> None:
        self.reopen = reopen


async def read_all(reader) -> list[tuple]:
    async with reading(reader, 100, in_process=True) as messages:
        return [message async for message in messages]


async def test_reader_process_reports_a_malformed_export(tmp_path):
    reader = _Unreadable(functools.partial(SlackExportReader, tmp_path / "missing.zip"))
    (*_, last) = await read_all(reader)
    assert last[0] == "error"
    assert isinstance(last[1], ImportFormatError)
    assert "no such file or folder" in str(last[1])


async def test_reader_process_reports_its_own_failure_with_the_traceback():
    (*_, last) = await read_all(_Unreadable(functools.partial(int, "not a number")))
    assert last[0] == "error"
    assert isinstance(last[1], ReaderFailed)
    assert "ValueError: invalid literal for int()" in str(last[1])


async def test_reader_process_that_dies_is_an_error_not_a_hang():
    with pytest.raises(ReaderFailed, match=r"stopped unexpectedly \(exit code 3\)"):
        await asyncio.wait_for(read_all(_Unreadable(functools.partial(os._exit, 3))), 30)


class _Stalling:
    """A reader that stops part-way until a batch has been committed (or 30 s have passed)."""

    files, total_bytes, skipped = 1, 1, {}

    def __init__(self, first: int, then: int) -> None:
        self.first, self.then = first, then
        self.committed = threading.Event()
        self.saw_commit = False

    def chunks(self):
        yield Chunk([ev(event_id=f"a{n}", member=f"m{n % 50}") for n in range(self.first)], 1, 1)
        self.saw_commit = self.committed.wait(30)
        yield Chunk([ev(event_id=f"b{n}") for n in range(self.then)], 0, 1)


async def test_writer_takes_what_is_read_rather_than_wait_for_a_whole_batch(sqlite_url):
    # The first piece is far short of a batch and the reader waits: a writer that waited for
    # a whole batch would commit nothing until the reader gave up.
    reader = _Stalling(first=PIECE, then=10)
    result = await run_import(
        settings_for(sqlite_url),
        reader,
        batch_size=4 * PIECE,
        in_process=False,
        now=NOW,
        on_batch=lambda stats: reader.committed.set(),
    )
    assert reader.saw_commit
    assert (result.stats.batches, result.stats.inserted) == (2, PIECE + 10)


def test_slack_export_is_read_day_by_day_across_channels(busy):
    reader = SlackExportReader(busy)
    days = [event.occurred_at.date() for chunk in reader.chunks() for event in chunk.events]
    reader.close()
    assert days == sorted(days)
    assert len(set(days)) > 50


_OFFSETS = st.sampled_from(
    [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))]
)


# Hypothesis takes naive bounds and attaches the offsets itself.
_FROM = datetime(1971, 1, 1, tzinfo=UTC).replace(tzinfo=None)
_TO = datetime(2100, 1, 1, tzinfo=UTC).replace(tzinfo=None)


@given(st.datetimes(_FROM, _TO, timezones=_OFFSETS))
def test_record_time_is_what_sqlalchemy_stores_and_its_day(moment):
    record = event_record(ev(at=moment))
    dialect = sqlite.dialect()
    stored = sqlite.DATETIME().bind_processor(dialect)(
        UTCDateTime().process_bind_param(moment, dialect)
    )
    assert record[5] == stored
    assert record[6] == day_number(moment)


def test_records_of_a_chunk_are_each_events_own():
    """event_records reuses the last time it formatted: only for the very same datetime."""
    t1 = datetime(2024, 3, 9, 23, 59, 59, 999999, tzinfo=UTC)
    t2 = t1 + timedelta(microseconds=1)
    events = [ev(at=t1), ev(at=t1), ev(at=t2), ev(at=t1.astimezone(timezone(timedelta(hours=2))))]
    assert event_records(events) == [event_record(e) for e in events]
    assert [r[5] for r in event_records(events)] == [
        "2024-03-09 23:59:59.999999",
        "2024-03-09 23:59:59.999999",
        "2024-03-10 00:00:00.000000",
        "2024-03-09 23:59:59.999999",
    ]
