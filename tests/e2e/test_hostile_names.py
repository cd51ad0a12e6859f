"""The hostile-names corpus through every output: terminal tables, Discord, Slack.

There is no CSV or web output yet (the dashboard is a later issue); CSV files are only read.
"""

import asyncio

import pytest
from rich.console import Console
from sqlalchemy import text

from bot.slack import render
from storage.engine import create_engine
from storage.migrate import upgrade
from tests import digest_world
from tests.digest_world import NOW, build_world
from tests.factories import pulse, settle
from tests.hostile_names import (
    CORPUS,
    LINK,
    RICH,
    WORLD_NAMES,
    assert_discord_inert,
    assert_slack_inert,
    assert_terminal_inert,
    discord_texts,
)
from tests.platforms.test_slack import texts


@pytest.fixture(scope="module")
def hostile_db(tmp_path_factory):
    """The digest world with every person named from the corpus, stored as written."""
    path = tmp_path_factory.mktemp("hostile") / "pulse.db"
    url = f"sqlite+aiosqlite:///{path}"

    async def go():
        engine = create_engine(url)
        try:
            await upgrade(engine)
            await build_world(engine)
            # Events arrive cleaned (community.clean); a database written before that, or by
            # another tool, may hold names raw: the outputs must not count on the cleaning.
            async with engine.begin() as conn:
                for role, name in WORLD_NAMES.items():
                    await conn.execute(
                        text("UPDATE members SET display_name = :name WHERE platform_id = :id"),
                        {"name": name, "id": role},
                    )
        finally:
            await engine.dispose()

    with digest_world.renamed(WORLD_NAMES):
        asyncio.run(go())
    return f"sqlite:///{path}"


@pytest.fixture
def wide_console(monkeypatch):
    # Wide enough that tables do not wrap names: what is tested is escaping, not the layout.
    monkeypatch.setattr("bot.cli.base.console", Console(width=400))


@pytest.mark.parametrize(
    "args",
    [
        ("tiers", "--list", "active", "--limit", "50"),
        ("tiers", "--list", "passive", "--limit", "50"),
        ("quiet",),
        ("hero-candidates", "--limit", "50"),
        ("member", "regular"),
        ("member", "silent"),
        ("digest", "preview"),
    ],
    ids=lambda args: " ".join(args),
)
def test_terminal_tables_show_hostile_names_as_text(hostile_db, wide_console, tmp_path, args):
    if args[0] == "digest":
        args = (*args, "--out", str(tmp_path))
    result = pulse(*args, "--database-url", hostile_db, at=NOW)
    assert result.exit_code == 0, result.output
    assert_terminal_inert(result.output)
    flat = " ".join(result.output.split())
    named = [role for role in WORLD_NAMES if WORLD_NAMES[role].split()[0] in flat]
    assert named, result.output  # every one of these outputs names somebody
    if "Rita" in flat:
        assert LINK in flat  # the markup is shown, not applied
    if "Ada" in flat or "Sally" in flat:
        assert RICH.split()[0] in flat


# --- Discord: the real discord.py client against the fake --------------------------------


async def test_discord_embeds_and_digests_neither_format_nor_ping(fake_discord, sqlite_engine):
    from bot.discord.poster import DiscordPoster
    from bot.services.digests import build_digest, space_ref
    from bot.settings import Settings
    from storage.uow import UnitOfWork
    from tests.platforms.test_discord import discord_settings, pulse_bot

    fake, w = fake_discord, fake_discord.world
    async with pulse_bot(fake, sqlite_engine) as client:
        joined = []
        for name in CORPUS.values():
            user = fake.add_user("hostile", global_name=name)
            fake.add_member(w.guild, user["id"])
            payload = {**fake.member_payload(w.guild, user["id"]), "guild_id": w.guild}
            await fake.dispatch("GUILD_MEMBER_ADD", payload)
            asked = await fake.send_message(w.help, user["id"], "how do I start?")
            await fake.reply(asked, w.alice, "like this")
            joined.append(user["id"])
        await settle(fake, client, 3 * len(joined))

        responses = []
        for user in joined:
            for command, options in (("member", {}), ("hero", {"action": "confirm"})):
                invoked = await fake.invoke_command(command, w.carol, user=user, **options)
                responses.append(await fake.wait_for_response(invoked))
        preview = await fake.invoke_command("digest", w.carol, action="preview")
        await fake.wait_for(lambda: len(preview.responses) >= 2, what="both digests")
        responses += preview.responses

        settings = discord_settings(fake).model_copy(
            update={"staff_channel_id": w.staff, "community_channel_id": w.general}
        )
        poster = DiscordPoster(settings)
        poster.client = client
        uow = UnitOfWork(sqlite_engine)
        space = await space_ref(uow, 1)
        for audience in ("community", "staff"):
            built = await build_digest(uow, Settings().policies(), 1, audience, fake.now())
            await poster.post_digest(space, audience, built.rendered, None)

    assert responses
    for response in responses:
        assert_discord_inert(response.data)
    posts = [r.json for r in fake.calls("post_message")]
    assert len(posts) == 2
    for post in posts:
        assert_discord_inert(post)
    community = " ".join(discord_texts(posts[0]))
    assert "evil.example" in community  # the newcomers are welcomed by their names
    shown = " ".join(t for p in [*posts, *(r.data for r in responses)] for t in discord_texts(p))
    assert "\\@everyone" in shown or "@\u200beveryone" in shown  # named, disarmed


# --- Slack: the real slack-bolt app against the fake ---------------------------------------


async def test_slack_blocks_and_digests_neither_format_nor_ping(fake_slack, sqlite_engine):
    from bot.services.digests import build_digest, space_ref
    from bot.settings import Settings
    from bot.slack.poster import SlackPoster
    from storage.uow import UnitOfWork
    from tests.platforms.test_slack import pulse_slack

    fake, w = fake_slack, fake_slack.world
    channels = {"staff_channel_id": w.staff, "community_channel_id": w.general}
    async with pulse_slack(fake, sqlite_engine, **channels) as pulse:
        joined = []
        for name in CORPUS.values():
            user = await fake.team_join("hostile", real_name=name, display_name=name)
            await fake.join_channel(user["id"], w.help)
            asked = await fake.post_message(w.help, user["id"], "how do I start?")
            await fake.post_message(w.help, w.alice, "like this", thread_ts=asked["ts"])
            joined.append(user["id"])
        await settle(fake, pulse, 3 * len(joined))

        answers = []
        for user in joined:
            for command, text in (("/member", f"<@{user}>"), ("/hero", f"confirm <@{user}>")):
                delivery = await fake.slash_command(command, text, w.carol)
                answers.append(await fake.wait_for_response(delivery, timeout=15))
        preview = await fake.slash_command("/digest", "preview", w.carol)
        answers.append(await fake.wait_for_response(preview, timeout=15))
        await fake.wait_for(lambda: len(preview.responses) >= 2, what="both digests")
        answers += preview.responses

        poster = SlackPoster(pulse.settings)
        poster.slack = pulse
        uow = UnitOfWork(sqlite_engine)
        space = await space_ref(uow, 1)
        for audience in ("community", "staff"):
            built = await build_digest(uow, Settings().policies(), 1, audience, fake.now())
            await poster.post_digest(space, audience, built.rendered, None)

    assert len(answers) >= 5
    for answer in answers:
        assert_slack_inert(answer.blocks or [], answer.text)
    posts = [p for p in fake.posted if p.channel in (w.staff, w.general)]
    assert len(posts) == 2
    for post in posts:
        assert_slack_inert(post.blocks or [], post.text)
    community = " ".join(render.block_text(block) for block in posts[0].blocks)
    assert "<!channel>" in community  # the newcomers are welcomed by their names, as text
    shown = " ".join(texts(answer) for answer in answers)
    assert "<!channel>" in shown  # the name is shown, as text
