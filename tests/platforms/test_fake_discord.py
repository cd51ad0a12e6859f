"""The fake Discord, proven with the real discord.py client: what it sends, what it records."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path

import discord
import pytest
from discord import app_commands

from tests.factories import tiny_png
from tests.fakes.discord import (
    EPHEMERAL,
    FakeDiscord,
    FakeDiscordError,
    started_fake,
)

SHARED_PAYLOADS = Path(__file__).resolve().parents[2] / ".." / "shared" / "payloads" / "discord"


class PromptsView(discord.ui.View):
    def __init__(self, outcome: list[str]) -> None:
        super().__init__(timeout=60)
        self.outcome = outcome

    @discord.ui.button(label="Reached out", custom_id="outreach:done")
    async def done(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        self.outcome.append(f"done by {interaction.user.id}")
        await interaction.response.edit_message(content="Marked as reached out", view=None)


class Bot(discord.Client):
    """A small bot with an app command tree and a recorder for every event it sees."""

    def __init__(self, fake: FakeDiscord, *, message_content: bool = True) -> None:
        intents = discord.Intents.default()
        intents.members = True
        intents.message_content = message_content
        super().__init__(intents=intents, guild_ready_timeout=0.1)
        self.fake = fake
        self.guild_object = discord.Object(int(fake.world.guild))
        self.tree = app_commands.CommandTree(self)
        self.events: list[tuple[str, object]] = []
        self.view_outcome: list[str] = []
        install_commands(self)

    async def setup_hook(self) -> None:
        await self.tree.sync(guild=self.guild_object)

    def seen(self, name: str) -> list:
        return [payload for event, payload in self.events if event == name]

    async def on_ready(self) -> None:
        self.events.append(("ready", None))

    async def on_resumed(self) -> None:
        self.events.append(("resumed", None))

    async def on_message(self, message: discord.Message) -> None:
        self.events.append(("message", message))

    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        self.events.append(("raw_reaction_add", payload))

    async def on_raw_reaction_remove(self, payload: discord.RawReactionActionEvent) -> None:
        self.events.append(("raw_reaction_remove", payload))

    async def on_thread_create(self, thread: discord.Thread) -> None:
        self.events.append(("thread_create", thread))

    async def on_member_join(self, member: discord.Member) -> None:
        self.events.append(("member_join", member))

    async def on_member_remove(self, member: discord.Member) -> None:
        self.events.append(("member_remove", member))


def install_commands(bot: Bot) -> None:
    guild = bot.guild_object

    @bot.tree.command(name="hero-candidates", description="Members close to hero", guild=guild)
    @app_commands.describe(limit="How many")
    async def hero_candidates(interaction: discord.Interaction, limit: int = 10) -> None:
        await interaction.response.send_message(
            f"top {limit} for {interaction.user.id}", ephemeral=True
        )

    @bot.tree.command(name="member", description="One member's record", guild=guild)
    async def member(interaction: discord.Interaction, user: discord.Member, note: str) -> None:
        await interaction.response.send_message(
            f"{user.display_name} ({user.id}) joined {user.joined_at:%Y}: {note}", ephemeral=True
        )

    hero = app_commands.Group(
        name="hero", description="Confirm or remove heroes", guild_ids=[guild.id]
    )

    @hero.command(name="confirm", description="Confirm a hero")
    async def confirm(interaction: discord.Interaction, user: discord.Member) -> None:
        await interaction.response.send_message(f"confirmed {user.name}", ephemeral=True)

    bot.tree.add_command(hero)

    @bot.tree.command(name="digest", description="Preview the digest", guild=guild)
    async def digest(interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        chart = discord.File(BytesIO(tiny_png()), filename="chart.png")
        await interaction.followup.send("Here is the digest", file=chart, ephemeral=True)
        await interaction.followup.send("And a second note", ephemeral=True)

    @bot.tree.command(name="quiet", description="Quiet members", guild=guild)
    async def quiet(interaction: discord.Interaction) -> None:
        await interaction.response.send_message(
            "bob went quiet", view=PromptsView(bot.view_outcome), ephemeral=True
        )


@pytest.fixture
async def running_bot(fake_discord):
    """The bot, connected and ready."""
    bot = Bot(fake_discord)
    async with fake_discord.running(bot):
        yield bot


def events_of(bot: Bot, name: str, predicate=lambda _: True):
    return lambda: [p for p in bot.seen(name) if predicate(p)]


# ---------------------------------------------------------------- connecting


async def test_client_connects_and_caches_the_community(fake_discord, running_bot):
    fake, world, bot = fake_discord, fake_discord.world, running_bot
    guild = bot.get_guild(int(world.guild))
    assert guild is not None
    assert guild.name == "Pulse Community"
    assert {c.name for c in guild.text_channels} == {"general", "help", "devrel-staff"}
    assert [f.name for f in guild.forums] == ["questions"]
    assert guild.chunked
    assert {m.name for m in guild.members} == {
        "Pulse",
        "alice",
        "bob",
        "carol",
        "helperbot",
    }
    assert guild.get_member(int(world.carol)).get_role(int(world.staff_role)) is not None
    assert bot.user.id == int(world.bot)
    assert bot.application_id == int(fake.application_id)
    [connection] = fake.connections
    assert connection.path == "/"
    assert connection.query["v"] == "10"
    assert connection.query["encoding"] == "json"
    identify = next(f for f in connection.received if f["op"] == 2)
    assert identify["d"]["token"] == fake.token
    assert any(f["op"] == 1 for f in connection.received), "no heartbeat was sent"
    assert len(bot.seen("ready")) == 1


async def test_a_wrong_token_is_refused_at_login(fake_discord):
    bot = Bot(fake_discord)
    with pytest.raises(discord.LoginFailure):
        await bot.start("not-the-token")
    await bot.close()
    assert fake_discord.requests[-1].status == 401


async def test_asking_for_an_intent_the_portal_has_off_closes_with_4014():
    async with started_fake(enabled_privileged_intents=0) as fake:
        bot = Bot(fake)
        with pytest.raises(discord.PrivilegedIntentsRequired):
            await bot.start(fake.token)
        await bot.close()
        assert fake.connections[0].close_code == 4014


async def test_without_the_message_content_intent_text_arrives_empty(fake_discord):
    fake, world = fake_discord, fake_discord.world
    bot = Bot(fake, message_content=False)
    async with fake.running(bot):
        await fake.send_message(world.general, world.alice, "is this thing on?")
        await fake.send_message(
            world.general, world.bob, f"<@{world.bot}> hi", mentions=(world.bot,)
        )
        messages = await fake.wait_for(
            lambda: len(bot.seen("message")) == 2 and bot.seen("message")
        )
    assert [m.content for m in messages] == ["", f"<@{world.bot}> hi"]
    assert messages[0].author.id == int(world.alice)


# ---------------------------------------------------------------- gateway events


async def test_messages_replies_and_threads_reach_the_handlers(fake_discord, running_bot):
    fake, world, bot = fake_discord, fake_discord.world, running_bot
    question = await fake.send_message(world.help, world.alice, "How do I deploy?")
    answer = await fake.reply(question, world.bob, "Run pulse deploy.")
    received = await fake.wait_for(events_of(bot, "message", lambda m: m.id == int(answer["id"])))
    top = next(m for m in bot.seen("message") if m.id == int(question["id"]))
    assert top.content == "How do I deploy?"
    assert top.channel.name == "help"
    assert top.author.id == int(world.alice)
    assert isinstance(top.author, discord.Member)
    assert isinstance(top.created_at, datetime)
    assert top.created_at.tzinfo is not None
    reply = received[0]
    assert reply.type is discord.MessageType.reply
    assert reply.reference.message_id == int(question["id"])
    assert reply.reference.resolved.author.id == int(world.alice)
    assert [u.id for u in reply.mentions] == [int(world.alice)]

    thread = await fake.start_thread(world.general, world.carol, "Release plans", content="v2?")
    [created] = await fake.wait_for(events_of(bot, "thread_create"))
    assert created.id == int(thread["id"])
    assert created.parent.name == "general"
    assert created.owner_id == int(world.carol)
    in_thread = await fake.wait_for(
        events_of(bot, "message", lambda m: isinstance(m.channel, discord.Thread))
    )
    assert in_thread[0].content == "v2?"
    assert in_thread[0].channel.parent_id == int(world.general)
    notices = [m for m in bot.seen("message") if m.type is discord.MessageType.thread_created]
    assert len(notices) == 1
    assert notices[0].is_system()


async def test_a_forum_post_is_a_thread_whose_first_message_shares_its_id(
    fake_discord, running_bot
):
    fake, world, bot = fake_discord, fake_discord.world, running_bot
    post = await fake.forum_post(
        world.forum, world.alice, "Crash on start", "It crashes. Why?", tags=(world.forum_tag,)
    )
    [thread] = await fake.wait_for(events_of(bot, "thread_create"))
    assert isinstance(thread.parent, discord.ForumChannel)
    assert [t.id for t in thread.applied_tags] == [int(world.forum_tag)]
    [first] = await fake.wait_for(events_of(bot, "message", lambda m: m.channel.id == thread.id))
    assert first.id == thread.id == int(post["id"])
    assert first.content == "It crashes. Why?"


async def test_raw_reaction_events_carry_who_gave_and_who_received(fake_discord, running_bot):
    fake, world, bot = fake_discord, fake_discord.world, running_bot
    # Stored but never dispatched, so discord.py has no cached copy: only raw events fire.
    tip = await fake.send_message(world.general, world.alice, "Tip: use --fast", dispatch=False)
    await fake.add_reaction(tip, world.bob, "🎉")
    [added] = await fake.wait_for(events_of(bot, "raw_reaction_add"))
    assert added.user_id == int(world.bob)
    assert added.message_author_id == int(world.alice)
    assert added.message_id == int(tip["id"])
    assert str(added.emoji) == "🎉"
    assert added.member.id == int(world.bob)
    assert added.guild_id == int(world.guild)
    await fake.remove_reaction(tip, world.bob, "🎉")
    [removed] = await fake.wait_for(events_of(bot, "raw_reaction_remove"))
    assert removed.user_id == int(world.bob)
    assert removed.message_id == int(tip["id"])
    assert fake.messages[tip["id"]]["reactions"] == []


async def test_members_joining_and_leaving(fake_discord, running_bot):
    fake, world, bot = fake_discord, fake_discord.world, running_bot
    dave = await fake.member_join("dave")
    [joined] = await fake.wait_for(events_of(bot, "member_join"))
    assert joined.id == int(dave["id"])
    assert joined.guild.id == int(world.guild)
    assert joined.joined_at is not None
    await fake.member_leave(world.bob)
    [left] = await fake.wait_for(events_of(bot, "member_remove"))
    assert left.id == int(world.bob)
    assert left.name == "bob"
    assert bot.get_guild(int(world.guild)).get_member(int(world.bob)) is None


async def test_bot_webhook_system_and_direct_messages_are_distinguishable(
    fake_discord, running_bot
):
    fake, world, bot = fake_discord, fake_discord.world, running_bot
    await fake.send_message(world.general, world.other_bot, "beep")
    await fake.webhook_message(world.general, "New release!")
    await fake.system_message(world.general, world.alice)
    await fake.direct_message(world.alice, "can you help me?")
    messages = await fake.wait_for(lambda: len(bot.seen("message")) == 4 and bot.seen("message"))
    by_bot, by_webhook, system, direct = messages
    assert by_bot.author.bot
    assert by_bot.webhook_id is None
    assert by_webhook.webhook_id is not None
    assert by_webhook.author.bot
    assert system.is_system()
    assert system.type is discord.MessageType.new_member
    assert direct.guild is None
    assert isinstance(direct.channel, discord.DMChannel)
    assert direct.content == "can you help me?"


# ---------------------------------------------------------------- commands and interactions


async def test_guild_commands_are_synced_and_recorded(fake_discord, running_bot):
    fake, world = fake_discord, fake_discord.world
    [put] = fake.calls("put_commands")
    assert put.path == f"/applications/{fake.application_id}/guilds/{world.guild}/commands"
    sent = {c["name"]: c for c in put.json}
    assert set(sent) == {"hero-candidates", "member", "hero", "digest", "quiet"}
    [limit] = sent["hero-candidates"]["options"]
    assert (limit["type"], limit["name"], limit["required"]) == (4, "limit", False)
    assert [o["type"] for o in sent["member"]["options"]] == [6, 3]
    assert sent["hero"]["options"][0]["type"] == 1
    assert {c["name"] for c in fake.commands[world.guild]} == set(sent)
    assert all(c["guild_id"] == world.guild for c in fake.commands[world.guild])


async def test_a_command_reaches_its_callback_and_replies_ephemerally(fake_discord, running_bot):
    fake, world = fake_discord, fake_discord.world
    interaction = await fake.invoke_command("hero-candidates", world.carol, limit=3)
    response = await fake.wait_for_response(interaction)
    assert response.kind == "callback"
    assert response.type == 4
    assert response.data["flags"] & EPHEMERAL == EPHEMERAL
    assert response.ephemeral
    assert response.content == f"top 3 for {world.carol}"
    record = fake.calls("callback")[-1]
    assert record.path == f"/interactions/{interaction.id}/{interaction.token}/callback"
    assert record.json == {"type": 4, "data": response.data}
    # Ephemeral replies are not in the channel's history.
    assert fake.posted_messages(world.general) == []


async def test_user_string_and_subcommand_options_are_resolved(fake_discord, running_bot):
    fake, world = fake_discord, fake_discord.world
    about = await fake.invoke_command("member", world.carol, user=world.alice, note="met at conf")
    answer = await fake.wait_for_response(about)
    joined = datetime.fromisoformat(fake.members[world.guild][world.alice]["joined_at"])
    assert answer.content == f"Alice ({world.alice}) joined {joined:%Y}: met at conf"
    confirm = await fake.invoke_command("hero confirm", world.carol, user=world.bob)
    assert (await fake.wait_for_response(confirm)).content == "confirmed bob"
    with pytest.raises(FakeDiscordError, match="unknown options"):
        await fake.invoke_command("hero-candidates", world.carol, top=3)
    with pytest.raises(FakeDiscordError, match="no slash command /nope"):
        await fake.invoke_command("nope", world.carol)


async def test_a_deferred_command_then_follow_ups(fake_discord, running_bot):
    fake, world = fake_discord, fake_discord.world
    interaction = await fake.invoke_command("digest", world.carol)
    await fake.wait_for(lambda: len(interaction.responses) == 3, what="defer and two follow-ups")
    deferred, first, second = interaction.responses
    assert (deferred.kind, deferred.type, deferred.ephemeral) == ("callback", 5, True)
    assert first.kind == "followup"
    assert first.content == "Here is the digest"
    # The first follow-up after a deferral fills in the loading message (documented behaviour).
    assert first.message["id"] == interaction.original_message_id
    assert first.ephemeral
    [chart] = first.files
    assert chart.filename == "chart.png"
    assert chart.data == tiny_png()
    [attachment] = first.message["attachments"]
    assert (attachment["width"], attachment["height"]) == (2, 1)
    assert fake.files[attachment["id"]] == tiny_png()
    assert second.message["id"] != first.message["id"]
    assert second.content == "And a second note"
    assert interaction.followup_ids == [second.message["id"]]


async def test_a_button_press_reaches_the_view_callback(fake_discord, running_bot):
    fake, world, bot = fake_discord, fake_discord.world, running_bot
    command = await fake.invoke_command("quiet", world.carol)
    reply = await fake.wait_for_response(command)
    assert reply.custom_ids() == ["outreach:done"]
    press = await fake.press_button(reply.message, "outreach:done", world.carol)
    update = await fake.wait_for_response(press)
    assert bot.view_outcome == [f"done by {world.carol}"]
    assert (update.type, update.content, update.components) == (7, "Marked as reached out", [])
    assert fake.messages[reply.message["id"]]["content"] == "Marked as reached out"
    with pytest.raises(FakeDiscordError, match="no component"):
        await fake.press_button(reply.message, "outreach:snooze", world.carol)


async def test_an_interaction_can_be_acknowledged_only_once(fake_discord, running_bot):
    fake, world, bot = fake_discord, fake_discord.world, running_bot
    interaction = await fake.invoke_command("hero-candidates", world.carol)
    await fake.wait_for_response(interaction)
    adapter = discord.webhook.async_.async_context.get()
    with pytest.raises(discord.HTTPException) as refused:
        await adapter.create_interaction_response(
            int(interaction.id),
            interaction.token,
            session=bot.http._HTTPClient__session,
            params=discord.webhook.async_.interaction_response_params(4, {"content": "again"}),
        )
    assert refused.value.code == 40060


# ---------------------------------------------------------------- REST


async def test_history_after_a_moment_paginates_oldest_first(fake_discord, running_bot):
    fake, world, bot = fake_discord, fake_discord.world, running_bot
    start = datetime.now(UTC) - timedelta(days=3)
    sent = [
        await fake.send_message(
            world.general, world.alice, f"m{i}", at=start + timedelta(minutes=i), dispatch=False
        )
        for i in range(250)
    ]
    cutoff = start + timedelta(minutes=19, seconds=30)
    channel = bot.get_channel(int(world.general))
    fetched = [m async for m in channel.history(after=cutoff, limit=None)]
    assert [m.content for m in fetched] == [f"m{i}" for i in range(20, 250)]
    assert [m.id for m in fetched] == [int(m["id"]) for m in sent[20:]]
    calls = fake.calls("get_messages")
    assert len(calls) == 3
    assert all(c.query["limit"] == "100" for c in calls)
    assert [len(c.response) for c in calls] == [100, 100, 30]
    newest_first = [int(m["id"]) for m in calls[0].response]
    assert newest_first == sorted(newest_first, reverse=True)
    latest = [m async for m in channel.history(limit=5)]
    assert [m.content for m in latest] == ["m249", "m248", "m247", "m246", "m245"]
    with pytest.raises(discord.HTTPException) as too_many:
        await bot.http.logs_from(channel.id, 101)
    assert too_many.value.status == 400
    assert too_many.value.code == 50035


async def test_rest_reads_and_a_posted_chart(fake_discord, running_bot):
    fake, world, bot = fake_discord, fake_discord.world, running_bot
    thread = fake.add_thread(world.help, world.alice, "Old question")
    assert (await bot.fetch_channel(int(world.help))).name == "help"
    member = await bot.get_guild(int(world.guild)).fetch_member(int(world.carol))
    assert [r.id for r in member.roles if not r.is_default()] == [int(world.staff_role)]
    assert (await bot.fetch_user(int(world.bob))).name == "bob"
    active = await bot.get_guild(int(world.guild)).active_threads()
    assert [t.id for t in active] == [int(thread["id"])]
    with pytest.raises(discord.NotFound):
        await bot.fetch_user(1)

    channel = bot.get_channel(int(world.staff))
    chart = discord.File(BytesIO(tiny_png()), filename="weekly.png")
    sent = await channel.send("Weekly digest", file=chart)
    [posted] = fake.posted_messages(world.staff)
    assert posted["id"] == str(sent.id)
    assert posted["content"] == "Weekly digest"
    assert posted["attachments"][0]["filename"] == "weekly.png"
    assert fake.files[posted["attachments"][0]["id"]] == tiny_png()
    # Discord echoes the bot's own message back over the gateway.
    [echo] = await fake.wait_for(events_of(bot, "message", lambda m: m.id == sent.id))
    assert echo.author == bot.user


async def test_unknown_endpoints_get_a_clear_404_and_are_recorded(fake_discord, running_bot):
    fake, bot = fake_discord, running_bot
    with pytest.raises(discord.NotFound) as missing:
        await bot.http.request(discord.http.Route("GET", "/guilds/1/bans"))
    assert "no route GET /guilds/1/bans" in missing.value.text
    assert [r.path for r in fake.unknown_requests] == ["/guilds/1/bans"]
    with pytest.raises(FakeDiscordError, match="GET /guilds/1/bans"):
        fake.assert_no_unexpected_requests()
    fake.unknown_requests.clear()  # seen and expected; keep the fixture's teardown check quiet


# ---------------------------------------------------------------- reconnecting


async def test_a_dropped_connection_resumes_and_replays_missed_events(fake_discord, running_bot):
    fake, world, bot = fake_discord, fake_discord.world, running_bot
    await fake.drop_connection()
    # Sent while the client is away: buffered in the session and replayed on RESUME.
    missed = await fake.send_message(world.general, world.alice, "sent during the blip")
    await fake.wait_for(lambda: bot.seen("resumed"), what="on_resumed")
    assert fake.resumes == 1
    assert fake.identifies == 1
    assert fake.connections[-1].path == "/resume"
    resume = next(f for f in fake.connections[-1].received if f["op"] == 6)
    assert resume["d"]["session_id"] in fake.sessions
    after = await fake.send_message(world.general, world.bob, "after the blip")
    await fake.wait_for(events_of(bot, "message", lambda m: m.id == int(after["id"])))
    delivered = [m.id for m in bot.seen("message")]
    assert delivered == [int(missed["id"]), int(after["id"])]
    assert len(bot.seen("ready")) == 1


async def test_reconnect_request_and_invalidated_session(fake_discord, running_bot):
    fake, world, bot = fake_discord, fake_discord.world, running_bot
    await fake.request_reconnect()
    await fake.wait_for(lambda: fake.resumes == 1 and bot.seen("resumed"), what="a resume")

    async def identify_at_once(shard_id, *, initial=False):
        """discord.py sleeps 5 s before a non-initial IDENTIFY; not needed against the fake."""

    bot.before_identify_hook = identify_at_once
    await fake.invalidate_sessions()
    await fake.wait_for(lambda: len(bot.seen("ready")) == 2, what="a second on_ready")
    assert fake.identifies == 2
    message = await fake.send_message(world.general, world.alice, "still here")
    await fake.wait_for(events_of(bot, "message", lambda m: m.id == int(message["id"])))


# ---------------------------------------------------------------- fidelity


def _documented(name: str) -> dict:
    path = SHARED_PAYLOADS / name
    if not path.exists():
        pytest.skip(f"{path} is absent: the documented examples live in ../shared/payloads")
    return json.loads(path.read_text())


async def test_payloads_have_every_key_of_discords_documented_examples(fake_discord):
    fake, world = fake_discord, fake_discord.world
    message = fake.build_message(world.general, world.alice, "hi")
    guild = fake.guild_create_payload(world.guild, intents=(1 << 16) - 1)
    thread = fake.add_thread(world.general, world.alice, "t")
    member = fake.member_payload(world.guild, world.alice)
    pairs = [
        ("example_message_L165.json", message),
        ("example_guild_L190.json", guild),
        ("example_guild_text_channel_L120.json", fake.channels[world.general]),
        ("example_thread_channel_L245.json", thread),
        ("example_guild_member_L409.json", member),
    ]
    for name, ours in pairs:
        missing = set(_documented(name)) - set(ours)
        assert not missing, f"{name}: the fake's payload lacks {sorted(missing)}"
    documented_interaction = _documented("example_interaction_L850.json")
    interaction = fake._interaction_base(2, world.carol, world.general, {"name": "x"})
    assert not set(documented_interaction) - set(interaction)
    assert not set(documented_interaction["member"]) - set(interaction["member"]) - {"is_pending"}
    assert isinstance(message["id"], str)
    assert datetime.fromisoformat(message["timestamp"]).tzinfo


async def test_a_payload_the_client_cannot_parse_fails_the_test(fake_discord):
    fake = fake_discord
    bot = Bot(fake)

    async def scenario():
        async with fake.running(bot):
            # No guild_id: discord.py's THREAD_CREATE parser raises KeyError and the client ends.
            await fake.dispatch("THREAD_CREATE", {"id": fake.new_id()})
            await fake.wait_for(lambda: False, what="anything", timeout=30)

    with pytest.raises(KeyError) as failure:
        await scenario()
    # wait_for noticed the dead client instead of waiting out its timeout.
    assert isinstance(failure.value.__context__, FakeDiscordError)


async def test_a_wait_that_runs_out_names_what_it_waited_for(fake_discord):
    with pytest.raises(
        FakeDiscordError, match=r"timed out after 0.05s waiting for 'the moon'; last requests: none"
    ):
        await fake_discord.wait_for(lambda: False, timeout=0.05, what="the moon")
    assert await fake_discord.wait_for(lambda: "here", timeout=0.05) == "here"
