"""Two `pulse run` processes, one shard each, on one PostgreSQL: a SIGKILL loses nothing.

Both start together on a database that already knows both guilds, so both race for the daily
job and the weekly digests at start: the claims let exactly one post each digest. Under a
stream of messages, replies, thread replies and joins in both guilds, shard 0's process is
killed with SIGKILL and started again; its catch-up brings back what it held in memory and
what was said while it was down. Every delivered event is then stored exactly once, and
neither process logged a traceback, a deadlock or a serialization failure.
"""

from __future__ import annotations

import signal
from datetime import UTC, datetime, timedelta

import pytest

from community import ids
from community.events import ActivityEvent, ActivityKind, Platform
from storage.engine import create_engine
from storage.migrate import upgrade
from storage.writer.queue import IngestWriter
from tests.fakes.discord import started_fake
from tests.faults.killed_run import INGEST, RESTART_INGEST, any_stored, stored_at
from tests.faults.scenarios import fresh_database
from tests.pulse_process import PulseProcess, eventually, run_config

pytestmark = pytest.mark.postgres

KEY = "test-hash-key"  # what PulseProcess gives both processes
# Shard 0's process commits 50 events at a time and holds the rest (killed_run.INGEST): the
# first part of the stream gives it more than a batch, so some is stored and some only held.
ROUNDS = 14
LATER = 4
TROUBLE = ("Traceback", "deadlock", "could not serialize", "UniqueViolation")


def _second_guild(fake) -> dict:
    """A guild on the other of two shards from the seeded one, with a channel and a thread."""
    w = fake.world
    other = fake.add_guild("Other", guild_id=str(int(w.guild) + (1 << 22)))
    gid = other["id"]
    long_ago = fake.now() - timedelta(days=400)
    for user in (w.alice, w.bob, w.carol):
        fake.add_member(gid, user, joined_at=long_ago)
    return {"guild": gid, "channel": fake.add_text_channel(gid, "chat")["id"]}


async def _seed_spaces(url: str, guilds: dict[str, str], author: str) -> None:
    """One old message per guild, so both processes see both spaces when they start."""
    engine = create_engine(url)
    try:
        await upgrade(engine)
        writer = IngestWriter(engine, KEY.encode(), flush_interval=0.01)
        await writer.start()
        for guild, channel in guilds.items():
            await writer.put(
                ActivityEvent(
                    platform=Platform.DISCORD,
                    space_id=guild,
                    space_name="seeded",
                    event_id=f"seed:{guild}",
                    kind=ActivityKind.MESSAGE,
                    member_id=author,
                    member_name="Bob",
                    occurred_at=datetime.now(UTC) - timedelta(days=2),
                    channel_id=channel,
                )
            )
        await writer.close()
    finally:
        await engine.dispose()


async def _stream(fake, channel: str, thread: str, guild: str, rounds) -> list[str]:
    """Messages, replies, thread replies and joins in one guild; their event ids."""
    w = fake.world
    delivered = []
    for i in rounds if isinstance(rounds, range) else range(rounds):
        message = await fake.send_message(channel, w.alice, f"message {i}?")
        reply = await fake.reply(message, w.bob, f"reply {i}")
        inner = await fake.send_message(thread, w.carol, f"in the thread {i}")
        user = await fake.member_join(f"newcomer{guild[-4:]}{i}", guild_id=guild)
        joined = datetime.fromisoformat(fake.members[guild][user["id"]]["joined_at"])
        delivered += [
            ids.discord_message(message["id"]),
            ids.discord_message(reply["id"]),
            ids.discord_message(inner["id"]),
            f"join:{user['id']}:{int(joined.timestamp())}",
        ]
    return delivered


async def test_two_shards_on_one_postgres_store_every_event_once_through_a_kill(
    fault_server, tmp_path
):
    url = await fresh_database(fault_server, "two_shards")
    async with started_fake() as fake:
        w = fake.world
        other = _second_guild(fake)
        guilds = {w.guild: w.general, other["guild"]: other["channel"]}
        assert {(int(g) >> 22) % 2 for g in guilds} == {0, 1}
        shard_of = {g: (int(g) >> 22) % 2 for g in guilds}
        await _seed_spaces(url, guilds, w.bob)
        # The daily job and this week's digests fell due ten minutes ago, whatever the hour.
        due = datetime.now(UTC) - timedelta(minutes=10)
        schedule = {
            "jobs": {"daily_time": due.strftime("%H:%M"), "timezone": "UTC"},
            "digest": {
                "weekday": due.strftime("%A").lower(),
                "time": due.strftime("%H:%M"),
                "timezone": "UTC",
            },
        }
        secrets = {"PULSE_DISCORD_TOKEN": fake.token}

        def config(shard: int, ingest: dict):
            folder = tmp_path / f"shard{shard}"
            folder.mkdir(exist_ok=True)
            discord = {
                "api_base_url": fake.base_url,
                "gateway_url": fake.gateway_url,
                "guild_ids": list(guilds),
                "staff_role_ids": [w.staff_role],
                "staff_channel_id": w.staff,
                "community_channel_id": w.general,
                "shard_count": 2,
                "shard_ids": [shard],
                "catch_up_days": 7,
            }
            return run_config(folder, url, ingest=ingest, discord=discord, **schedule)

        # Shard 0 holds what it receives in memory (batches of 50, no timer): the kill loses it.
        first = [PulseProcess(config(0, INGEST), secrets), None]
        first[1] = PulseProcess(config(1, RESTART_INGEST), secrets)
        restarted = None
        try:
            for process in first:
                await process.start()
            for process in first:
                await process.wait_for_line("caught up")
            by_guild: dict[str, list[str]] = {g: [] for g in guilds}
            threads = {}
            for guild, channel in guilds.items():
                thread = await fake.start_thread(channel, w.alice, "ongoing", content="a thread")
                threads[guild] = thread["id"]
                by_guild[guild].append(ids.discord_thread(thread["id"]))
            for guild, channel in guilds.items():
                by_guild[guild] += await _stream(fake, channel, threads[guild], guild, ROUNDS)
            shard0 = next(g for g in guilds if shard_of[g] == 0)
            mine = set(by_guild[shard0])
            await eventually(lambda: any_stored(url, mine), "a batch of shard 0's stored")
            held = [i for i in by_guild[shard0] if not (await stored_at(url))[i]]
            assert held, "the kill must catch some events only in memory"
            first[0].proc.send_signal(signal.SIGKILL)
            await first[0].proc.wait()
            # While shard 0 is down its guild talks on; shard 1 goes on logging its own.
            for guild, channel in guilds.items():
                by_guild[guild] += await _stream(
                    fake, channel, threads[guild], guild, range(ROUNDS, ROUNDS + LATER)
                )
            restarted = PulseProcess(config(0, RESTART_INGEST), secrets)
            await restarted.start()
            await restarted.wait_for_line("caught up")
            for process in (restarted, first[1]):
                code, _ = await process.stop(signal.SIGTERM)
                assert code == 0, process.text
        finally:
            for process in (*first, restarted):
                if process is not None:
                    await process.kill()
        stored = await stored_at(url)
        staff_digests = fake.posted_messages(w.staff)
        community_digests = fake.posted_messages(w.general)
    delivered = [i for g in guilds for i in by_guild[g]]
    assert len(delivered) == len(set(delivered)) == 2 * (1 + 4 * (ROUNDS + LATER))
    assert [i for i in delivered if stored[i] != 1] == []  # each exactly once
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            runs = (
                await conn.exec_driver_sql(
                    "SELECT audience, status, claimed_by, detail FROM digest_runs ORDER BY audience"
                )
            ).all()
    finally:
        await engine.dispose()
    # Both processes raced for every claim, and each digest went out once: the configured
    # channels are in the seeded guild, so the other guild's digests are skipped, not posted.
    assert len(staff_digests) == 1, runs
    assert len([m for m in community_digests if m["embeds"]]) == 1, runs
    assert sorted(r.audience for r in runs if r.status == "posted") == ["community", "staff"]
    daily = [r for r in runs if r.audience == "daily"]
    assert len(daily) == len(guilds)
    assert {r.status for r in daily} == {"done"}
    for process in (*first, restarted):
        for word in TROUBLE:
            assert word not in process.text, process.text
