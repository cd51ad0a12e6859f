"""Large servers and sharding: the real discord.py client against the fake Discord.

Pulse holds no guild's member list (no chunking at start, no member cache), yet staff are still
told apart and names still resolve; with [discord] shard_count / shard_ids each client receives
only its shards' guilds.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from datetime import timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from bot.commands.service import CommandService
from bot.discord.client import PulseClient, ShardedPulseClient, client_class
from bot.settings import DiscordSettings, Settings
from community.clock import FixedClock
from storage.engine import create_engine
from storage.migrate import upgrade
from storage.models import Member, Space
from storage.uow import UnitOfWork
from storage.writer.queue import IngestWriter
from tests.factories import activities, settle
from tests.platforms.test_discord import KEY, discord_settings


@contextlib.asynccontextmanager
async def bot(fake, engine, settings: DiscordSettings | None = None):
    """A client of client_class(settings) connected to the fake, writing to ENGINE."""
    settings = settings or discord_settings(fake)
    writer = IngestWriter(engine, KEY, batch_size=50, flush_interval=0.01)
    await writer.start()
    service = CommandService(
        UnitOfWork(engine), Settings().policies(), KEY, FixedClock(fake.now()), "http://x"
    )
    cls = client_class(settings)
    client = cls(settings, writer, service, service.uow, guild_ready_timeout=0.1)
    client.before_identify_hook = _no_wait  # Discord's 5 s between IDENTIFYs; none here
    try:
        async with fake.running(client):
            await fake.wait_for(client.caught_up.is_set, what="catch-up to finish")
            yield client
    finally:
        await writer.close()


async def _no_wait(shard_id, *, initial=False) -> None:
    return None


async def staff_flags(engine) -> dict[str, bool]:
    async with engine.connect() as conn:
        return dict((await conn.execute(select(Member.platform_id, Member.is_staff))).all())


async def test_a_large_guild_is_never_chunked_and_staff_are_still_known(
    fake_discord, sqlite_engine
):
    fake, w = fake_discord, fake_discord.world
    fake.add_crowd(w.guild, 12_345)
    async with bot(fake, sqlite_engine) as client:
        guild = client.get_guild(int(w.guild))
        assert guild.large
        assert guild.member_count == 12_345 + 5
        # Nothing asked the gateway for the member list, and no member is cached but the bot.
        assert fake.member_requests == []
        assert [m.id for m in guild.members] == [int(w.bot)]
        # One paged REST pass read everyone once, for the staff and for joins while away.
        assert len(fake.calls("list_members")) == math.ceil((12_345 + 5 + 1) / 1000)
        assert client.roster.of(w.guild) == [w.carol]
        await fake.send_message(w.general, w.alice, "hello")
        await fake.send_message(w.general, w.carol, "welcome!")  # staff, first seen now
        await settle(fake, client, 2)
        await fake.wait_for(lambda: not client.staff_marks.pending, what="the staff marks")
        assert await staff_flags(sqlite_engine) == {w.alice: False, w.carol: True}

        # A moderator gives Alice the staff role, then takes it back: GUILD_MEMBER_UPDATE.
        await fake.member_update(w.alice, roles=[w.staff_role])
        await fake.wait_for(lambda: client.roster.of(w.guild) == sorted([w.alice, w.carol]))
        await fake.wait_for(lambda: not client.staff_marks.pending, what="the staff marks")
        assert await staff_flags(sqlite_engine) == {w.alice: True, w.carol: True}
        await fake.member_update(w.alice, roles=[])
        await fake.wait_for(lambda: client.roster.of(w.guild) == [w.carol])
        await fake.wait_for(lambda: not client.staff_marks.pending, what="the staff marks")
        assert await staff_flags(sqlite_engine) == {w.alice: False, w.carol: True}

        # Staff commands still know staff (the interaction carries the member's roles), and
        # names resolve from what the events carried, with no member fetched.
        answer = await fake.wait_for_response(
            await fake.invoke_command("member", w.carol, user=w.alice)
        )
        assert answer.embeds[0]["title"] == "Alice"
        refused = await fake.wait_for_response(await fake.invoke_command("quiet", w.alice, limit=5))
        assert "for staff" in refused.embeds[0]["description"]
    assert fake.member_requests == []
    assert not any(c.route == "get_member" for c in fake.requests)


async def test_a_staff_role_given_while_down_is_found_by_the_pass_at_start(
    fake_discord, sqlite_engine
):
    fake, w = fake_discord, fake_discord.world
    fake.announce_large(w.guild)
    async with bot(fake, sqlite_engine) as client:
        await fake.send_message(w.general, w.bob, "hi")
        await settle(fake, client, 1)
    fake.members[w.guild][w.bob]["roles"] = [w.staff_role]  # no event: Pulse was down
    fake.members[w.guild][w.carol]["roles"] = []
    async with bot(fake, sqlite_engine) as client:
        assert client.roster.of(w.guild) == [w.bob]
    assert (await staff_flags(sqlite_engine))[w.bob] is True
    assert fake.member_requests == []


def test_shard_settings_are_checked():
    assert DiscordSettings(shard_count=4, shard_ids=[0, 3]).shard_ids == [0, 3]
    for wrong in (
        {"shard_ids": [0]},  # no count
        {"shard_count": 2, "shard_ids": [2]},  # out of range
        {"shard_count": 2, "shard_ids": [1, 1]},  # twice
        {"shard_count": 0},
    ):
        with pytest.raises(ValidationError):
            DiscordSettings(**wrong)
    assert client_class(DiscordSettings()) is PulseClient
    assert client_class(DiscordSettings(shard_count=2, shard_ids=[1])) is PulseClient
    assert client_class(DiscordSettings(shard_count=2)) is ShardedPulseClient


def _second_guild(fake) -> dict:
    """A guild on the other shard of two from the seeded one, with a channel and Alice."""
    w = fake.world
    other = fake.add_guild("Other", guild_id=str(int(w.guild) + (1 << 22)))
    channel = fake.add_text_channel(other["id"], "chat")
    long_ago = fake.now() - timedelta(days=400)
    fake.add_member(other["id"], w.alice, joined_at=long_ago)
    fake.add_member(other["id"], w.carol, joined_at=long_ago)
    return {"guild": other["id"], "channel": channel["id"]}


async def _spaces(engine) -> set[str]:
    async with engine.connect() as conn:
        return set((await conn.execute(select(Space.platform_id))).scalars())


async def test_two_shards_split_the_guilds_and_answer_their_own_commands(fake_discord, tmp_path):
    fake, w = fake_discord, fake_discord.world
    other = _second_guild(fake)
    shard_of = {g: (int(g) >> 22) % 2 for g in (w.guild, other["guild"])}
    assert sorted(shard_of.values()) == [0, 1]
    engines = []
    for shard in (0, 1):
        engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / f'shard{shard}.db'}")
        await upgrade(engine)
        engines.append(engine)
    both = [w.guild, other["guild"]]
    settings = [
        discord_settings(fake).model_copy(
            update={"shard_count": 2, "shard_ids": [shard], "guild_ids": both}
        )
        for shard in (0, 1)
    ]
    try:
        async with (
            bot(fake, engines[0], settings[0]) as first,
            bot(fake, engines[1], settings[1]) as second,
        ):
            clients = (first, second)
            for shard, client in enumerate(clients):
                assert [str(g.id) for g in client.guilds] == [
                    g for g in both if shard_of[g] == shard
                ]
            await fake.send_message(w.general, w.alice, "in the seeded guild")
            await fake.send_message(other["channel"], w.alice, "in the other guild")
            for client in clients:
                await settle(fake, client, 1)
            # A command is answered once, by the shard that owns the guild it came from.
            asked = await fake.invoke_command("privacy", w.alice, channel_id=other["channel"])
            await fake.wait_for_response(asked)
            assert len(asked.responses) == 1
        for shard, engine in enumerate(engines):
            mine = {g for g in both if shard_of[g] == shard}
            assert await _spaces(engine) == mine
            assert len(await activities(engine)) == 1
    finally:
        for engine in engines:
            await engine.dispose()


async def test_one_process_can_run_every_shard(fake_discord, sqlite_engine):
    fake, w = fake_discord, fake_discord.world
    other = _second_guild(fake)
    both = [w.guild, other["guild"]]
    settings = discord_settings(fake).model_copy(update={"shard_count": 2, "guild_ids": both})
    async with bot(fake, sqlite_engine, settings) as client:
        assert isinstance(client, ShardedPulseClient)
        assert sorted(str(g.id) for g in client.guilds) == sorted(both)
        assert sorted(c.session.shard for c in fake.live_connections()) == [(0, 2), (1, 2)]
        await fake.send_message(w.general, w.alice, "one")
        await fake.send_message(other["channel"], w.alice, "two")
        await settle(fake, client, 2)
    assert await _spaces(sqlite_engine) == set(both)


async def test_gateway_handlers_never_touch_the_database(fake_discord, sqlite_engine):
    from sqlalchemy import event

    fake, w = fake_discord, fake_discord.world
    tasks: list[str] = []

    def seen(*args) -> None:
        tasks.append(asyncio.current_task().get_name())

    event.listen(sqlite_engine.sync_engine, "before_cursor_execute", seen)
    async with bot(fake, sqlite_engine) as client:
        said = await fake.send_message(w.general, w.alice, "How do I start?")
        await fake.reply(said, w.bob, "Read the guide.")
        await fake.add_reaction(said, w.carol, "👍")
        await fake.member_join("dana")
        await fake.member_update(w.bob, roles=[w.staff_role])
        await settle(fake, client, 4)
        await fake.wait_for(lambda: not client.staff_marks.pending, what="the staff marks")
    event.remove(sqlite_engine.sync_engine, "before_cursor_execute", seen)
    gateway = [t for t in tasks if t.startswith("discord.py: on_") or t == "discord-client"]
    assert gateway == []
    # The listener does tell tasks apart: the writer, catch-up and the staff marks wrote.
    assert {"pulse-ingest-writer", "discord-catch-up"} <= set(tasks)
    assert any(t.startswith("Task-") for t in tasks)  # the staff marks (StaffMarks.again)


async def test_a_thread_another_bot_starts_is_left_out_without_a_member_cache(
    fake_discord, sqlite_engine
):
    fake, w = fake_discord, fake_discord.world
    fake.announce_large(w.guild)
    async with bot(fake, sqlite_engine) as client:
        assert int(w.other_bot) in client.bots  # from the member pass at start
        thread = await fake.start_thread(w.general, w.other_bot, "release notes")
        await fake.send_message(thread["id"], w.alice, "Thanks for the notes!")
        await settle(fake, client, 1)
    rows = await activities(sqlite_engine)
    assert [(r.kind, r.target_member_id) for r in rows] == [("reply", None)]
